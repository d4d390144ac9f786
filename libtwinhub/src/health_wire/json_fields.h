// JsonFields: reads the fields of one JSON object received from a peer, checking each one's
// type and range, and keeps the first problem ("field 'seq' must be a whole number >= 0").
// Every reader of a health message goes through it, so no message field is used unchecked and
// nothing here throws. Any thread; one object per message.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace twinhub::health {

// Why a message was rejected; also the `reason` label of the malformed-message counters.
enum class Reject { kNone, kOversized, kSyntax, kVersion, kField, kFuture };
const char* rejectName(Reject reject);

// Parses `data` as one JSON object of at most `max_bytes`; on failure sets *reject and *detail.
std::optional<nlohmann::json> parseObject(std::string_view data, size_t max_bytes, Reject* reject,
                                          std::string* detail);

class JsonFields {
 public:
  // `object` must outlive this reader; `where` prefixes problems ("hubs[1]").
  explicit JsonFields(const nlohmann::json& object, std::string where = "");

  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }

  // Each returns a default value and records the first problem when the field is missing or
  // wrong; `optional*` accept a missing field (or null) and return the fallback.
  std::string string(const char* key, size_t max_len, bool (*valid)(std::string_view) = nullptr);
  std::string optionalString(const char* key, size_t max_len, std::string fallback = "");
  uint64_t uint(const char* key, uint64_t max);
  uint64_t optionalUint(const char* key, uint64_t max, uint64_t fallback);
  int64_t integer(const char* key, int64_t min, int64_t max);
  std::optional<double> optionalNumber(const char* key, double min, double max);
  bool boolean(const char* key);
  // A string that must be one of `choices`; returns its index.
  size_t choice(const char* key, const std::vector<std::string_view>& choices);
  // A list of at most `max_items` names, each valid per `valid`.
  std::vector<std::string> names(const char* key, size_t max_items, bool (*valid)(std::string_view), bool required);
  // The array under `key` (nullptr and a problem when missing or not an array of at most max).
  const nlohmann::json* array(const char* key, size_t max_items, bool required);
  // The object under `key` (nullptr and a problem when missing or not an object).
  const nlohmann::json* object(const char* key);

  void fail(const std::string& problem);

 private:
  const nlohmann::json* field(const char* key, bool required);
  std::string path(const char* key) const;

  const nlohmann::json& object_;
  std::string where_;
  std::string error_;
};

}  // namespace twinhub::health
