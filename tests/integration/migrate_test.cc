// twinhubctl migrate and rollback end to end (issue 9): a small fleet of real agent-sims, each
// behind the sidecar `twinhubctl sidecar-config` generates for it, moves onto two real hubs batch
// by batch under continuous ZeroMQ load (twinhub-zmq-load), with nothing lost and every request
// served once; an agent slowed during the soak makes its batch roll back by itself; a second
// controller is refused while the first holds the lease; rollback --all puts everything back.
//
// Ports: the fleet file fixes them (front P, agent P+10000, health P+1000, metrics P+2000), so
// the test picks a random base in a high range. 127.0.0.1 only.
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "support/hub_fixtures.h"
#include "support/process.h"
#include "support/zmq_client.h"

namespace twinhub::test {
namespace {

using json = nlohmann::json;

struct FleetAgent {
  std::string name;
  int port;
  int batch;
};

std::string fleetYaml(HubPair& hubs, const std::string& state_dir, const std::vector<FleetAgent>& agents,
                      int batches, double soak_s) {
  std::string y = "version: 1\nmachines:\n";
  y += "  - {name: mainpc, address: 127.0.0.1, hub: {name: central, url: \"" + hubs.central().url() + "\"}}\n";
  y += "  - {name: pc2, address: 127.0.0.1, hub: {name: edge, url: \"" + hubs.edge().url() + "\"}, prefer: [edge, central]}\n";
  y += "sidecars: {state_dir: \"" + state_dir + "\", listen_host: 127.0.0.1, probe_interval_ms: 100, probe_timeout_ms: 200}\n";
  y += "migration: {soak_s: " + std::to_string(soak_s) +
       ", baseline_window_s: 1.5, min_samples: 10, max_latency_ratio_p99: 1.5, max_error_rate: 0, flip_timeout_s: 5, "
       "provisional_deadline_s: 30}\n";
  y += "agents:\n";
  for (const FleetAgent& a : agents) {
    y += "  - {name: " + a.name + ", machine: pc2, port: " + std::to_string(a.port) +
         ", health_port: " + std::to_string(a.port + 1000) + ", deps: []}\n";
  }
  y += "batches:\n";
  for (int b = 1; b <= batches; ++b) {
    y += "  - name: b" + std::to_string(b) + "\n    agents: [";
    bool first = true;
    for (const FleetAgent& a : agents) {
      if (a.batch != b) continue;
      y += (first ? "" : ", ") + a.name;
      first = false;
    }
    y += "]\n";
  }
  return y;
}

// One agent-sim and the sidecar generated for it.
struct Placed {
  std::unique_ptr<Process> agent;
  std::unique_ptr<SidecarFixture> sidecar;
};

class SmallFleet {
 public:
  SmallFleet(int agents_per_batch, int batches, double soak_s) {
    REQUIRE(hubs.waitLeafUp(10s));
    std::mt19937 rng(std::random_device{}());
    const int base = 20000 + static_cast<int>(rng() % 400) * 10;  // front P, P+1000, P+2000, P+10000
    for (int b = 1; b <= batches; ++b) {
      for (int i = 0; i < agents_per_batch; ++i) {
        agents.push_back({"Agent" + std::to_string(b) + std::to_string(i), base + static_cast<int>(agents.size()), b});
      }
    }
    fleet_path = dir.write("fleet.yaml", fleetYaml(hubs, dir.path() + "/state", agents, batches, soak_s));
    for (const FleetAgent& a : agents) place(a);
  }

  void place(const FleetAgent& a) {
    Placed p;
    p.agent = std::make_unique<Process>(binPath("twinhub-agent-sim"),
                                        std::vector<std::string>{"--name", a.name, "--port", std::to_string(a.port + 10000),
                                                                 "--health-port", std::to_string(a.port + 1000)});
    REQUIRE(!p.agent->waitForOutput(R"(serving on (\S+))", kStartTimeout).empty());
    Process gen(binPath("twinhubctl"), {"sidecar-config", "-f", fleet_path, "--agent", a.name});
    REQUIRE(gen.wait(10s) == 0);
    p.sidecar = std::make_unique<SidecarFixture>(gen.output());
    REQUIRE(p.sidecar->waitReady(1, true, kStartTimeout));
    REQUIRE(!p.sidecar->waitLog("serving \\S+ through the hubs", kStartTimeout).empty());
    placed.push_back(std::move(p));
  }

  std::vector<std::string> hubArgs() {
    return {"--hub", "edge=" + hubs.edge().url(), "--hub", "central=" + hubs.central().url()};
  }

  // {served, unique_request_ids, duplicates, ...} of agent i.
  json stats(size_t i) {
    zmq::context_t context;
    zmq::socket_t socket = reqSocket(context, "127.0.0.1:" + std::to_string(agents[i].port + 1000), 3000);
    std::optional<json> reply = call(socket, {{"action", "sim_stats"}});
    REQUIRE(reply.has_value());
    return *reply;
  }
  bool setLatency(size_t i, int ms) {
    zmq::context_t context;
    zmq::socket_t socket = reqSocket(context, "127.0.0.1:" + std::to_string(agents[i].port + 1000), 3000);
    std::optional<json> reply = call(socket, {{"action", "sim_set"}, {"latency_ms", ms}});
    return reply && reply->value("ok", false);
  }
  std::string logs() {
    std::string out;
    for (Placed& p : placed) out += p.sidecar->output().substr(0, 4000) + "\n";
    return out;
  }

