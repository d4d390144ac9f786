#include "health_wire/json_fields.h"

#include <cmath>

#include "health_wire/health_subjects.h"

namespace twinhub::health {

namespace {
bool nameChar(char c, bool dots) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         (dots && (c == '.' || c == ':'));
}
bool validToken(std::string_view name, size_t max, bool dots) {
  if (name.empty() || name.size() > max) return false;
  for (char c : name) {
    if (!nameChar(c, dots)) return false;
  }
  return true;
}
}  // namespace

bool validMachineName(std::string_view name) { return validToken(name, 64, false); }
bool validName(std::string_view name) { return validToken(name, 128, true); }

const char* rejectName(Reject reject) {
  switch (reject) {
    case Reject::kNone: return "none";
    case Reject::kOversized: return "oversized";
    case Reject::kSyntax: return "syntax";
    case Reject::kVersion: return "version";
    case Reject::kField: return "field";
    case Reject::kFuture: return "future";
  }
  return "?";
}

std::optional<nlohmann::json> parseObject(std::string_view data, size_t max_bytes, Reject* reject,
                                          std::string* detail) {
  if (data.size() > max_bytes) {
    *reject = Reject::kOversized;
    *detail = std::to_string(data.size()) + " bytes, over the limit of " + std::to_string(max_bytes);
    return std::nullopt;
  }
  // No exceptions: a syntax error yields a "discarded" value.
  nlohmann::json parsed = nlohmann::json::parse(data.begin(), data.end(), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    *reject = Reject::kSyntax;
    *detail = parsed.is_discarded() ? "not valid JSON" : "not a JSON object";
    return std::nullopt;
  }
  return parsed;
}

JsonFields::JsonFields(const nlohmann::json& object, std::string where) : object_(object), where_(std::move(where)) {}

void JsonFields::fail(const std::string& problem) {
  if (error_.empty()) error_ = problem;
}

std::string JsonFields::path(const char* key) const { return where_.empty() ? key : where_ + "." + key; }

const nlohmann::json* JsonFields::field(const char* key, bool required) {
  auto it = object_.find(key);
  if (it == object_.end() || it->is_null()) {
    if (required) fail("field '" + path(key) + "' is missing");
    return nullptr;
  }
  return &*it;
}

std::string JsonFields::string(const char* key, size_t max_len, bool (*valid)(std::string_view)) {
  const nlohmann::json* v = field(key, true);
  if (!v) return "";
  if (!v->is_string()) {
    fail("field '" + path(key) + "' must be a string");
    return "";
  }
  const std::string& s = v->get_ref<const std::string&>();
  if (s.size() > max_len || (valid && !valid(s))) {
    fail("field '" + path(key) + "' is not a valid name or is too long");
    return "";
  }
  return s;
}

std::string JsonFields::optionalString(const char* key, size_t max_len, std::string fallback) {
  if (!field(key, false)) return fallback;
  return string(key, max_len);
}

uint64_t JsonFields::uint(const char* key, uint64_t max) {
  const nlohmann::json* v = field(key, true);
  if (!v) return 0;
  if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
    fail("field '" + path(key) + "' must be a whole number >= 0");
    return 0;
  }
  const uint64_t value = v->get<uint64_t>();
  if (value > max) {
    fail("field '" + path(key) + "' is over " + std::to_string(max));
    return 0;
  }
  return value;
}

uint64_t JsonFields::optionalUint(const char* key, uint64_t max, uint64_t fallback) {
  if (!field(key, false)) return fallback;
  return uint(key, max);
}

int64_t JsonFields::integer(const char* key, int64_t min, int64_t max) {
  const nlohmann::json* v = field(key, true);
  if (!v) return 0;
  if (!v->is_number_integer() || (v->is_number_unsigned() && v->get<uint64_t>() > static_cast<uint64_t>(max))) {
    fail("field '" + path(key) + "' must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    return 0;
  }
  const int64_t value = v->get<int64_t>();
  if (value < min || value > max) {
    fail("field '" + path(key) + "' must be a whole number from " + std::to_string(min) + " to " + std::to_string(max));
    return 0;
  }
  return value;
}

std::optional<double> JsonFields::optionalNumber(const char* key, double min, double max) {
  const nlohmann::json* v = field(key, false);
  if (!v) return std::nullopt;
  const double value = v->is_number() ? v->get<double>() : NAN;
  if (!std::isfinite(value) || value < min || value > max) {
    fail("field '" + path(key) + "' must be a number from " + std::to_string(min) + " to " + std::to_string(max));
    return std::nullopt;
  }
  return value;
}

bool JsonFields::boolean(const char* key) {
  const nlohmann::json* v = field(key, true);
  if (!v) return false;
  if (!v->is_boolean()) {
    fail("field '" + path(key) + "' must be true or false");
    return false;
  }
  return v->get<bool>();
}

size_t JsonFields::choice(const char* key, const std::vector<std::string_view>& choices) {
  const std::string s = string(key, 64);
  if (!ok()) return 0;
  for (size_t i = 0; i < choices.size(); ++i) {
    if (s == choices[i]) return i;
  }
  std::string list;
  for (std::string_view c : choices) list += (list.empty() ? "" : ", ") + std::string(c);
  fail("field '" + path(key) + "' must be one of " + list);
  return 0;
}

const nlohmann::json* JsonFields::array(const char* key, size_t max_items, bool required) {
  const nlohmann::json* v = field(key, required);
  if (!v) return nullptr;
  if (!v->is_array() || v->size() > max_items) {
    fail("field '" + path(key) + "' must be a list of at most " + std::to_string(max_items) + " items");
    return nullptr;
  }
  return v;
}

const nlohmann::json* JsonFields::object(const char* key) {
  const nlohmann::json* v = field(key, true);
  if (!v) return nullptr;
  if (!v->is_object()) {
    fail("field '" + path(key) + "' must be an object");
    return nullptr;
  }
  return v;
}

std::vector<std::string> JsonFields::names(const char* key, size_t max_items, bool (*valid)(std::string_view),
                                           bool required) {
  std::vector<std::string> out;
  const nlohmann::json* list = array(key, max_items, required);
  if (!list) return out;
  for (const nlohmann::json& item : *list) {
    if (!item.is_string() || !valid(item.get_ref<const std::string&>())) {
      fail("field '" + path(key) + "' must list valid names");
      return {};
    }
    out.push_back(item.get<std::string>());
  }
  return out;
}

}  // namespace twinhub::health
