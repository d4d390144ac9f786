#include "status/status_table.h"

#include <algorithm>
#include <cstdio>
#include <vector>

namespace twinhub::ctl {

namespace {

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : sep) + item;
  return out;
}

std::string fixed(double value, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", decimals, value);
  return buf;
}

std::string renderRows(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace

std::string renderStatusTable(const health::Aggregate& a, const std::string& source) {
  std::vector<std::vector<std::string>> rows = {
      {"MACHINE", "SERVICE", "SIDECAR", "MODE", "GEN", "HUB", "AGENT", "STATE", "AGE_MS", "SYNC_MS"}};
  std::vector<health::SidecarSummary> sidecars = a.sidecars;
  std::sort(sidecars.begin(), sidecars.end(), [](const auto& x, const auto& y) {
    return std::tie(x.machine, x.id) < std::tie(y.machine, y.id);
  });
  for (const health::SidecarSummary& s : sidecars) {
    std::string service = join(s.served, ",");
    if (!s.fronted.empty()) service += (service.empty() ? "" : " ") + std::string("front:") + join(s.fronted, ",");
    rows.push_back({s.machine, service.empty() ? "-" : service, s.id, s.mode, std::to_string(s.generation),
                    s.hub_in_use.empty() ? "-" : s.hub_in_use, s.agent, s.state, std::to_string(s.age_ms),
                    s.sync_ms ? fixed(*s.sync_ms, 1) : "-"});
  }
  std::string out = renderRows(rows);
  std::vector<std::string> hubs;
  for (const health::HubSummary& h : a.hubs) hubs.push_back(h.name + "=" + h.state);
  out += "hubs: " + join(hubs, " ") + "  leaf: " + a.leaf + "  source: " + source + "\n";
  if (!a.partitioned.empty()) out += "partitioned: " + join(a.partitioned, " ") + "\n";
  if (!a.open_alerts.empty()) out += "open alerts: " + join(a.open_alerts, "; ") + "\n";
  if (a.sidecars.empty()) out += "no heartbeats heard\n";
  return out;
}

int statusExitCode(const health::Aggregate& a) {
  if (a.sidecars.empty()) return kExitNothingHeard;
  for (const health::SidecarSummary& s : a.sidecars) {
    if (s.state != "ok" || s.agent == "failing") return kExitUnhealthy;
  }
  return a.partitioned.empty() ? kExitOk : kExitUnhealthy;
}

}  // namespace twinhub::ctl
