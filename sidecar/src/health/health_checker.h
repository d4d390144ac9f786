// HealthChecker: decides whether the agent behind a sidecar is healthy, by probing it (tcp, zmq or
// http, per ProbeConfig) every interval_ms and smoothing the results with rise/fall hysteresis, so
// one lost probe does not flap the agent's state in heartbeats and routing.
//
// Threads: the checker runs its probes and calls on_change on a thread of its own. healthy() and
// probesRun() may be called from any thread; construction, start() and destruction belong to the
// owner's thread. There is no uv here: the app posts each transition to its loop from on_change.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "config/config.h"
#include "health/probe.h"

namespace twinhub {

class HealthChecker {
 public:
  // Called on the checker's thread on every transition, and once for the first probe result
  // (whichever way it went). It must not destroy the checker or block for long: the destructor
  // waits for a call in progress, and no call starts once the destructor has begun.
  using OnChange = std::function<void(bool healthy, const std::string& detail)>;

  HealthChecker(ProbeConfig config, OnChange on_change);
  // Stops and joins. An idle checker stops at once; a zmq probe in flight is cut short; a tcp or
  // http probe in flight finishes first (bounded by timeout_ms).
  ~HealthChecker();
  HealthChecker(const HealthChecker&) = delete;
  HealthChecker& operator=(const HealthChecker&) = delete;

  // Starts probing (the first probe runs at once). Calling it again does nothing.
  void start();

  // False until the first probe result, then the smoothed state. Any thread.
  bool healthy() const { return healthy_.load(std::memory_order_acquire); }
  // Probes completed so far. Any thread.
  uint64_t probesRun() const { return probes_run_.load(std::memory_order_acquire); }

  // The last probe's duration and the last failure's detail (kept after the agent recovers, so a
  // heartbeat can say what went wrong last). Any thread.
  struct Sample {
    double latency_ms = 0;
    std::string last_error;
  };
  Sample lastSample() const;

 private:
  void run();
  ProbeResult probeOnce();
  // Applies rise/fall; returns true when the state changed (or this was the first result).
  bool apply(bool ok);
  void recordSample(double latency_ms, const ProbeResult& result);

  const ProbeConfig config_;
  const OnChange on_change_;
  // Only for zmq probes; shut down by the destructor to interrupt a probe in flight.
  std::unique_ptr<zmq::context_t> zmq_context_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;

  mutable std::mutex sample_mutex_;
  Sample sample_;  // guarded by sample_mutex_

  std::atomic<bool> healthy_{false};
  std::atomic<uint64_t> probes_run_{0};

  // Checker thread only.
  bool has_result_ = false;
  uint32_t passes_in_a_row_ = 0;
  uint32_t failures_in_a_row_ = 0;
};

}  // namespace twinhub