  HubPair hubs;
  TempDir dir;
  std::vector<FleetAgent> agents;
  std::string fleet_path;
  std::vector<Placed> placed;
};

// Whether migrate --json printed an event with `step` for `batch`.
bool hasEvent(const std::string& output, const std::string& step, int batch) {
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    const json event = json::parse(line, nullptr, false);
    if (event.is_object() && event.value("step", "") == step && event.value("batch", -1) == batch) return true;
  }
  return false;
}

// Continuous load on every agent's front: one REQ client each, a request every 5 ms.
std::vector<std::unique_ptr<Process>> startLoad(SmallFleet& fleet, int requests) {
  std::vector<std::unique_ptr<Process>> load;
  for (const FleetAgent& a : fleet.agents) {
    load.push_back(std::make_unique<Process>(
        binPath("twinhub-zmq-load"),
        std::vector<std::string>{"--connect", "127.0.0.1:" + std::to_string(a.port), "--clients", "1", "--requests",
                                 std::to_string(requests), "--pause-ms", "5", "--timeout-ms", "5000"}));
  }
  return load;
}

}  // namespace

TEST_CASE("Migrate: a small fleet moves batch by batch under ZeroMQ load, nothing lost or served twice, "
          "a second controller is refused, rollback --all puts it back",
          "[integration]") {
  SmallFleet fleet(2, 2, 1.5);
  auto load = startLoad(fleet, 2000);  // ~10 s at 5 ms a request, longer than the migration
  std::this_thread::sleep_for(500ms);

  std::vector<std::string> args = fleet.hubArgs();
  for (const char* a : {"migrate", "-f", "", "--json"}) args.push_back(a);
  args[args.size() - 2] = fleet.fleet_path;
  Process migrate(binPath("twinhubctl"), args);
  // A second controller while the first holds the lease.
  std::this_thread::sleep_for(1500ms);
  std::vector<std::string> second_args = fleet.hubArgs();
  for (const std::string& a : {std::string("migrate"), std::string("-f"), fleet.fleet_path, std::string("--dry-run")}) {
    second_args.push_back(a);
  }
  Process second(binPath("twinhubctl"), second_args);
  const std::optional<int> second_status = second.wait(30s);
  const std::optional<int> status = migrate.wait(90s);
  INFO("migrate output:\n" << migrate.output() << "\nsecond controller:\n" << second.output() << "\nsidecars:\n"
                           << fleet.logs());
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(second_status == 6);
  CHECK(second.output().find("holds the lease") != std::string::npos);
  CHECK(hasEvent(migrate.output(), "confirmed", 1));
  CHECK(hasEvent(migrate.output(), "confirmed", 2));
  for (Placed& p : fleet.placed) {
    CHECK(p.sidecar->metric("twinhub_mode", R"(mode="hub")") == 1);
    CHECK(p.sidecar->metric("twinhub_applied_generation") >= 1);
  }

  for (auto& l : load) {
    const std::optional<int> done = l->wait(60s);
    INFO("load output:\n" << l->output());
    CHECK(done == 0);  // every request answered with its own id
    CHECK(l->output().find("failed 0") != std::string::npos);
  }
  for (size_t i = 0; i < fleet.agents.size(); ++i) {
    json s = fleet.stats(i);
    INFO(s.dump());
    CHECK(s.value("duplicates", -1) == 0);
    CHECK(s.value("served", 0) == 2000);
  }

  std::vector<std::string> back = fleet.hubArgs();
  for (const std::string& a : {std::string("rollback"), std::string("-f"), fleet.fleet_path, std::string("--all")}) {
    back.push_back(a);
  }
  Process rollback(binPath("twinhubctl"), back);
  CHECK(rollback.wait(30s) == 0);
  for (Placed& p : fleet.placed) CHECK(p.sidecar->metric("twinhub_mode", R"(mode="direct")") == 1);
}

TEST_CASE("Migrate: an agent slowed during the soak makes its batch roll back by itself, and says why",
          "[integration]") {
  SmallFleet fleet(2, 1, 3.0);
  auto load = startLoad(fleet, 1200);
  std::this_thread::sleep_for(500ms);
  std::vector<std::string> args = fleet.hubArgs();
  for (const std::string& a : {std::string("migrate"), std::string("-f"), fleet.fleet_path, std::string("--json")}) {
    args.push_back(a);
  }
  Process migrate(binPath("twinhubctl"), args);
  // Slow one agent once the flip is in: the soak sees it, the baseline did not.
  const bool flipped = !migrate.waitForOutput(R"("step":"flipped")", 30s).empty();
  REQUIRE(flipped);
  REQUIRE(fleet.setLatency(0, 60));
  const std::optional<int> status = migrate.wait(60s);
  INFO("migrate output:\n" << migrate.output() << "\nsidecars:\n" << fleet.logs());
  REQUIRE(status.has_value());
  CHECK(*status == 4);
  CHECK(migrate.output().find(R"("figure":"latency_p99")") != std::string::npos);
  CHECK(hasEvent(migrate.output(), "rolled_back", 1));
  for (Placed& p : fleet.placed) CHECK(p.sidecar->metric("twinhub_mode", R"(mode="direct")") == 1);
  fleet.setLatency(0, 0);
  for (auto& l : load) CHECK(l->wait(60s) == 0);
}

}  // namespace twinhub::test
