// LoopTurnMonitor: how long the loop's turns take, busy time only: from the end of one wait for
// I/O to the start of the next. The loop's one thread serves every socket, timer and hub message,
// so a long turn is how long all of them waited: nothing may block it. It reports every new
// longest turn, and each turn over the slow limit (logged, throttled).
//
// Uses libuv's idle-time metric: create it before the loop first runs. Loop thread only.
//
// The reports are plain callbacks, not a virtual interface: a virtual call made for the first time
// while the process is out of file descriptors (a flood at the fd limit) makes UBSan's vptr check
// fail (it probes memory through a pipe), and the first new longest turn often comes right then.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

#include "common/throttled_log.h"

namespace twinhub {

struct LoopTurnReports {
  std::function<void(double seconds)> longest;  // a new longest turn
  std::function<void()> slow;                   // a turn over kSlowTurnNs
};

class LoopTurnMonitor {
 public:
  static constexpr uint64_t kSlowTurnNs = 50'000'000;

  LoopTurnMonitor(uv_loop_t* loop, LoopTurnReports reports);
  LoopTurnMonitor(const LoopTurnMonitor&) = delete;
  LoopTurnMonitor& operator=(const LoopTurnMonitor&) = delete;
  // Closes the handle; the object must outlive the loop run that closes it.
  void close();
  uint64_t longestTurnNs() const { return longest_ns_; }

 private:
  static void onPrepare(uv_prepare_t* handle);

  uv_prepare_t prepare_;
  LoopTurnReports reports_;
  uint64_t last_ns_ = 0;
  uint64_t last_idle_ns_ = 0;
  uint64_t longest_ns_ = 0;
  ThrottledLog slow_log_;
};

}  // namespace twinhub
