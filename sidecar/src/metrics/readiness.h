// Readiness: whether a sidecar should take traffic now (GET /readyz), decided from what the app
// and the hub side report. A pure policy: no sockets, no clock, unit-tested on its own.
//
//   not ready while the fronts are not bound yet, or the sidecar drains;
//   mode hub:    ready when at least one hub is up (suspect and down hubs are not usable);
//   mode direct: ready when every direct target answered its last TCP check.
// Liveness (/healthz) needs nothing: a process that serves HTTP is alive.
//
// Threads: ReadinessState is guarded by its own mutex; any thread may report or ask.
#pragma once

#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "hub/hub_stats.h"

namespace twinhub {

struct ReadinessInputs {
  bool fronts_bound = false;
  bool draining = false;
  std::string mode = "direct";
  std::map<std::string, HubState> hubs;           // by hub name
  std::map<std::string, bool> direct_targets;     // by address: last check passed
};

struct ReadinessVerdict {
  bool ready = false;
  std::string reason;  // why not ready, or what makes it ready
};

ReadinessVerdict evaluateReadiness(const ReadinessInputs& inputs);

class ReadinessState {
 public:
  void setFrontsBound(bool bound);
  void setDraining();
  void setMode(const std::string& mode);
  void setHubState(const std::string& hub, HubState state);
  // The direct targets to check now; results of targets no longer listed are forgotten, new ones
  // start as not reachable until checked.
  void setDirectTargets(const std::vector<std::string>& targets);
  void setDirectReachable(const std::string& target, bool reachable);
  ReadinessVerdict verdict() const;

 private:
  mutable std::mutex mutex_;
  ReadinessInputs inputs_;
};

}  // namespace twinhub
