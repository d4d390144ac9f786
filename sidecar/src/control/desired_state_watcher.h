// DesiredStateWatcher: reads this sidecar's desired state from the JetStream key-value bucket
// on every hub (each hub is its own JetStream domain, and the controller writes to each), and
// hands every valid value to the loop. Which generation wins is FlipPolicy's call, not this one's.
//
// Control traffic needs blocking calls (JetStream lookups, KV watches), so it has its own
// threaded cnats connection per hub and one thread per hub, apart from the data path's
// connections: a frozen hub stalls only its own thread, never the loop nor the other hub.
// A KV watch delivers a new value at once; a plain read every few seconds is the safety net for
// a watch that a hub restart silently ended. The bucket may not exist yet (no controller has
// run): the thread keeps looking.
//
// Construct, start and destroy on the loop thread; `on_state` runs on the loop (LoopExecutor).
// The destructor stops the threads (each returns within about a second, even from a frozen hub).
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/loop_executor.h"
#include "control_wire/desired_state.h"
#include "nats_security/hub_security.h"

namespace twinhub {

struct ControlHub {
  std::string name;
  std::string url;
  nats_security::HubSecurity security;
};

class DesiredStateWatcher {
 public:
  using OnState = std::function<void(const std::string& hub, const wire::DesiredState& state)>;
  // `on_bad`: a value that failed to decode (hub name, why), on the loop.
  using OnBad = std::function<void(const std::string& hub, const std::string& why)>;

  DesiredStateWatcher(std::vector<ControlHub> hubs, std::string sidecar_id, LoopExecutor& executor, OnState on_state,
                      OnBad on_bad);
  ~DesiredStateWatcher();
  DesiredStateWatcher(const DesiredStateWatcher&) = delete;
  DesiredStateWatcher& operator=(const DesiredStateWatcher&) = delete;

  void start();

 private:
  struct Link;
  void run(Link& link);
  void deliver(const std::string& hub, const char* data, int length);

  const std::string sidecar_id_;
  const std::string key_;
  LoopExecutor& executor_;
  OnState on_state_;
  OnBad on_bad_;
  std::vector<std::unique_ptr<Link>> links_;
  std::atomic<bool> stopping_{false};
};

}  // namespace twinhub
