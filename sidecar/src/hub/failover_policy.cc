#include "hub/failover_policy.h"

namespace twinhub {

FailoverPolicy::FailoverPolicy(size_t hubs, uint32_t failback_hold_ms)
    : hubs_(hubs), failback_hold_ns_(uint64_t{failback_hold_ms} * 1000000) {}

void FailoverPolicy::setState(size_t index, HubState state, uint64_t now_ns) {
  Hub& hub = hubs_[index];
  if (hub.state == state) return;
  if (hub.state == HubState::kUp) hub.has_failed = true;
  if (state == HubState::kUp) hub.up_since_ns = now_ns;
  hub.state = state;
}

std::optional<FailoverPolicy::Change> FailoverPolicy::evaluate(uint64_t now_ns) {
  std::optional<size_t> best;
  for (size_t i = 0; i < hubs_.size() && !best; ++i) {
    if (hubs_[i].state == HubState::kUp) best = i;
  }
  std::optional<size_t> next = active_;
  if (!active_ || hubs_[*active_].state != HubState::kUp) {
    next = best;  // fail over at once
  } else if (best && *best < *active_) {
    const Hub& preferred = hubs_[*best];
    if (!preferred.has_failed || now_ns - preferred.up_since_ns >= failback_hold_ns_) next = best;
  }
  if (next == active_) return std::nullopt;
  Change change;
  change.from = active_;
  change.to = next;
  change.start_up = !active_ || (hubs_[*active_].state == HubState::kUp && next && !hubs_[*next].has_failed);
  active_ = next;
  return change;
}

}  // namespace twinhub
