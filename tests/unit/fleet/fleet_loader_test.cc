// The fleet loader and validator: every kind of problem at its FILE:LINE:COL, named by agent,
// all at once; defaults and derived ports of a valid fleet.
#include "fleet/fleet_loader.h"

#include <catch2/catch.hpp>

#include "fleet/ports.h"
#include "fleet_test_util.h"

namespace twinhub::fleet::test {
namespace {

TEST_CASE("FleetLoader: a valid fleet loads with the documented defaults and derived ports", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140, deps: [B]}
  - {name: B, machine: pc2, port: 7141, health: tcp}
  - {name: C, machine: pc2, port: 7142, health: http, health_path: /ready, agent_port: 7300, metrics_port: 7400, replicas: [mainpc]}
batches:
  - {name: first, agents: [A]}
  - {agents: [B, C]}
)";
  const FleetLoadResult r = load(text);
  INFO(dump(errorsOf(r)));
  REQUIRE(r.ok());
  const Fleet& f = r.fleet;
  REQUIRE(f.agents.size() == 3);
  REQUIRE(f.batches.size() == 2);
  CHECK(f.batches[1].name == "batch 2");

  const AgentPorts a = portsOf(f.agents[0], f.layout);
  CHECK(a.front == 7140);
  CHECK(a.agent == 17140);    // port + agent_port_offset 10000
  CHECK(a.health == 8140);    // port + 1000, the agents' convention
  CHECK(a.metrics == 9140);   // port + metrics_port_offset 2000
  const AgentPorts b = portsOf(f.agents[1], f.layout);
  CHECK(b.health == b.agent);  // a tcp probe connects to the moved agent itself
  const AgentPorts c = portsOf(f.agents[2], f.layout);
  CHECK(c.agent == 7300);
  CHECK(c.metrics == 7400);
  CHECK(placementsOf(f.agents[2]) == std::vector<std::string>{"pc2", "mainpc"});

  // Without `prefer`, a machine's own hub comes first, then the others in file order.
  const std::vector<const Hub*> hubs = f.hubsFor(f.machines[1]);
  REQUIRE(hubs.size() == 2);
  CHECK(hubs[0]->name == "central");
  CHECK(hubs[1]->name == "edge");

  CHECK(f.thresholds.soak_s == 30);
  CHECK(f.thresholds.provisional_deadline_s == 60);
  CHECK(f.layout.state_dir == "/var/lib/twinhub");

  // A depends on B, which migrates a batch later: a warning at the dependency, not an error.
  const std::vector<std::string> warnings = warningsOf(r);
  REQUIRE(warnings.size() == 1);
  CHECK(hasLine(warnings, at(text, "B]}") + "warning: ", {"'A'", "'B'", "migrates later", "batch 2"}));
}

TEST_CASE("FleetLoader: an agent in two batches is an error at the second listing naming the first", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
  - {name: B, machine: pc2, port: 7141}
batches:
  - {name: one, agents: [A, B]}
  - {name: two, agents: [B]}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, at(text, "B]", 1), {"agent 'B'", "batch 2 (two)", "already in batch 1 (one)", place(text, "B]")}));
}

TEST_CASE("FleetLoader: an agent listed twice in one batch is an error", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
batches:
  - {agents: [A, A]}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, at(text, "A]"), {"agent 'A' is listed twice in batch 1"}));
}

TEST_CASE("FleetLoader: an agent in no batch is an error unless it says migrate: false", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
  - {name: B, machine: pc2, port: 7141}
  - {name: C, machine: pc2, port: 7142, migrate: false}
batches:
  - {agents: [A]}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, at(text, "{name: B"), {"agent 'B' is in no batch", "migrate: false"}));
}

TEST_CASE("FleetLoader: a batch naming an unknown agent or one that does not migrate is an error", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
  - {name: C, machine: pc2, port: 7142, migrate: false}
batches:
  - {agents: [A, Nobody, C]}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 2);
  CHECK(hasLine(errors, at(text, "Nobody"), {"agent 'Nobody'", "not under agents"}));
  CHECK(hasLine(errors, at(text, "C]"), {"agent 'C'", "migrate: false"}));
}

TEST_CASE("FleetLoader: a port used twice on one machine is an error naming both agents and places", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
  - {name: B, machine: pc2, port: 7140}
  - {name: C, machine: mainpc, port: 7140}
batches:
  - {agents: [A, B, C]}
)";
  const auto errors = errorsOf(load(text));
  // Every one of B's four ports clashes with A's; C is on another machine.
  REQUIRE(errors.size() == 4);
  CHECK(hasLine(errors, at(text, "7140", 1),
                {"port 7140 on machine 'pc2'", "agent 'B' port", "agent 'A' port", place(text, "7140")}));
  CHECK(hasLine(errors, at(text, "7140", 1), {"port 17140", "agent 'B' agent port", "agent 'A' agent port"}));
  CHECK(hasLine(errors, at(text, "7140", 1), {"port 8140", "health port"}));
  CHECK(hasLine(errors, at(text, "7140", 1), {"port 9140", "metrics port"}));
}

