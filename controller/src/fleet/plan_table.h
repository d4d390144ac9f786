// The plan as a table for people: the machines and their hubs, the thresholds, then each batch
// with its agents' ports and dependencies, in migration order. Pure; any thread.
#pragma once

#include <string>

#include "fleet/fleet.h"

namespace twinhub::fleet {

// Expects a fleet that validated without errors.
std::string planTable(const Fleet& fleet);

}  // namespace twinhub::fleet
