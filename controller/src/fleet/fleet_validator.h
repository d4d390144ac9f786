// Checks a loaded Fleet as a whole (what no single value shows): names defined once, references
// that resolve, ports unique per machine after the sidecar layout's derivations, every migrated
// agent in exactly one batch. Errors and warnings go to the list at the position of the later or
// referring value, naming the other place. Pure; any thread.
#pragma once

#include "fleet/fleet.h"
#include "fleet/problem_list.h"

namespace twinhub::fleet {

void validateFleet(const Fleet& fleet, ProblemList& problems);

}  // namespace twinhub::fleet
