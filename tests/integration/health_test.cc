// Fleet health end to end: real hubs (HubPair), a real agent-sim, real sidecars on two "machines"
// (pc2 serving agent A, mainpc fronting it in direct mode with the hubs configured) and a real
// aggregator (twinhubctl health watch). Each test breaks one thing and waits for the alert the
// aggregator prints (the same JSON it publishes on health.alerts), with a deadline, and prints
// the detection delay it saw. 127.0.0.1 only, ports 0.
#include <nats/nats.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <zmq.hpp>

#include "net_tools/tcp_relay.h"
#include "support/hub_fixtures.h"
#include "support/nats_hubs.h"
#include "support/process.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/zmq_client.h"

namespace twinhub::test {
namespace {

using json = nlohmann::json;
using net::TcpRelay;
constexpr auto kStartTimeout = 15s;
// Patience on a loaded machine, well above the targets (docs/health.md); delays are printed.
constexpr auto kAlertTimeout = 8s;
constexpr int kIntervalMs = 250;

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// `central_url`: where this sidecar reaches central ("" = directly).
std::string hubsYaml(HubPair& hubs, const std::string& central_url = "") {
  return "hubs:\n  - {name: edge, url: \"" + hubs.edge().url() + "\"" + hubSecurityYaml(hubs.edge(), "sidecar") +
         "}\n  - {name: central, url: \"" + (central_url.empty() ? hubs.central().url() : central_url) + "\"" +
         hubSecurityYaml(hubs.central(), "sidecar") + "}\nhub_options: {probe_interval_ms: 100, suspect_after_ms: 350}\n" +
         "health: {interval_ms: " + std::to_string(kIntervalMs) + "}\nmetrics: 127.0.0.1:0\n";
}

class HealthFleet {
 public:
  // With `leaf_relay`, edge joins central through a TcpRelay the test can cut; with
  // `pc2_central_relay`, so does pc2's sidecar's connection to central.
  explicit HealthFleet(bool leaf_relay = false, bool pc2_central_relay = false)
      : hubs_(leaf_relay ? std::function<std::string(int)>([this](int leaf) {
          relay_ = std::make_unique<TcpRelay>("127.0.0.1:" + std::to_string(leaf));
          return "127.0.0.1:" + std::to_string(relay_->port());
        })
                         : std::function<std::string(int)>()),
        agent_(binPath("twinhub-agent-sim"), {"--name", "A", "--port", "0"}) {
    agent_address_ = agent_.waitForOutput(R"(serving on (\S+) health \S+)", kStartTimeout);
    agent_health_ = agent_.waitForOutput(R"(serving on \S+ health (\S+))", kStartTimeout);
    REQUIRE(!agent_health_.empty());
    std::string pc2_central;
    if (pc2_central_relay) {
      pc2_relay_ = std::make_unique<TcpRelay>("127.0.0.1:" + std::to_string(hubs_.central().clientPort()));
      REQUIRE(pc2_relay_->port() != 0);
      pc2_central = "nats://127.0.0.1:" + std::to_string(pc2_relay_->port());
    }
    pc2_ = std::make_unique<SidecarFixture>(
        "sidecar: {id: pc2.A, machine: pc2}\nmode: hub\n" + hubsYaml(hubs_, pc2_central) + "serve:\n  service: A\n  address: " +
        agent_address_ + "\n  probe: {type: zmq, address: " + agent_health_ +
        ", interval_ms: 100, timeout_ms: 200, rise: 1, fall: 2}\n");
    mainpc_ = std::make_unique<SidecarFixture>("sidecar: {id: mainpc.front, machine: mainpc}\nmode: direct\n" +
                                               hubsYaml(hubs_) + "fronts:\n  - {listen: 127.0.0.1:0, service: A, direct: " +
                                               agent_address_ + "}\n");
    INFO("pc2:\n" << pc2_->output() << "\nmainpc:\n" << mainpc_->output());
    REQUIRE(pc2_->waitReady(0, true, kStartTimeout));
    REQUIRE(mainpc_->waitReady(1, true, kStartTimeout));
    startAggregator();
  }

  // Starts (or restarts, under the same observer name) the aggregator; waits until it hears
  // `healthy` sidecars with their agents ok.
  void startAggregator(int healthy = 2) {
    aggregator_.reset();
    std::vector<std::string> args = ctlSecurityArgs(hubs_.edge(), "aggregator");
    args.insert(args.end(), {"--hub", "edge=" + hubs_.edge().url(), "--hub", "central=" + hubs_.central().url(), "health",
                             "watch", "--observer", "test", "--metrics", "127.0.0.1:0"});
    aggregator_ = std::make_unique<Process>(binPath("twinhubctl"), args);
    metrics_ = aggregator_->waitForOutput(R"(metrics on http://(\S+)/metrics)", kStartTimeout);
    INFO("aggregator:\n" << aggregator_->output());
    REQUIRE(!metrics_.empty());
    // Both sidecars heard, through both hubs.
    REQUIRE(waitFor([&] { return metric("twinhub_health_sidecars", R"(state="healthy")") == healthy; }, kStartTimeout));
  }

