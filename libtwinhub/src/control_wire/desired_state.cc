#include "control_wire/desired_state.h"

#include <nlohmann/json.hpp>

namespace twinhub::wire {

namespace {

using json = nlohmann::json;

// JSON numbers above 2^53 lose precision in most readers; generations never get there.
constexpr uint64_t kMaxGeneration = (1ull << 53);
constexpr size_t kMaxNameBytes = 128;

bool isKeyChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
         c == '.';
}

bool fail(std::string* error, const std::string& why) {
  if (error) *error = why;
  return false;
}

bool readString(const json& doc, const char* key, bool required, std::string* out, std::string* error) {
  auto it = doc.find(key);
  if (it == doc.end()) return !required || fail(error, std::string("missing \"") + key + "\"");
  if (!it->is_string()) return fail(error, std::string("\"") + key + "\" must be a string");
  *out = it->get<std::string>();
  if (out->size() > kMaxNameBytes) return fail(error, std::string("\"") + key + "\" is too long");
  return true;
}

}  // namespace

std::string desiredStateKey(std::string_view sidecar_id) {
  std::string key(sidecar_id);
  for (char& c : key) {
    if (!isKeyChar(c)) c = '_';
  }
  // No empty tokens: a key may not start or end with '.' or hold "..".
  for (size_t i = 0; i < key.size(); ++i) {
    if (key[i] == '.' && (i == 0 || i + 1 == key.size() || key[i + 1] == '.')) key[i] = '_';
  }
  return key.empty() ? "_" : key;
}

std::string encodeDesiredState(const DesiredState& state) {
  json doc = {{"v", kDesiredStateVersion},
              {"mode", state.mode},
              {"primary", state.primary},
              {"generation", state.generation},
              {"provisional_until_ms", state.provisional_until_ms},
              {"confirmed", state.confirmed},
              {"by", state.by}};
  return doc.dump();
}

std::optional<DesiredState> decodeDesiredState(std::string_view text, std::string* error) {
  if (text.size() > kMaxDesiredStateBytes) return fail(error, "too large"), std::nullopt;
  json doc = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) return fail(error, "not a JSON object"), std::nullopt;
  auto v = doc.find("v");
  if (v == doc.end() || !v->is_number_integer() || v->get<int64_t>() != kDesiredStateVersion) {
    return fail(error, "unknown schema version"), std::nullopt;
  }
  DesiredState state;
  if (!readString(doc, "mode", true, &state.mode, error) || !readString(doc, "primary", false, &state.primary, error) ||
      !readString(doc, "by", false, &state.by, error)) {
    return std::nullopt;
  }
  if (state.mode != "direct" && state.mode != "hub") return fail(error, "mode must be direct or hub"), std::nullopt;
  auto generation = doc.find("generation");
  if (generation == doc.end() || !generation->is_number_unsigned() || generation->get<uint64_t>() == 0 ||
      generation->get<uint64_t>() > kMaxGeneration) {
    return fail(error, "generation must be an integer from 1 to 2^53"), std::nullopt;
  }
  state.generation = generation->get<uint64_t>();
  if (auto until = doc.find("provisional_until_ms"); until != doc.end()) {
    if (!until->is_number_integer() || until->get<int64_t>() < 0) {
      return fail(error, "provisional_until_ms must be a non-negative integer"), std::nullopt;
    }
    state.provisional_until_ms = until->get<int64_t>();
  }
  if (auto confirmed = doc.find("confirmed"); confirmed != doc.end()) {
    if (!confirmed->is_boolean()) return fail(error, "confirmed must be true or false"), std::nullopt;
    state.confirmed = confirmed->get<bool>();
  }
  return state;
}

}  // namespace twinhub::wire
