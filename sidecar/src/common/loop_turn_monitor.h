// LoopTurnMonitor: how long the loop's turns take, busy time only: from the end of one wait for
// I/O to the start of the next. The loop's one thread serves every socket, timer and hub message,
// so a long turn is how long all of them waited: nothing may block it. It reports every new
// longest turn, and each turn over the slow limit (logged, throttled).
//
// Uses libuv's idle-time metric: create it before the loop first runs. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>

#include "common/throttled_log.h"

namespace twinhub {

class LoopTurnStats {
 public:
  virtual ~LoopTurnStats() = default;
  virtual void longestLoopTurn(double seconds) = 0;
  virtual void slowLoopTurn() = 0;
};

class LoopTurnMonitor {
 public:
  static constexpr uint64_t kSlowTurnNs = 50'000'000;

  LoopTurnMonitor(uv_loop_t* loop, LoopTurnStats& stats);
  LoopTurnMonitor(const LoopTurnMonitor&) = delete;
  LoopTurnMonitor& operator=(const LoopTurnMonitor&) = delete;
  // Closes the handle; the object must outlive the loop run that closes it.
  void close();
  uint64_t longestTurnNs() const { return longest_ns_; }

 private:
  static void onPrepare(uv_prepare_t* handle);

  uv_prepare_t prepare_;
  LoopTurnStats& stats_;
  uint64_t last_ns_ = 0;
  uint64_t last_idle_ns_ = 0;
  uint64_t longest_ns_ = 0;
  ThrottledLog slow_log_;
};

}  // namespace twinhub
