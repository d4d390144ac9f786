#include "fleet/port_clash_checker.h"

#include <charconv>
#include <map>
#include <set>

#include "fleet/ports.h"

namespace twinhub::fleet {

namespace {

constexpr uint32_t kMaxPort = 65535;

struct PortUse {
  std::string owner;  // "agent 'X' health port", "hub 'edge'"
  SourcePos pos;
};

// The ports one agent binds on a machine, each with where it comes from in the file.
std::vector<std::pair<uint32_t, PortUse>> agentPortUses(const Agent& a, const SidecarLayout& layout) {
  if (a.port == 0) return {};  // its port did not read: derived ports would only add false clashes
  const AgentPorts p = portsOf(a, layout);
  const std::string who = "agent '" + a.name + "' ";
  std::vector<std::pair<uint32_t, PortUse>> uses = {
      {p.front, {who + "port (its sidecar's front)", a.port_pos}},
      {p.agent, {who + "agent port (where it moves to)", a.agent_port ? a.agent_port_pos : a.port_pos}},
      {p.metrics, {who + "sidecar metrics port", a.metrics_port ? a.metrics_port_pos : a.port_pos}},
  };
  // A tcp probe connecting to the agent itself shares its socket: one use, not a clash.
  if (p.health != p.agent || healthOf(a, layout) != HealthProtocol::kTcp) {
    uses.push_back({p.health, {who + "health port", a.health_port ? a.health_port_pos : a.port_pos}});
  }
  return uses;
}

// The port of a nats://host:port url, 0 when there is none (already reported by the loader).
uint32_t urlPort(const std::string& url) {
  const size_t colon = url.rfind(':');
  uint32_t port = 0;
  if (colon != std::string::npos) std::from_chars(url.data() + colon + 1, url.data() + url.size(), port);
  return port;
}

class MachinePorts {
 public:
  MachinePorts(std::string machine, ProblemList& problems) : machine_(std::move(machine)), problems_(problems) {}

  void use(uint32_t port, const PortUse& use) {
    if (port == 0) return;  // a value that failed to read; reported where it was read
    if (port > kMaxPort) {
      problems_.error(use.pos, use.owner + " on machine '" + machine_ + "' comes out as " + std::to_string(port) +
                                   ", above " + std::to_string(kMaxPort) + "; set it explicitly");
      return;
    }
    auto [it, inserted] = used_.emplace(port, use);
    if (!inserted) {
      problems_.error(use.pos, "port " + std::to_string(port) + " on machine '" + machine_ + "': " + use.owner +
                                   " clashes with " + it->second.owner + " (at " +
                                   where(problems_.file(), it->second.pos) + ")");
    }
  }

 private:
  std::string machine_;
  ProblemList& problems_;
  std::map<uint32_t, PortUse> used_;
};

}  // namespace

void checkPorts(const Fleet& fleet, ProblemList& problems) {
  std::map<std::string, MachinePorts> machines;
  for (const Machine& m : fleet.machines) {
    MachinePorts& ports = machines.try_emplace(m.name, m.name, problems).first->second;
    // Only the first url: the others of a clustered hub may well be on other hosts.
    if (!m.hub.urls.empty()) ports.use(urlPort(m.hub.urls.front()), {"hub '" + m.hub.name + "' client port", m.hub.pos});
  }
  for (const Agent& a : fleet.agents) {
    // A machine named twice (a replica on the agent's own machine) is reported by the validator.
    const std::vector<std::string> placements = placementsOf(a);
    const std::set<std::string> machines_of_agent(placements.begin(), placements.end());
    for (const std::string& machine : machines_of_agent) {
      auto it = machines.find(machine);
      if (it == machines.end()) continue;  // an unknown machine, reported by the validator
      for (const auto& [port, use] : agentPortUses(a, fleet.layout)) it->second.use(port, use);
    }
  }
}

}  // namespace twinhub::fleet
