#include "fleet_hubs.h"

#include <cstdio>

#include "fleet/fleet_loader.h"

namespace twinhub::ctl {

nats_security::HubSecurity fleetSecurity(const fleet::Fleet& f, const std::string& role) {
  if (!f.security.enabled()) return {};
  const fleet::RoleCredentials c = fleet::roleCredentials(f.security, role);
  nats_security::HubSecurity s;
  s.tls = {c.ca, c.cert, c.key};
  s.auth.user = c.user;
  s.auth.password_file = c.password_file;
  return s;
}

std::vector<HubAddress> fleetHubs(const fleet::Fleet& f, const std::vector<HubAddress>& given,
                                  const nats_security::HubSecurity& security, const std::string& role) {
  std::vector<HubAddress> hubs = given;
  if (hubs.empty()) {
    for (const fleet::Machine& m : f.machines) {
      if (!m.hub.urls.empty()) hubs.push_back({m.hub.name, m.hub.urls.front(), {}});
    }
  }
  const nats_security::HubSecurity fallback = security.empty() ? fleetSecurity(f, role) : security;
  for (HubAddress& hub : hubs) {
    if (hub.security.empty()) hub.security = fallback;
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
                                                   const nats_security::HubSecurity& security, const std::string& role) {
  if (fleet_path.empty()) {
    if (!hubs.empty()) return hubs;
    std::fprintf(stderr, "twinhubctl: no hubs: pass --hub NAME=URL (repeated) or -f FLEET\n");
    return std::nullopt;
  }
  std::optional<fleet::Fleet> f = loadFleetOrSay(fleet_path);
  if (!f) return std::nullopt;
  std::vector<HubAddress> resolved = fleetHubs(*f, hubs, security, role);
  if (resolved.empty()) {
    std::fprintf(stderr, "twinhubctl: %s names no hub\n", fleet_path.c_str());
    return std::nullopt;
  }
  return resolved;
}

}  // namespace twinhub::ctl
