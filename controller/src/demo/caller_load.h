// The simulated mainpc callers: continuous ZeroMQ REQ/REP load on every pc2 agent's front for the
// whole demo, the way the agents call each other (JSON with a unique request_id, 5 s reply timeout,
// a new REQ socket after a timeout). One thread per target agent, grouped under a few caller
// names; every request is recorded (start, latency, outcome) so that the report can draw the
// timeline and measure the stall each fault caused.
//
// start()/stop()/records() from the demo's main thread; counters() from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace twinhub::ctl::demo {

struct RequestRecord {
  double start_ms;    // since the demo's time zero (steady clock)
  float latency_ms;   // until the reply, or until the caller gave up
  uint16_t target;    // index into the targets
  bool ok;            // its own reply, status success
};

struct LoadTarget {
  std::string agent;    // the agent's name
  std::string address;  // its front, HOST:PORT
  std::string caller;   // the simulated mainpc caller that sends to it
};

struct LoadCounters {
  uint64_t sent = 0, answered = 0, failed = 0;
};

class CallerLoad {
 public:
  CallerLoad(std::vector<LoadTarget> targets, int pause_ms, int timeout_ms, std::string run_id,
             std::chrono::steady_clock::time_point zero);
  ~CallerLoad();
  CallerLoad(const CallerLoad&) = delete;
  CallerLoad& operator=(const CallerLoad&) = delete;

  void start();
  // Lets every caller finish the request in hand (at most timeout_ms) and joins them.
  void stop();
  LoadCounters counters() const;
  // Requests sent and not yet answered or given up, now.
  int inFlight() const { return in_flight_.load(); }
  // Every record, ordered by start. After stop() only.
  std::vector<RequestRecord> records() const;
  // Ids of the requests that got no good reply, "agent request_id".
  std::vector<std::string> failedIds() const;
  const std::vector<LoadTarget>& targets() const { return targets_; }

 private:
  struct Worker {
    std::thread thread;
    std::vector<RequestRecord> records;
    std::vector<std::string> failed_ids;
  };
  void run(size_t index);

  std::vector<LoadTarget> targets_;
  int pause_ms_, timeout_ms_;
  std::string run_id_;
  std::chrono::steady_clock::time_point zero_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sent_{0}, answered_{0}, failed_{0};
  std::atomic<int> in_flight_{0};
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<void, void (*)(void*)> context_;
};

}  // namespace twinhub::ctl::demo