TEST_CASE("FleetLoader: a health port on another agent's port is a clash at the health port", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
  - {name: B, machine: pc2, port: 7150, health_port: 7140}
batches:
  - {agents: [A, B]}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, at(text, "7140}", 1), {"port 7140", "agent 'B' health port", "agent 'A' port"}));
}

TEST_CASE("FleetLoader: a derived agent or metrics port that lands on another agent's port is a clash", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
  - {name: B, machine: pc2, port: 17140, health_port: 5000, metrics_port: 5001, agent_port: 5002}
  - {name: C, machine: pc2, port: 7200, metrics_port: 8140}
batches:
  - {agents: [A, B, C]}
)";
  const auto errors = errorsOf(load(text));
  INFO(dump(errors));
  REQUIRE(errors.size() == 2);
  CHECK(hasLine(errors, at(text, "17140"), {"port 17140", "agent 'B' port", "agent 'A' agent port"}));
  CHECK(hasLine(errors, at(text, "8140}"), {"port 8140", "agent 'C' sidecar metrics port", "agent 'A' health port"}));
}

TEST_CASE("FleetLoader: a derived port above 65535 is an error naming the agent", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 60000, health_port: 1000, metrics_port: 1001}
batches:
  - {agents: [A]}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, at(text, "60000"), {"agent 'A' agent port", "70000", "above 65535"}));
}

TEST_CASE("FleetLoader: an agent on its machine's hub port is a clash, replicas are checked on their machine",
          "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 4223}
  - {name: B, machine: mainpc, port: 7140}
  - {name: C, machine: pc2, port: 7140, replicas: [mainpc]}
batches:
  - {agents: [A, B, C]}
)";
  const auto errors = errorsOf(load(text));
  INFO(dump(errors));
  CHECK(hasLine(errors, at(text, "4223}", 1),
                {"port 4223", "agent 'A' port", "hub 'edge' client port", place(text, "{name: edge")}));
  CHECK(hasLine(errors, at(text, "7140", 1), {"port 7140 on machine 'mainpc'", "agent 'C' port", "agent 'B' port"}));
  CHECK(errors.size() == 5);  // A's front; C's four ports on mainpc
}

TEST_CASE("FleetLoader: a dependency on an unknown agent is an error, on an external service it is not", "[unit]") {
  const std::string text = kMachines + R"(externals:
  - {name: ObservabilityHub, note: replaced by the hubs}
agents:
  - {name: A, machine: pc2, port: 7140, deps: [ObservabilityHub, Ghost, A]}
batches:
  - {agents: [A]}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 2);
  CHECK(hasLine(errors, at(text, "Ghost"), {"agent 'A' depends on 'Ghost'", "neither an agent nor under externals"}));
  CHECK(hasLine(errors, at(text, "A]"), {"agent 'A' depends on itself"}));
}

TEST_CASE("FleetLoader: unknown machines and hubs are errors at the reference", "[unit]") {
  const std::string text = R"(machines:
  - name: pc2
    hub: {name: edge, url: nats://127.0.0.1:4223}
    prefer: [edge, nowhere, edge]
agents:
  - {name: A, machine: pc3, port: 7140}
  - {name: B, machine: pc2, port: 7150, replicas: [pc9, pc2]}
batches:
  - {agents: [A, B]}
)";
  const auto errors = errorsOf(load(text));
  INFO(dump(errors));
  REQUIRE(errors.size() == 5);
  CHECK(hasLine(errors, at(text, "nowhere"), {"machine 'pc2' prefers hub 'nowhere'", "no machine runs"}));
  CHECK(hasLine(errors, at(text, "edge]"), {"lists hub 'edge' twice"}));
  CHECK(hasLine(errors, at(text, "pc3"), {"agent 'A' is on machine 'pc3'", "not under machines"}));
  CHECK(hasLine(errors, at(text, "pc9"), {"agent 'B' has a replica on machine 'pc9'"}));
  CHECK(hasLine(errors, at(text, "pc2]"), {"agent 'B' is placed on machine 'pc2' twice"}));
}

