// WindowFigures: what one sidecar's heartbeats said over a window (the baseline before a flip,
// or the soak after it): requests completed, requests failed, a typical p99 turn latency, and
// whether its agent reported failing. Built from the stats summary each beat carries (the
// counts since the previous beat). A value type; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace twinhub::ctl {

class WindowFigures {
 public:
  // One beat's stats: turns completed and failed since the previous beat, and the beat's p99
  // turn latency (absent when no turn completed).
  void addBeat(uint64_t turns, uint64_t failed, std::optional<double> p99_ms, bool agent_failing);

  uint64_t requests() const { return requests_; }
  uint64_t failed() const { return failed_; }
  size_t beats() const { return beats_; }
  size_t agentFailingBeats() const { return agent_failing_; }
  // The turns-weighted median of the beats' p99s: one slow beat does not make the window slow,
  // a slowed agent does. Absent when no turn completed in the window.
  std::optional<double> p99Ms() const;
  double errorRate() const;

 private:
  uint64_t requests_ = 0;
  uint64_t failed_ = 0;
  size_t beats_ = 0;
  size_t agent_failing_ = 0;
  std::vector<std::pair<double, uint64_t>> p99s_;  // (p99, turns) per beat with turns
};

}  // namespace twinhub::ctl
