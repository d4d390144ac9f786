#include "demo/alert_log.h"

#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

namespace twinhub::ctl::demo {

std::optional<SeenAlert> findAlert(const std::string& output, const std::string& kind, const std::string& subject,
                                   int64_t since_epoch_ms) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("alert ", 0) != 0) continue;
    const auto j = nlohmann::json::parse(line.substr(6), nullptr, false);
    if (!j.is_object() || j.value("kind", "") != kind) continue;
    if (j.value("subject", "").find(subject) == std::string::npos) continue;
    const int64_t at = j.value("detected_at", int64_t{0});
    if (at < since_epoch_ms) continue;
    return SeenAlert{at, j.value("summary", "")};
  }
  return std::nullopt;
}

SyncFigures syncFigures(const std::string& text) {
  const std::string name = "twinhub_health_sync_latency_seconds_bucket{";
  std::map<double, double> cumulative;  // le -> count over every hub
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind(name, 0) != 0) continue;
    const size_t le = line.find("le=\"");
    const size_t close = line.find('}');
    if (le == std::string::npos || close == std::string::npos) continue;
    const std::string bound = line.substr(le + 4, line.find('"', le + 4) - le - 4);
    const double b = bound == "+Inf" ? 1e9 : std::stod(bound);
    cumulative[b] += std::stod(line.substr(close + 1));
  }
  SyncFigures f;
  if (cumulative.empty()) return f;
  const double total = cumulative.rbegin()->second;
  f.beats = static_cast<uint64_t>(total);
  if (total <= 0) return f;
  bool p50_done = false, p99_done = false;  // past the largest finite bound: left unset
  for (const auto& [bound, count] : cumulative) {
    const bool finite = bound < 1e9;
    if (count >= 0.5 * total && finite && !f.p50_ms && !p50_done) f.p50_ms = bound * 1000;
    if (count >= 0.5 * total) p50_done = true;
    if (count >= 0.99 * total && finite && !f.p99_ms && !p99_done) f.p99_ms = bound * 1000;
    if (count >= 0.99 * total) p99_done = true;
  }
  return f;
}

}  // namespace twinhub::ctl::demo
