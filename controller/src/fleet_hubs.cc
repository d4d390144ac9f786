#include "fleet_hubs.h"

#include <cstdio>

#include "fleet/fleet_loader.h"

namespace twinhub::ctl {

std::vector<HubAddress> fleetHubs(const fleet::Fleet& f, const nats_security::HubSecurity& security) {
  std::vector<HubAddress> hubs;
  for (const fleet::Machine& m : f.machines) {
    if (!m.hub.urls.empty()) hubs.push_back({m.hub.name, m.hub.urls.front(), security});
  }
  return hubs;
}

std::optional<fleet::Fleet> loadFleetOrSay(const std::string& path) {
  fleet::FleetLoadResult loaded = fleet::loadFleetFile(path);
  if (loaded.problems.count(fleet::Severity::kError) > 0) {
    for (const std::string& line : loaded.problems.formatted(fleet::Severity::kError)) {
      std::fprintf(stderr, "%s\n", line.c_str());
    }
    return std::nullopt;
  }
  return loaded.fleet;
}

std::optional<std::vector<HubAddress>> resolveHubs(const std::vector<HubAddress>& hubs, const std::string& fleet_path,
                                                   const nats_security::HubSecurity& security) {
  if (!hubs.empty()) return hubs;
  if (fleet_path.empty()) {
    std::fprintf(stderr, "twinhubctl: no hubs: pass --hub NAME=URL (repeated) or -f FLEET\n");
    return std::nullopt;
  }
  std::optional<fleet::Fleet> f = loadFleetOrSay(fleet_path);
  if (!f) return std::nullopt;
  std::vector<HubAddress> from_fleet = fleetHubs(*f, security);
  if (from_fleet.empty()) {
    std::fprintf(stderr, "twinhubctl: %s names no hub\n", fleet_path.c_str());
    return std::nullopt;
  }
  return from_fleet;
}

}  // namespace twinhub::ctl
