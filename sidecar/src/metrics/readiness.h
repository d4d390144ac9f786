// Readiness: whether a sidecar should take traffic now (GET /readyz), decided from what the app
// and the hub side report. A pure policy: no sockets, no clock, unit-tested on its own.
//
//   not ready while the fronts are not bound yet, or the sidecar drains;
//   mode hub:    ready when at least one hub is up (suspect and down hubs are not usable);
//   mode direct: ready when every direct target accepts a TCP connection.
// Liveness (/healthz) needs nothing: a process that serves HTTP is alive.
//
// The direct targets are checked only when someone asks (a /readyz request), not in the
// background: an agent sees a probe connection only as often as its orchestrator probes, and a
// sidecar nobody probes never touches its agent.
//
// Threads: ReadinessState is guarded by its own mutex; any thread may report or ask. verdict()
// blocks for the target checks (up to their timeout each): call it off the loop (the HTTP
// server's thread does).
#pragma once

#include <functional>
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
// A TCP connect to `target` ("host:port", IPv4 or [IPv6]) within `timeout_ms`.
bool tcpConnects(const std::string& target, int timeout_ms);

class ReadinessState {
 public:
  // Whether a target ("host:port") accepts a connection now; blocking.
  using TargetCheck = std::function<bool(const std::string& target)>;
  // Default check: a TCP connect with a 300 ms timeout.
  ReadinessState();
  explicit ReadinessState(TargetCheck check);

  void setFrontsBound(bool bound);
  void setDraining();
  void setMode(const std::string& mode);
  void setHubState(const std::string& hub, HubState state);
  // The direct targets of the fronts now (replaces the previous list).
  void setDirectTargets(const std::vector<std::string>& targets);
  // Checks the direct targets when the mode is direct; see the threads note above.
  ReadinessVerdict verdict() const;

 private:
  const TargetCheck check_;
  mutable std::mutex mutex_;
  ReadinessInputs inputs_;
};

}  // namespace twinhub