TEST_CASE("FleetLoader: names defined twice are errors naming the first definition", "[unit]") {
  const std::string text = R"(machines:
  - name: pc2
    hub: {name: edge, url: nats://127.0.0.1:4223}
  - name: pc2
    hub: {name: edge, url: nats://127.0.0.1:4224}
externals:
  - {name: A}
agents:
  - {name: A, machine: pc2, port: 7140}
  - {name: A, machine: pc2, port: 7150}
batches:
  - {name: b, agents: [A]}
  - {name: b, agents: [A]}
)";
  const auto errors = errorsOf(load(text));
  INFO(dump(errors));
  CHECK(hasLine(errors, at(text, "name: pc2", 1), {"machine 'pc2' is defined twice", place(text, "name: pc2")}));
  CHECK(hasLine(errors, at(text, "{name: edge", 1), {"hub 'edge' is defined twice", place(text, "{name: edge")}));
  CHECK(hasLine(errors, at(text, "{name: A, machine: pc2, port: 7150"), {"agent 'A' is defined twice"}));
  CHECK(hasLine(errors, at(text, "{name: A}"), {"service 'A' is defined twice"}));
  CHECK(hasLine(errors, at(text, "{name: b", 1), {"batch 'b' is defined twice"}));
}

TEST_CASE("FleetLoader: wrong types and out-of-range values are errors at the value", "[unit]") {
  const std::string text = R"(machines:
  - name: pc 2
    hub: {name: edge, url: http://127.0.0.1:4223}
sidecars: {agent_port_offset: -5, health: udp, agent_host: example.com}
agents:
  - {name: A, machine: pc2, port: abc, health_port: 70000, health: smtp, deps: A, migrate: yes}
  - name: B
    machine: pc2
    port: 7150
    colour: blue
batches: {agents: [A]}
migration: {soak_s: -1, max_error_rate: 2, max_latency_ratio_p99: 0.5, min_samples: 1.5}
)";
  const auto errors = errorsOf(load(text));
  INFO(dump(errors));
  CHECK(hasLine(errors, at(text, "pc 2"), {"machine name 'pc 2' may hold only letters"}));
  CHECK(hasLine(errors, at(text, "http://"), {"url must be nats://host:port", "'http://127.0.0.1:4223'"}));
  CHECK(hasLine(errors, at(text, "-5"), {"sidecars.agent_port_offset must be a whole number from 1 to 65535", "'-5'"}));
  CHECK(hasLine(errors, at(text, "udp"), {"sidecars.health must be one of zmq, tcp, http", "'udp'"}));
  CHECK(hasLine(errors, at(text, "example.com"), {"sidecars.agent_host must be a numeric"}));
  CHECK(hasLine(errors, at(text, "abc"), {"agent 'A' port must be a whole number from 1 to 65535"}));
  CHECK(hasLine(errors, at(text, "70000"), {"agent 'A' health_port must be a whole number"}));
  CHECK(hasLine(errors, at(text, "smtp"), {"agent 'A' health must be one of zmq, tcp, http"}));
  CHECK(hasLine(errors, at(text, "A, migrate"), {"agent 'A' deps must be a list"}));
  CHECK(hasLine(errors, at(text, "yes"), {"agent 'A' migrate must be true or false"}));
  CHECK(hasLine(errors, at(text, "colour"), {"unknown key 'colour' in agent"}));
  CHECK(hasLine(errors, at(text, "{agents: [A]}"), {"batches must be a list"}));
  CHECK(hasLine(errors, at(text, "-1"), {"migration.soak_s must be a number from 0 to 86400"}));
  CHECK(hasLine(errors, at(text, "2, max_latency"), {"migration.max_error_rate must be a number from 0 to 1"}));
  CHECK(hasLine(errors, at(text, "0.5"), {"migration.max_latency_ratio_p99 must be a number from 1"}));
  CHECK(hasLine(errors, at(text, "1.5}"), {"migration.min_samples must be a whole number"}));
}

TEST_CASE("FleetLoader: required fields that are missing are errors at their mapping", "[unit]") {
  const std::string text = R"(machines:
  - {name: pc2}
agents:
  - {machine: pc2, port: 7140}
  - {name: B, port: 7141}
)";
  const auto errors = errorsOf(load(text));
  INFO(dump(errors));
  CHECK(hasLine(errors, at(text, "{name: pc2}"), {"machine 'pc2' needs 'hub'"}));
  CHECK(hasLine(errors, at(text, "{machine"), {"agent needs 'name'"}));
  CHECK(hasLine(errors, at(text, "{name: B"), {"agent 'B' needs 'machine'"}));
  CHECK(hasLine(errors, "fleet.yaml:1:1: ", {"the fleet file needs 'batches'"}));
}

