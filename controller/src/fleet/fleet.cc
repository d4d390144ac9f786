#include "fleet/fleet.h"

#include "fleet/ports.h"

namespace twinhub::fleet {

const char* healthProtocolName(HealthProtocol protocol) {
  switch (protocol) {
    case HealthProtocol::kTcp: return "tcp";
    case HealthProtocol::kHttp: return "http";
    case HealthProtocol::kZmq: break;
  }
  return "zmq";
}

namespace {
template <typename T>
const T* findByName(const std::vector<T>& items, const std::string& name) {
  for (const T& item : items) {
    if (item.name == name) return &item;
  }
  return nullptr;
}
}  // namespace

const Machine* Fleet::findMachine(const std::string& name) const { return findByName(machines, name); }
const Agent* Fleet::findAgent(const std::string& name) const { return findByName(agents, name); }
const External* Fleet::findExternal(const std::string& name) const { return findByName(externals, name); }

const Hub* Fleet::findHub(const std::string& name) const {
  for (const Machine& m : machines) {
    if (m.hub.name == name) return &m.hub;
  }
  return nullptr;
}

std::vector<const Hub*> Fleet::hubsFor(const Machine& machine) const {
  std::vector<const Hub*> out;
  for (const NamedRef& ref : machine.prefer) {
    if (const Hub* hub = findHub(ref.name)) out.push_back(hub);
  }
  if (!machine.prefer.empty()) return out;
  out.push_back(&machine.hub);
  for (const Machine& other : machines) {
    if (&other != &machine) out.push_back(&other.hub);
  }
  return out;
}

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
