// Reads what the demo's aggregator (`twinhubctl health watch`, a child process) printed: its
// alerts and recoveries, to find the one that detected a fault; and its /metrics, for the health
// sync latency (heartbeat timestamp to receipt) histogram. Main thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace twinhub::ctl::demo {

struct SeenAlert {
  int64_t detected_at_ms = 0;
  std::string summary;
};

// The first alert line in `output` ("alert {...}") of `kind` whose subject contains `subject`,
// detected at or after `since_epoch_ms`.
std::optional<SeenAlert> findAlert(const std::string& output, const std::string& kind, const std::string& subject,
                                   int64_t since_epoch_ms);

struct SyncFigures {
  uint64_t beats = 0;
  std::optional<double> p50_ms, p99_ms;  // bucket upper bounds; unset past the largest finite one
};
// From the Prometheus text of the aggregator's /metrics (every hub's histogram together).
SyncFigures syncFigures(const std::string& metrics_text);

}  // namespace twinhub::ctl::demo
