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

// Every machine's hub (its first URL), in the order the machines are listed.
// Each gets `security`: the controller's TLS files and credentials.
std::vector<HubAddress> fleetHubs(const fleet::Fleet& f, const nats_security::HubSecurity& security = {});

// The fleet of `path`, or nullopt after printing its errors (FILE:LINE:COL) on stderr.
std::optional<fleet::Fleet> loadFleetOrSay(const std::string& path);

// `hubs` when not empty; else the hubs of the fleet file at `fleet_path` (nullopt, said on
// stderr, when the file is invalid or names no hub); else nullopt with "no hubs" said.
std::optional<std::vector<HubAddress>> resolveHubs(const std::vector<HubAddress>& hubs, const std::string& fleet_path,
                                                   const nats_security::HubSecurity& security = {});

}  // namespace twinhub::ctl
