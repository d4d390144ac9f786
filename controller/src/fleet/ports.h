// The ports an agent's sidecar layout derives (docs/fleet.md, "Ports"): one place for the rules,
// so that validation checks exactly what sidecar configs will use. Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "fleet/fleet.h"

namespace twinhub::fleet {

struct AgentPorts {
  uint32_t front = 0;    // the original port; the sidecar listens here
  uint32_t agent = 0;    // where the agent moved to
  uint32_t health = 0;   // the agent's health socket (tcp probes: the moved agent port by default)
  uint32_t metrics = 0;  // the sidecar's /metrics
};

HealthProtocol healthOf(const Agent& agent, const SidecarLayout& layout);
// Ports may come out above 65535 when an offset pushes them; validation reports that.
AgentPorts portsOf(const Agent& agent, const SidecarLayout& layout);

// The machines an agent runs on: its own, then its replicas'.
std::vector<std::string> placementsOf(const Agent& agent);

// "<machine>.<agent>", the sidecar id DESIGN.md gives.
inline std::string sidecarId(const std::string& machine, const std::string& agent) { return machine + "." + agent; }

}  // namespace twinhub::fleet