TEST_CASE("FleetLoader: a provisional deadline that ends before flip + soak is an error", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
batches:
  - {agents: [A]}
migration: {soak_s: 20, flip_timeout_s: 5, provisional_deadline_s: 25}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, at(text, "25}"), {"provisional_deadline_s", "above flip_timeout_s + soak_s"}));
}

TEST_CASE("FleetLoader: a key given twice is an error naming both places", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - name: A
    machine: pc2
    port: 7140
    port: 7150
batches:
  - {agents: [A]}
)";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, at(text, "port: 7150"), {"key 'port' appears twice", place(text, "port: 7140")}));
}

TEST_CASE("FleetLoader: a second YAML document is an error where it starts", "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140}
batches:
  - {agents: [A]}
---
agents: []
)";
  const auto errors = errorsOf(load(text));
  INFO(dump(errors));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, at(text, "---"), {"a second YAML document"}));
}

TEST_CASE("FleetLoader: a YAML syntax error is reported at its position", "[unit]") {
  const std::string text = kMachines + "agents: [ {name: A\nbatches: ]\n";
  const auto errors = errorsOf(load(text));
  REQUIRE(errors.size() == 1);
  CHECK(hasLine(errors, "fleet.yaml:", {"YAML syntax"}));
}

TEST_CASE("FleetLoader: an empty file, a scalar file, a missing file and a directory are errors", "[unit]") {
  CHECK(hasLine(errorsOf(load("")), "fleet.yaml:1:1: ", {"empty"}));
  CHECK(hasLine(errorsOf(load("# only a comment\n")), "fleet.yaml:1:1: ", {"empty"}));
  CHECK(hasLine(errorsOf(load("hello\n")), "fleet.yaml:1:1: ", {"the fleet file must be a mapping"}));
  const FleetLoadResult missing = loadFleetFile("/nonexistent/fleet.yaml");
  CHECK(hasLine(errorsOf(missing), "/nonexistent/fleet.yaml:1:1: ", {"cannot read the file", "No such file"}));
  CHECK(hasLine(errorsOf(loadFleetFile("/tmp")), "/tmp:1:1: ", {"is a directory"}));
}

TEST_CASE("FleetLoader: the problem list stops at 50 lines and says how many more", "[unit]") {
  std::string text = kMachines + "agents:\n";
  for (int i = 0; i < 60; ++i) text += "  - {name: A" + std::to_string(i) + ", machine: pc2, port: 70000}\n";
  text += "batches: []\n";
  const FleetLoadResult r = load(text);
  // 60 bad ports, 60 agents in no batch and the empty batch list.
  CHECK(r.problems.count(Severity::kError) == 121);
  const auto errors = errorsOf(r);
  REQUIRE(errors.size() == 51);
  CHECK(errors.back() == "... and 71 more problems");
  // File order: the fleet-wide problem (1:1) first, then A0's line.
  CHECK(errors[0].rfind("fleet.yaml:1:1: the fleet has no batches", 0) == 0);
  CHECK(errors[1].rfind(at(text, "{name: A0"), 0) == 0);
}

TEST_CASE("FleetLoader: one file with a duplicate agent, an unknown dependency and a port clash names all three",
          "[unit]") {
  const std::string text = kMachines + R"(agents:
  - {name: A, machine: pc2, port: 7140, deps: [Missing]}
  - {name: B, machine: pc2, port: 7150, health_port: 7140}
batches:
  - {agents: [A, B]}
  - {agents: [A]}
)";
  const auto errors = errorsOf(load(text));
  INFO(dump(errors));
  REQUIRE(errors.size() == 3);
  CHECK(hasLine(errors, at(text, "Missing"), {"agent 'A' depends on 'Missing'"}));
  CHECK(hasLine(errors, at(text, "7140}"), {"port 7140", "agent 'B' health port"}));
  CHECK(hasLine(errors, at(text, "A]"), {"agent 'A' is in batch 2"}));
}

}  // namespace
}  // namespace twinhub::fleet::test

namespace twinhub::fleet::test {
namespace {

TEST_CASE("FleetLoader: a message quoting a huge value is cut, not printed whole", "[unit]") {
  const std::string huge(100000, 'x');
  const auto errors = errorsOf(load(kMachines + "agents:\n  - {name: A, machine: pc2, port: " + huge + "}\nbatches: []\n"));
  REQUIRE_FALSE(errors.empty());
  for (const std::string& line : errors) CHECK(line.size() < 600);
  CHECK(hasLine(errors, "fleet.yaml:7:", {"agent 'A' port must be a whole number", "more bytes)"}));
}

}  // namespace
}  // namespace twinhub::fleet::test
