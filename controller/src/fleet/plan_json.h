// The plan as JSON for scripts (`twinhubctl plan --json`): validity, every error and warning with
// its position, and, when valid, the machines, thresholds and batches with each agent's ports.
// The shape is documented in docs/fleet.md ("plan --json"). Pure; any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>

#include "fleet/fleet_loader.h"

namespace twinhub::fleet {

nlohmann::ordered_json planJson(const FleetLoadResult& loaded);
// planJson() as text. Values quoted from the file may be invalid UTF-8: such bytes become U+FFFD
// (the default dump would throw).
std::string planJsonText(const FleetLoadResult& loaded);

}  // namespace twinhub::fleet
