// TimeoutSweeper: idle and half-close timeouts for every connection of one loop, with one timer
// for all of them (haproxy's `timeout client/server` and `timeout client-fin/server-fin`).
// ZeroMQ connections live for days and are idle most of the time, and a sidecar may hold
// thousands: a uv_timer per connection would be re-armed on every read; here a read only stores
// the loop's cached clock (uv_now) in the connection, and the sweeper walks the list once per tick
// (10,000 entries: a few microseconds per tick). A timeout fires between its deadline and one tick
// later; the tick is a quarter of the shortest timeout registered, from 10 ms to 1 s.
//
// The timer exists only while there is something to watch: it is made when the first entry is
// added and closed on the first tick that finds no entry and no housekeeping left, so a loop with
// no connection holds no handle of ours (the hub-mode unit tests share ProxyContext and close
// their loop with uv_loop_close() == 0). The same tick runs the context's housekeeping (giving
// idle buffers back to the OS). Loop thread only.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>

#include "common/tuning_defaults.h"

namespace twinhub {

struct TimeoutSettings {
  uint32_t idle_ms = defaults::kIdleTimeoutMs;
  uint32_t fin_ms = defaults::kFinTimeoutMs;
  bool operator==(const TimeoutSettings&) const = default;
};

enum class Timeout { kNone, kIdle, kFin };

// The policy of one connection, fed with times in milliseconds; no clock or handle of its own.
// The FIN timeout is an inactivity timeout that starts counting at the first FIN (like haproxy's
// client-fin): a half-closed connection that still streams an answer stays open, one whose agent
// never answers is gone after fin_ms.
class ActivityClock {
 public:
  ActivityClock() = default;
  ActivityClock(TimeoutSettings settings, uint64_t now_ms) : settings_(settings), last_ms_(now_ms) {}

  void bytesMoved(uint64_t now_ms) { last_ms_ = now_ms; }
  void halfClosed(uint64_t now_ms) {
    half_closed_ = true;
    last_ms_ = now_ms;
  }
  // Which timeout, if any, has expired at `now_ms`.
  Timeout due(uint64_t now_ms) const;
  const TimeoutSettings& settings() const { return settings_; }

 private:
  TimeoutSettings settings_;
  uint64_t last_ms_ = 0;
  bool half_closed_ = false;
};

class TimeoutTarget {
 public:
  // The entry's timeout expired. The target closes its connection; it may remove its own entry
  // from the sweeper here, but no other.
  virtual void onTimeout(Timeout which) = 0;

 protected:
  ~TimeoutTarget() = default;
};

// What a connection embeds to be watched: its clock and the links of the sweeper's list.
struct TimeoutEntry {
  ActivityClock clock;
  TimeoutTarget* target = nullptr;
  TimeoutEntry* prev = nullptr;
  TimeoutEntry* next = nullptr;
  bool linked = false;
};

class TimeoutSweeper {
 public:
  static constexpr uint64_t kMinTickMs = 10;
  static constexpr uint64_t kMaxTickMs = 1000;

  explicit TimeoutSweeper(uv_loop_t* loop) : loop_(loop) {}
  ~TimeoutSweeper();
  TimeoutSweeper(const TimeoutSweeper&) = delete;
  TimeoutSweeper& operator=(const TimeoutSweeper&) = delete;

  // Watches `entry` (its clock and target set) until remove(); the entry must not move meanwhile.
  void add(TimeoutEntry& entry);
  void remove(TimeoutEntry& entry);
  // Run on every tick with the loop time; returns true while it has work left, which keeps the
  // timer running after the last entry is gone.
  void setHousekeeping(std::function<bool(uint64_t now_ms)> housekeeping) { housekeeping_ = std::move(housekeeping); }
  // Closes the timer now and for good (the app's shutdown); entries may still be removed.
  void shutdown();

  uint64_t nowMs() const { return uv_now(loop_); }
  size_t size() const { return size_; }
  bool timerOpen() const { return timer_ != nullptr; }
  uint64_t tickMs() const { return tick_ms_; }
  // One sweep at `now_ms`, as the timer does (tests call it with a made-up time).
  void sweep(uint64_t now_ms);

 private:
  static void onTick(uv_timer_t* timer);
  static uint64_t tickFor(const TimeoutSettings& settings);
  void ensureTimer(uint64_t tick_ms);
  void closeTimer();

  uv_loop_t* loop_;
  uv_timer_t* timer_ = nullptr;  // heap: freed in its close callback, which may run after we die
  uint64_t tick_ms_ = kMaxTickMs;
  TimeoutEntry* head_ = nullptr;
  size_t size_ = 0;
  std::function<bool(uint64_t)> housekeeping_;
  bool shut_down_ = false;
};

}  // namespace twinhub
