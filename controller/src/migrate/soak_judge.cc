#include "migrate/soak_judge.h"

#include <fmt/format.h>

namespace twinhub::ctl {

namespace {

uint64_t totalRequests(const BatchFigures& window) {
  uint64_t total = 0;
  for (const auto& [id, figures] : window) total += figures.requests() + figures.failed();
  return total;
}

SoakVerdict breach(const std::string& sidecar, const char* figure, double value, double threshold, double baseline,
                   uint64_t samples) {
  return SoakVerdict{SoakVerdict::Kind::kBreach, sidecar, figure, value, threshold, baseline, samples};
}

}  // namespace

bool enoughSamples(const BatchFigures& window, const SoakThresholds& thresholds) {
  return totalRequests(window) >= thresholds.min_samples;
}

SoakVerdict judgeSoak(const BatchFigures& baseline, const BatchFigures& soak, const SoakThresholds& thresholds) {
  for (const auto& [id, figures] : soak) {
    if (figures.agentFailingBeats() > 0) {
      return breach(id, "agent_failing", static_cast<double>(figures.agentFailingBeats()), 0, 0, figures.beats());
    }
  }
  if (!enoughSamples(soak, thresholds)) {
    SoakVerdict verdict;
    verdict.kind = SoakVerdict::Kind::kTooFewSamples;
    verdict.samples = totalRequests(soak);
    verdict.threshold = static_cast<double>(thresholds.min_samples);
    return verdict;
  }
  for (const auto& [id, figures] : soak) {
    const uint64_t samples = figures.requests() + figures.failed();
    if (figures.errorRate() > thresholds.max_error_rate) {
      auto base = baseline.find(id);
      const double before = base == baseline.end() ? 0 : base->second.errorRate();
      return breach(id, "error_rate", figures.errorRate(), thresholds.max_error_rate, before, samples);
    }
    auto base = baseline.find(id);
    const std::optional<double> now = figures.p99Ms();
    const std::optional<double> before = base == baseline.end() ? std::nullopt : base->second.p99Ms();
    if (!now || !before) continue;  // no turns on one side: nothing to compare
    const double limit = std::max(*before * thresholds.max_latency_ratio_p99, *before + thresholds.min_latency_delta_ms);
    if (*now > limit) return breach(id, "latency_p99", *now, limit, *before, samples);
  }
  SoakVerdict pass;
  pass.samples = totalRequests(soak);
  return pass;
}

std::string SoakVerdict::describe() const {
  switch (kind) {
    case Kind::kPass: return fmt::format("pass ({} requests)", samples);
    case Kind::kTooFewSamples: return fmt::format("too few requests ({} < {})", samples, threshold);
    case Kind::kBreach:
      return fmt::format("breach: {} {} = {:.4g} above {:.4g} (baseline {:.4g}, {} samples)", sidecar, figure, value,
                         threshold, baseline, samples);
  }
  return "?";
}

}  // namespace twinhub::ctl
