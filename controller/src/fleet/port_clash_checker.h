// Port checks per machine: every port a machine's agents and sidecars bind (the front on the
// original port, the moved agent, its health socket, the sidecar's /metrics) and its hub's
// client port, after the layout's derivations (ports.h), must be in range and used once.
// Pure; any thread.
#pragma once

#include "fleet/fleet.h"
#include "fleet/problem_list.h"

namespace twinhub::fleet {

void checkPorts(const Fleet& fleet, ProblemList& problems);

}  // namespace twinhub::fleet
