#include "fleet/ports.h"

namespace twinhub::fleet {

HealthProtocol healthOf(const Agent& agent, const SidecarLayout& layout) { return agent.health.value_or(layout.health); }

AgentPorts portsOf(const Agent& agent, const SidecarLayout& layout) {
  AgentPorts p;
  p.front = agent.port;
  p.agent = agent.agent_port.value_or(agent.port + layout.agent_port_offset);
  // A tcp probe needs no health socket: by default it connects to the agent itself.
  const uint32_t default_health =
      healthOf(agent, layout) == HealthProtocol::kTcp ? p.agent : agent.port + layout.health_port_offset;
  p.health = agent.health_port.value_or(default_health);
  p.metrics = agent.metrics_port.value_or(agent.port + layout.metrics_port_offset);
  return p;
}

std::vector<std::string> placementsOf(const Agent& agent) {
  std::vector<std::string> out{agent.machine.name};
  for (const NamedRef& r : agent.replicas) out.push_back(r.name);
  return out;
}

}  // namespace twinhub::fleet
