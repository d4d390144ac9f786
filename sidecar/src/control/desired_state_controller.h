// DesiredStateController: the loop side of desired state. It restores what was applied before
// (state_dir), takes the values the DesiredStateWatcher reads from the hubs, lets FlipPolicy
// decide, persists the result before acting on it, and reverts a provisional flip at its
// deadline. The app applies the mode through `on_change`.
//
// Loop thread only.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/loop_executor.h"
#include "control/applied_state.h"
#include "control/desired_state_watcher.h"
#include "control/flip_policy.h"

namespace twinhub {

class DesiredStateController {
 public:
  // Called after every change that was persisted (or could not be: see the log), on the loop.
  using OnChange = std::function<void(FlipAction action, const AppliedState& applied)>;

  // `state_dir` may be empty: then nothing survives a restart.
  DesiredStateController(uv_loop_t* loop, LoopExecutor& executor, std::vector<ControlHub> hubs,
                         std::string sidecar_id, std::string state_dir, OnChange on_change);
  ~DesiredStateController();
  DesiredStateController(const DesiredStateController&) = delete;
  DesiredStateController& operator=(const DesiredStateController&) = delete;

  // Reads state_dir; the mode last applied, if any (a provisional flip past its deadline already
  // reverted). With nothing to restore, `config_mode` is where the sidecar stands. Call before start().
  std::optional<std::string> restore(const std::string& config_mode);
  void start();
  // Stops the watcher's threads and the deadline timer (the timer's close completes on the loop).
  void close();
  const AppliedState& applied() const { return applied_; }

 private:
  static void onTimer(uv_timer_t* timer);
  void onState(const std::string& hub, const wire::DesiredState& desired);
  void handle(const FlipDecision& decision, const std::string& source);
  void persist();

  uv_timer_t timer_;
  std::unique_ptr<DesiredStateWatcher> watcher_;
  std::string state_dir_;
  std::string sidecar_id_;
  OnChange on_change_;
  AppliedState applied_;
  bool closed_ = false;
};

// Wall-clock milliseconds since the epoch (deadlines are set by the controller on another host).
int64_t wallClockMs();

}  // namespace twinhub
