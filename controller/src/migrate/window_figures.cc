#include "migrate/window_figures.h"

#include <algorithm>

namespace twinhub::ctl {

void WindowFigures::addBeat(uint64_t turns, uint64_t failed, std::optional<double> p99_ms, bool agent_failing) {
  ++beats_;
  requests_ += turns;
  failed_ += failed;
  if (agent_failing) ++agent_failing_;
  if (p99_ms && turns > 0) p99s_.emplace_back(*p99_ms, turns);
}

std::optional<double> WindowFigures::p99Ms() const {
  if (p99s_.empty()) return std::nullopt;
  std::vector<std::pair<double, uint64_t>> sorted = p99s_;
  std::sort(sorted.begin(), sorted.end());
  uint64_t total = 0;
  for (const auto& [p99, turns] : sorted) total += turns;
  uint64_t seen = 0;
  for (const auto& [p99, turns] : sorted) {
    seen += turns;
    if (2 * seen >= total) return p99;
  }
  return sorted.back().first;
}

double WindowFigures::errorRate() const {
  const uint64_t all = requests_ + failed_;
  return all == 0 ? 0.0 : static_cast<double>(failed_) / static_cast<double>(all);
}

}  // namespace twinhub::ctl
