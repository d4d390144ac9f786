// The fleet table of `twinhubctl status` and its exit status, from an Aggregate (pure: no I/O,
// unit-tested). Any thread.
#pragma once

#include <string>

#include "health_wire/aggregate.h"

namespace twinhub::ctl {

// Exit statuses of twinhubctl (listed in --help).
inline constexpr int kExitOk = 0;
inline constexpr int kExitUnhealthy = 1;   // an agent down, a sidecar lost or a machine partitioned
inline constexpr int kExitUsage = 2;
inline constexpr int kExitNoHub = 3;       // no hub reachable
inline constexpr int kExitNothingHeard = 4;  // hubs reachable, but no heartbeat heard

// machine, service, sidecar, mode, generation, hub in use, agent, heartbeat age, sync latency;
// then the hubs, the leaf link, partitions and open alerts.
std::string renderStatusTable(const health::Aggregate& aggregate, const std::string& source);
int statusExitCode(const health::Aggregate& aggregate);

}  // namespace twinhub::ctl
