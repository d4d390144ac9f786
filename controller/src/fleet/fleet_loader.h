// Reads a fleet file (docs/fleet.md) into a Fleet, then validates it (fleet_validator.h).
// Every problem of the file comes back at once, each at its FILE:LINE:COL; a fleet with errors
// is not to be used. Any thread; no shared state.
#pragma once

#include <string>

#include "fleet/fleet.h"
#include "fleet/problem_list.h"

namespace twinhub::fleet {

struct FleetLoadResult {
  Fleet fleet;
  ProblemList problems;
  bool ok() const { return !problems.hasErrors(); }
};

// `source_name` names the text in messages (usually its path).
FleetLoadResult loadFleetText(const std::string& text, const std::string& source_name);
FleetLoadResult loadFleetFile(const std::string& path);

}  // namespace twinhub::fleet
