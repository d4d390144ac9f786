#include "metrics/readiness.h"

namespace twinhub {

ReadinessVerdict evaluateReadiness(const ReadinessInputs& in) {
  if (in.draining) return {false, "draining"};
  if (!in.fronts_bound) return {false, "fronts not bound yet"};
  if (in.mode == "hub") {
    for (const auto& [name, state] : in.hubs) {
      if (state == HubState::kUp) return {true, "mode hub, hub " + name + " up"};
    }
    return {false, in.hubs.empty() ? "mode hub, no hub reported yet" : "mode hub, no hub up"};
  }
  for (const auto& [target, reachable] : in.direct_targets) {
    if (!reachable) return {false, "mode direct, " + target + " not reachable"};
  }
  return {true, "mode direct"};
}

void ReadinessState::setFrontsBound(bool bound) {
  std::lock_guard lock(mutex_);
  inputs_.fronts_bound = bound;
}

void ReadinessState::setDraining() {
  std::lock_guard lock(mutex_);
  inputs_.draining = true;
}

void ReadinessState::setMode(const std::string& mode) {
  std::lock_guard lock(mutex_);
  inputs_.mode = mode;
}

void ReadinessState::setHubState(const std::string& hub, HubState state) {
  std::lock_guard lock(mutex_);
  inputs_.hubs[hub] = state;
}

void ReadinessState::setDirectTargets(const std::vector<std::string>& targets) {
  std::lock_guard lock(mutex_);
  std::map<std::string, bool> next;
  for (const std::string& target : targets) {
    auto it = inputs_.direct_targets.find(target);
    next[target] = it != inputs_.direct_targets.end() && it->second;
  }
  inputs_.direct_targets = std::move(next);
}

void ReadinessState::setDirectReachable(const std::string& target, bool reachable) {
  std::lock_guard lock(mutex_);
  auto it = inputs_.direct_targets.find(target);
  if (it != inputs_.direct_targets.end()) it->second = reachable;
}

ReadinessVerdict ReadinessState::verdict() const {
  std::lock_guard lock(mutex_);
  return evaluateReadiness(inputs_);
}

}  // namespace twinhub
