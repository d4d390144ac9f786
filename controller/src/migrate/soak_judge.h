// SoakJudge: whether a batch passes its soak, compared sidecar by sidecar with the baseline
// taken before the flip. Pure: figures and thresholds in, a verdict that names the figure, its
// value, the threshold, the window and the sample size out. No I/O; any thread.
//
// - An agent that reported failing during the soak is a breach.
// - A sidecar's error rate above max_error_rate is a breach (with enough requests to tell).
// - A sidecar's p99 above max_latency_ratio x its baseline p99 is a breach, when it is also
//   min_latency_delta_ms above it: hub mode adds a fixed cost per turn (~0.3 ms here) that would
//   otherwise breach every agent that answers in microseconds.
// - Too few requests in a window (no traffic is no breach): the caller extends the window.
#pragma once

#include <map>
#include <string>

#include "migrate/window_figures.h"

namespace twinhub::ctl {

struct SoakThresholds {
  double max_latency_ratio_p99 = 1.5;
  double min_latency_delta_ms = 5.0;
  double max_error_rate = 0.0;
  uint64_t min_samples = 20;  // requests, summed over the batch
};

struct SoakVerdict {
  enum class Kind { kPass, kBreach, kTooFewSamples };
  Kind kind = Kind::kPass;
  std::string sidecar;  // the one that breached
  std::string figure;   // agent_failing, error_rate, latency_p99
  double value = 0;
  double threshold = 0;
  double baseline = 0;
  uint64_t samples = 0;
  std::string describe() const;
};

using BatchFigures = std::map<std::string, WindowFigures>;  // by sidecar id

SoakVerdict judgeSoak(const BatchFigures& baseline, const BatchFigures& soak, const SoakThresholds& thresholds);
// Whether a window has enough requests over the batch to judge latency and errors.
bool enoughSamples(const BatchFigures& window, const SoakThresholds& thresholds);

}  // namespace twinhub::ctl
