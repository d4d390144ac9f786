// FailoverPolicy: which hub carries sessions, decided from the hubs' states and a clock alone. No
// I/O and no timers: HubSet tells it every state change and asks it again on every tick.
//
// The active hub is the first hub in config order that is up; when the active hub is not up, the
// next one that is takes over at once. A more preferred hub that has failed before must stay up
// for the hold-down period before sessions move back to it, so a flapping hub does not bounce them.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "hub/hub_state.h"

namespace twinhub {

class FailoverPolicy {
 public:
  struct Change {
    std::optional<size_t> from;
    std::optional<size_t> to;
    // The first choice, or a preferred hub that answered later than another at start-up: not a
    // failover (nothing failed).
    bool start_up = false;
  };

  FailoverPolicy(size_t hubs, uint32_t failback_hold_ms);

  // Records hub `hub`'s state at `now_ns` (any monotonic clock in ns).
  void setState(size_t hub, HubState state, uint64_t now_ns);
  HubState state(size_t hub) const { return hubs_[hub].state; }
  // Whether the active hub changes now; applies the change.
  std::optional<Change> evaluate(uint64_t now_ns);
  std::optional<size_t> active() const { return active_; }

 private:
  struct Hub {
    HubState state = HubState::kDown;
    uint64_t up_since_ns = 0;
    bool has_failed = false;  // was up once and went down or suspect
  };

  std::vector<Hub> hubs_;
  const uint64_t failback_hold_ns_;
  std::optional<size_t> active_;
};

}  // namespace twinhub