  double metric(const std::string& name, const std::string& labels = "") const {
    return metricValue(httpGet(metrics_, "/metrics"), name, labels);
  }

  // The alert of `kind` about `subject` (the nth such), as published; fails the test on timeout.
  json waitAlert(const std::string& kind, const std::string& subject, int nth = 0) {
    const std::string line = aggregator_->waitForOutput(
        "alert (\\{.*\"kind\":\"" + kind + "\".*\"subject\":\"" + std::regex_replace(subject, std::regex("\\."), "\\.") +
            "\".*\\})",
        kAlertTimeout, nth);
    INFO("aggregator:\n" << aggregator_->output());
    REQUIRE(!line.empty());
    return json::parse(line);
  }
  int alertCount(const std::string& kind) const {
    const std::string out = aggregator_->output();
    int n = 0;
    for (size_t at = 0; (at = out.find("\"kind\":\"" + kind + "\"", at)) != std::string::npos; ++at) {
      n += out.rfind("alert ", at) > out.rfind("recovery ", at) || out.rfind("recovery ", at) == std::string::npos;
    }
    return n;
  }

  // Tells the agent-sim whether to answer health checks.
  void agentAnswersHealth(bool answer) {
    zmq::context_t context(1);
    zmq::socket_t socket = reqSocket(context, agent_health_, 2000);
    REQUIRE(call(socket, {{"action", "sim_set"}, {"health_answer", answer}}));
  }

  HubPair& hubs() { return hubs_; }
  TcpRelay& relay() { return *relay_; }
  TcpRelay& pc2CentralRelay() { return *pc2_relay_; }
  SidecarFixture& pc2() { return *pc2_; }
  Process& aggregator() { return *aggregator_; }
  std::string status(const std::vector<std::string>& extra, int* exit_code) {
    std::vector<std::string> args = ctlSecurityArgs(hubs_.edge(), "controller");
    args.insert(args.end(), {"--hub", "edge=" + hubs_.edge().url(), "--hub", "central=" + hubs_.central().url(), "status"});
    args.insert(args.end(), extra.begin(), extra.end());
    Process p(binPath("twinhubctl"), args);
    std::optional<int> code = p.wait(10s);
    *exit_code = code.value_or(-1);
    return p.output();
  }

