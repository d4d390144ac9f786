// Latency figures shared by the bench tools (bench_client, cnats_floor): percentiles of a sorted
// sample and the one-line result the scripts parse (`LABEL count= p50_us= ... mean_us=`).
// Header-only and standard C++ only, so bench_client keeps building without third-party libraries.
#pragma once

#include <algorithm>
#include <cstdio>
#include <vector>

namespace bench {

// `sorted` ascending; nearest rank; 0 when empty.
inline double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  size_t idx = static_cast<size_t>(q * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(idx, sorted.size() - 1)];
}

// Sorts `us` and prints "LABEL count=N p50_us= p90_us= p99_us= p999_us= min_us= max_us= mean_us=".
inline void printLatencyLine(const char* label, std::vector<double>& us) {
  std::sort(us.begin(), us.end());
  double sum = 0;
  for (double v : us) sum += v;
  const double n = us.empty() ? 1 : static_cast<double>(us.size());
  std::printf("%s count=%zu p50_us=%.1f p90_us=%.1f p99_us=%.1f p999_us=%.1f min_us=%.1f max_us=%.1f mean_us=%.1f\n",
              label, us.size(), percentile(us, 0.50), percentile(us, 0.90), percentile(us, 0.99),
              percentile(us, 0.999), us.empty() ? 0 : us.front(), us.empty() ? 0 : us.back(), sum / n);
}

}  // namespace bench
