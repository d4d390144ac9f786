// Desired-state values as read from a hub's key-value bucket (control_wire/desired_state.h):
// decodeDesiredState() on any bytes. What decodes must be a mode a sidecar knows and encode to
// a document that decodes to the same value (when within the size cap); what does not must say why. The bucket key made
// from a sidecar id must stay within the characters a key may hold.
#include <cstdint>
#include <string>
#include <string_view>

#include "control_wire/desired_state.h"
#include "fuzz_check.h"

using namespace twinhub::wire;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  const std::string key = desiredStateKey(bytes.substr(0, 256));
  FUZZ_CHECK(key.find("..") == std::string::npos && (key.empty() || (key.front() != '.' && key.back() != '.')));
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
    FUZZ_CHECK(ok);
  }
  std::string error;
  const std::optional<DesiredState> state = decodeDesiredState(bytes, &error);
  if (!state) {
    FUZZ_CHECK(!error.empty());
    return 0;
  }
  FUZZ_CHECK(size <= kMaxDesiredStateBytes);
  FUZZ_CHECK(state->mode == "hub" || state->mode == "direct");
  // The encoding writes every field, so a document that left some out and fills the size cap
  // with long strings encodes over it; the controller's own values are far shorter.
  const std::string encoded = encodeDesiredState(*state);
  if (encoded.size() > kMaxDesiredStateBytes) {
    FUZZ_CHECK(size + 128 > kMaxDesiredStateBytes);
    return 0;
  }
  const std::optional<DesiredState> again = decodeDesiredState(encoded, &error);
  FUZZ_CHECK(again.has_value());
  FUZZ_CHECK(*again == *state);
  return 0;
}
