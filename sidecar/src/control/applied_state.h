// AppliedState: the desired state a sidecar has applied (mode, generation, whether the flip is
// still provisional), kept in `<state_dir>/applied-state.<sidecar id>.json` so that a sidecar
// restarted while every hub is down comes back in the mode it was last told. The file is named
// by the id, so sidecars of one host may share a state_dir. Plain value; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/status.h"

namespace twinhub {

struct AppliedState {
  std::string mode;           // "direct" or "hub"
  std::string primary;        // as the controller asked; "" = config order
  uint64_t generation = 0;    // 0: nothing applied yet (the config's mode rules)
  int64_t provisional_until_ms = 0;  // wall clock; 0 when confirmed or never provisional
  std::string previous_mode;  // what a provisional flip reverts to
  bool reverted = false;      // this generation was provisional and went back to previous_mode
  bool operator==(const AppliedState&) const = default;

  bool provisional() const { return provisional_until_ms != 0 && !reverted; }
};

// Reads the sidecar's file in `dir`; nullopt when there is none. A file that cannot be parsed is
// reported in *error and treated as none (the config's mode then rules).
std::optional<AppliedState> loadAppliedState(const std::string& dir, const std::string& sidecar_id,
                                             std::string* error);
// Writes it atomically (temporary file, fsync, rename).
Status saveAppliedState(const std::string& dir, const std::string& sidecar_id, const AppliedState& state);

}  // namespace twinhub
