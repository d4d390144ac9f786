// The hubs a command talks to: `--hub NAME=URL` when given, else every machine's hub from the
// fleet file (`-f FLEET`), in the fleet's order. Shared by migrate, rollback, status and
// health watch, so that one fleet file is all an operator passes.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "fleet/fleet.h"
#include "nats/hub_link.h"

namespace twinhub::ctl {

// What `role` (controller, aggregator) presents to the hubs of `f` under its `security:` section;
// empty when the fleet's hubs are plain.
nats_security::HubSecurity fleetSecurity(const fleet::Fleet& f, const std::string& role);

// `given` (--hub) when not empty, else every machine's hub (its first URL) in the order the
// machines are listed. A hub without TLS files and credentials of its own gets `security` (the
// --hub-* options) or, when none were given, the fleet's for `role`.
std::vector<HubAddress> fleetHubs(const fleet::Fleet& f, const std::vector<HubAddress>& given,
                                  const nats_security::HubSecurity& security, const std::string& role);

// The fleet of `path`, or nullopt after printing its errors (FILE:LINE:COL) on stderr.
std::optional<fleet::Fleet> loadFleetOrSay(const std::string& path);

// fleetHubs of the fleet file at `fleet_path` (nullopt, said on stderr, when the file is invalid
// or names no hub); without a fleet file, `hubs` as given (nullopt with "no hubs" said if none).
std::optional<std::vector<HubAddress>> resolveHubs(const std::vector<HubAddress>& hubs, const std::string& fleet_path,
                                                   const nats_security::HubSecurity& security, const std::string& role);

}  // namespace twinhub::ctl