 private:
  std::unique_ptr<TcpRelay> relay_;  // before hubs_: HubPair's constructor fills it in
  HubPair hubs_;
  Process agent_;
  std::string agent_address_, agent_health_;
  std::unique_ptr<TcpRelay> pc2_relay_;
  std::unique_ptr<SidecarFixture> pc2_, mainpc_;
  std::unique_ptr<Process> aggregator_;
  std::string metrics_;
};

void report(const char* what, int64_t started_ms, const json& alert) {
  std::printf("health test: %s alerted %lld ms after the fault\n", what,
              static_cast<long long>(alert["detected_at"].get<int64_t>() - started_ms));
}

TEST_CASE("Health: beats from two machines reach the aggregator through both hubs", "[integration]") {
  HealthFleet fleet;
  int code = -1;
  const std::string out = fleet.status({"--json"}, &code);
  INFO(out);
  CHECK(code == 0);
  const json aggregate = json::parse(out.substr(out.find('{')));
  REQUIRE(aggregate["sidecars"].size() == 2);
  for (const json& s : aggregate["sidecars"]) {
    CHECK(s["heard_via"] == json::array({"edge", "central"}));
    CHECK(s["state"] == "ok");
  }
  CHECK(aggregate["observer"] == "test");  // read from the running aggregator's health.aggregate
  CHECK(fleet.metric("twinhub_health_beats_total", R"(hub="edge")") > 0);
  CHECK(fleet.metric("twinhub_health_sync_latency_seconds_count", R"(hub="central")") > 0);
  CHECK(fleet.alertCount("sidecar_lost") == 0);
  CHECK(fleet.alertCount("leaf_down") == 0);
}

TEST_CASE("Health: a killed hub raises hub_down and beats keep coming through the other", "[integration]") {
  HealthFleet fleet;
  const int64_t t0 = wallMs();
  fleet.hubs().edge().kill();
  json alert = fleet.waitAlert("hub_down", "edge");
  report("hub killed", t0, alert);
  CHECK(alert["detected_at"].get<int64_t>() - t0 < 1000);
  const double beats = fleet.metric("twinhub_health_beats_total", R"(hub="central")");
  CHECK(waitFor([&] { return fleet.metric("twinhub_health_beats_total", R"(hub="central")") >= beats + 8; }, 5s));
  CHECK(fleet.metric("twinhub_health_sidecars", R"(state="lost")") == 0);
  fleet.hubs().edge().restart();
  fleet.waitAlert("hub_up", "edge");
  CHECK(fleet.alertCount("sidecar_lost") == 0);
}

TEST_CASE("Health: a frozen hub raises hub_frozen", "[integration]") {
  HealthFleet fleet;
  const int64_t t0 = wallMs();
  fleet.hubs().central().freeze();
  json alert = fleet.waitAlert("hub_frozen", "central");
  report("hub frozen", t0, alert);
  CHECK(alert["detected_at"].get<int64_t>() - t0 < 1500);
  CHECK(alert["evidence"]["observer_link"] == "frozen");
  fleet.hubs().central().thaw();
  fleet.waitAlert("hub_up", "central");
  CHECK(fleet.alertCount("sidecar_lost") == 0);
}

TEST_CASE("Health: a cut leaf link raises leaf_down, and leaf_up once it is back", "[integration]") {
  HealthFleet fleet(true);
  // The aggregator judges the link once its hubs have been up for the grace period (3 s).
  REQUIRE(waitFor([&] { return fleet.metric("twinhub_health_leaf_up") == 1; }, 8s));
  const int64_t t0 = wallMs();
  fleet.relay().cut();
  json alert = fleet.waitAlert("leaf_down", "leaf");
  report("leaf cut", t0, alert);
  CHECK(alert["detected_at"].get<int64_t>() - t0 < 2000);
  CHECK(alert["evidence"]["broken"].size() == 2);
  CHECK(fleet.alertCount("hub_down") == 0);
  fleet.relay().restore();
  fleet.waitAlert("leaf_up", "leaf");
}

// pc2 loses its way to central (its connection blackholed, the leaf link intact): its beats come
// through edge only, while mainpc is still heard through both hubs.
TEST_CASE("Health: a machine cut off from a hub the others use raises partition, then partition_healed",
          "[integration]") {
  HealthFleet fleet(false, true);
  const int64_t t0 = wallMs();
  fleet.pc2CentralRelay().cut();
  json alert = fleet.waitAlert("partition", "pc2");
  report("partition", t0, alert);
  CHECK(alert["detected_at"].get<int64_t>() - t0 < 2000);
  CHECK(alert["evidence"]["heard_via"] == json::array({"edge"}));
  CHECK(alert["evidence"]["other_machines_heard"] == true);
  CHECK(fleet.alertCount("sidecar_lost") == 0);
  CHECK(fleet.alertCount("hub_down") == 0);  // mainpc still publishes through central
  CHECK(fleet.alertCount("leaf_down") == 0);
  fleet.pc2CentralRelay().restore();
  fleet.waitAlert("partition_healed", "pc2");
}

TEST_CASE("Health: an agent that stops answering health checks raises agent_down, then agent_up", "[integration]") {
  HealthFleet fleet;
  const int64_t t0 = wallMs();
  fleet.agentAnswersHealth(false);
  json down = fleet.waitAlert("agent_down", "pc2.A");
  report("agent down", t0, down);
  CHECK(down["detected_at"].get<int64_t>() - t0 < 1500);
  CHECK(down["machine"] == "pc2");
  CHECK(down["evidence"]["last_error"].get<std::string>().find("no reply") != std::string::npos);
  int code = -1;
  const std::string out = fleet.status({}, &code);
  INFO(out);
  CHECK(code == 1);
  CHECK(out.find("failing") != std::string::npos);
  fleet.agentAnswersHealth(true);
  fleet.waitAlert("agent_up", "pc2.A");
  CHECK(fleet.aggregator().output().find("recovery {") != std::string::npos);
}

TEST_CASE("Health: a killed sidecar raises sidecar_lost", "[integration]") {
  HealthFleet fleet;
  const int64_t t0 = wallMs();
  fleet.pc2().process().signal(SIGKILL);
  json lost = fleet.waitAlert("sidecar_lost", "pc2.A");
  report("sidecar lost", t0, lost);
  CHECK(lost["detected_at"].get<int64_t>() - t0 < 2000);
  CHECK(fleet.alertCount("hub_down") == 0);
  CHECK(fleet.alertCount("partition") == 0);
  CHECK(fleet.metric("twinhub_health_sidecars", R"(state="lost")") == 1);
}

// History: the aggregate stored in the hubs' TWINHUB_HEALTH stream carries the open alerts over a
// restart of the aggregator; they are neither raised again nor forgotten (their end is reported).
TEST_CASE("Health: a restarted aggregator restores its state from history and raises nothing twice", "[integration]") {
  HealthFleet fleet;
  fleet.agentAnswersHealth(false);
  const json down = fleet.waitAlert("agent_down", "pc2.A");
  fleet.hubs().edge().kill();
  fleet.waitAlert("hub_down", "edge");
  // Until an aggregate with both alerts open has been published (and so stored).
  std::string out;
  auto both_open = [&] {
    int code = 0;
    out = fleet.status({"--json", "--window-ms", "1100"}, &code);
    return out.find("agent_down pc2.A") != std::string::npos && out.find("hub_down edge") != std::string::npos;
  };
  const bool stored = waitFor(both_open, 10s);
  INFO("status:\n" << out);
  REQUIRE(stored);
  fleet.aggregator().signal(SIGTERM);
  REQUIRE(fleet.aggregator().wait(5s));
  fleet.startAggregator(1);
  INFO("aggregator:\n" << fleet.aggregator().output());
  CHECK(!fleet.aggregator().waitForOutput("state restored from history on hub central", 1s).empty());
  // Several intervals of beats heard by the new aggregator: time to re-raise, were it to.
  REQUIRE(waitFor([&] { return fleet.metric("twinhub_health_beats_total") >= 20; }, 5s));
  CHECK(fleet.alertCount("agent_down") == 0);
  CHECK(fleet.alertCount("hub_down") == 0);
  fleet.agentAnswersHealth(true);
  fleet.waitAlert("agent_up", "pc2.A");
  const std::string recovery =
      fleet.aggregator().waitForOutput(R"(recovery (\{.*"kind":"agent_up".*\}))", kAlertTimeout);
  REQUIRE(!recovery.empty());
  // Opened when the stored aggregate was made: after the first detection, before the restart.
  CHECK(json::parse(recovery)["opened_at"].get<int64_t>() >= down["detected_at"].get<int64_t>());
  fleet.hubs().edge().restart();
  fleet.waitAlert("hub_up", "edge");
}

// Hostile beats published straight to the hub: counted by reason, dropped, the aggregator lives on.
TEST_CASE("Health: malformed beats are counted and dropped", "[integration]") {
  HealthFleet fleet;
  RawNats nats(fleet.hubs().central());  // a sidecar's credentials: it may publish beats
  natsConnection* nc = nats.connection();
  json future = {{"v", 1}};
  const std::vector<std::string> garbage = {
      "garbage", "{\"v\":2}", "{\"v\":1,\"id\":5}", std::string(70000, '{'),
      R"({"v":1,"id":"x","machine":"pc2","services":{"served":[],"fronted":[]},"via":"edge","seq":1,"ts":99999999999999,"interval_ms":500,"agent":{"state":"none"},"mode":"hub","generation":0,"hubs":[],"stats":{"sessions_opened":0,"sessions_active":0,"connect_failures":0,"errors":0}})"};
  for (const std::string& g : garbage) natsConnection_Publish(nc, "health.status.pc2", g.data(), static_cast<int>(g.size()));
  // A valid beat that claims another machine than its subject says.
  const std::string spoof = R"({"v":1,"id":"y","machine":"mainpc","services":{"served":[],"fronted":[]},"via":"edge","seq":1,"ts":1,"interval_ms":500,"agent":{"state":"none"},"mode":"hub","generation":0,"hubs":[],"stats":{"sessions_opened":0,"sessions_active":0,"connect_failures":0,"errors":0}})";
  natsConnection_Publish(nc, "health.status.pc2", spoof.data(), static_cast<int>(spoof.size()));
  natsConnection_Flush(nc);
  // Published once on central, received through both hubs (the leaf carries it): 6 x 2.
  CHECK(waitFor([&] { return fleet.metric("twinhub_health_malformed_beats_total") == 12; }, 5s));
  CHECK(fleet.metric("twinhub_health_malformed_beats_total", R"(reason="syntax")") == 2);
  CHECK(fleet.metric("twinhub_health_malformed_beats_total", R"(reason="version")") == 2);
  CHECK(fleet.metric("twinhub_health_malformed_beats_total", R"(reason="oversized")") == 2);
  CHECK(fleet.metric("twinhub_health_malformed_beats_total", R"(reason="future")") == 2);
  CHECK(fleet.metric("twinhub_health_malformed_beats_total", R"(reason="field")") == 4);
  CHECK(fleet.metric("twinhub_health_sidecars", R"(state="known")") == 2);
  CHECK(fleet.aggregator().running());
}

}  // namespace
}  // namespace twinhub::test
