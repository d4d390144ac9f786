// Desired state: what the controller wants one sidecar to do, as stored in the JetStream
// key-value bucket kDesiredStateBucket under desiredStateKey(sidecar id) on every hub's domain.
// Shared by the sidecar and the controller. Any thread.
//
// JSON, schema version 1:
//   {"v":1, "mode":"hub"|"direct", "primary":"edge", "generation":7,
//    "provisional_until_ms":1764512345678, "confirmed":false, "by":"twinhubctl@host"}
// - generation: strictly increasing per sidecar; a sidecar applies the highest it has seen.
// - provisional_until_ms: wall-clock deadline (ms since the epoch) for the controller to confirm
//   this generation (the same generation written again with confirmed=true); a sidecar that is
//   not told by then goes back to the mode it had before. 0: not provisional.
// - primary: the hub the controller prefers for this sidecar ("" = the config's order).
//
// Everything read from a hub is hostile until decoded here: sizes, types and ranges are checked.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace twinhub::wire {

constexpr int kDesiredStateVersion = 1;
constexpr const char* kDesiredStateBucket = "twinhub_desired";
constexpr size_t kMaxDesiredStateBytes = 4096;

struct DesiredState {
  std::string mode;  // "direct" or "hub"
  std::string primary;
  uint64_t generation = 0;
  int64_t provisional_until_ms = 0;
  bool confirmed = false;
  std::string by;
  bool operator==(const DesiredState&) const = default;
};

// The bucket key for a sidecar: its id with anything outside [A-Za-z0-9_-.] replaced by '_'.
std::string desiredStateKey(std::string_view sidecar_id);

std::string encodeDesiredState(const DesiredState& state);
// nullopt (and *error says why) for anything but a valid version-1 document.
std::optional<DesiredState> decodeDesiredState(std::string_view json, std::string* error);

}  // namespace twinhub::wire
