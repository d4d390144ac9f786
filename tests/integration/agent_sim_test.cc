// Integration tests of twinhub-agent-sim: the simulated agent answers like the original Python
// agents, and its knobs (hang, errors, latency, crash, health) and request ledger behave as the
// other tests rely on. Real processes and real ZeroMQ sockets, ports 0.
#include <signal.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "support/process.h"

namespace twinhub::test {
namespace {

using json = nlohmann::json;

constexpr auto kStartTimeout = 5000ms;
constexpr auto kReplyTimeout = 3000ms;
// Long enough for an idle local agent to answer many times over; used where no reply is expected.
constexpr auto kNoReplyTimeout = 300ms;

// A running agent-sim and the addresses it printed.
class Sim {
 public:
  explicit Sim(const std::vector<std::string>& extra_args = {}) : process_(binPath("twinhub-agent-sim"), args(extra_args)) {
    address_ = process_.waitForOutput(R"(serving on (\S+) health \S+)", kStartTimeout);
    health_ = process_.waitForOutput(R"(serving on \S+ health (\S+))", kStartTimeout);
    INFO(process_.output());
    REQUIRE(!address_.empty());
    REQUIRE(!health_.empty());
  }

  Process& process() { return process_; }
  const std::string& address() const { return address_; }
  const std::string& health() const { return health_; }

 private:
  static std::vector<std::string> args(const std::vector<std::string>& extra) {
    std::vector<std::string> all = {"--name", "SimAgent", "--port", "0"};
    all.insert(all.end(), extra.begin(), extra.end());
    return all;
  }

  Process process_;
  std::string address_;
  std::string health_;
};

// A REQ socket connected to one address. After a timed-out call the socket cannot send again
// (REQ is strict send/recv), so a test that expects a timeout uses a fresh client afterwards.
class ReqClient {
 public:
  ReqClient(zmq::context_t& context, const std::string& address, std::chrono::milliseconds timeout = kReplyTimeout)
      : socket_(context, zmq::socket_type::req) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, static_cast<int>(timeout.count()));
    socket_.connect("tcp://" + address);
  }

  // Sends `body` and returns the reply, or nullopt when none came in time.
  std::optional<std::string> callRaw(const std::string& body) {
    (void)socket_.send(zmq::buffer(body), zmq::send_flags::none);
    zmq::message_t reply;
    if (!socket_.recv(reply, zmq::recv_flags::none)) return std::nullopt;
    return reply.to_string();
  }

  std::optional<json> call(const json& request) {
    std::optional<std::string> reply = callRaw(request.dump());
    if (!reply) return std::nullopt;
    return json::parse(*reply);
  }

 private:
  zmq::socket_t socket_;
};

json agentRequest(const std::string& action, const std::string& request_id) {
  return {{"action", action},
          {"request_id", request_id},
          {"source_agent", "AgentSimTest"},
          {"timestamp", "2024-05-01T12:00:00.000000"}};
}

// One control or health message on a fresh socket; fails the test when there is no reply.
json control(zmq::context_t& context, const Sim& sim, const json& request) {
  ReqClient client(context, sim.health());
  std::optional<json> reply = client.call(request);
  REQUIRE(reply.has_value());
  return *reply;
}

json simStats(zmq::context_t& context, const Sim& sim) { return control(context, sim, {{"action", "sim_stats"}}); }

void simSet(zmq::context_t& context, const Sim& sim, json fields) {
  fields["action"] = "sim_set";
  REQUIRE(control(context, sim, fields) == json{{"ok", true}});
}

void checkHealthShape(const json& reply, const std::string& status, bool ready) {
  INFO(reply.dump());
  CHECK(reply.at("status") == status);
  CHECK(reply.at("ready") == ready);
  CHECK(reply.at("message") == "SimAgent is " + status);
  CHECK(reply.at("agent") == "SimAgent");
  REQUIRE(reply.at("timestamp").is_string());
  CHECK(std::regex_search(reply.at("timestamp").get<std::string>(),
                          std::regex(R"(^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$)")));
  REQUIRE(reply.at("uptime").is_number());
  CHECK(reply.at("uptime").get<double>() >= 0.0);
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

TEST_CASE("AgentSim: answers each request with its request_id and action, echoing the payload", "[integration]") {
  zmq::context_t context;
  Sim sim;
  ReqClient client(context, sim.address());

  for (int i = 0; i < 5; ++i) {
    json request = agentRequest("store_memory", "req-" + std::to_string(i));
    request["payload"] = {{"key", "k" + std::to_string(i)}, {"values", {i, i + 1}}};
    std::optional<json> reply = client.call(request);
    REQUIRE(reply.has_value());
    INFO(reply->dump());
    CHECK(reply->at("status") == "success");
    CHECK(reply->at("request_id") == request["request_id"]);
    CHECK(reply->at("agent") == "SimAgent");
    CHECK(reply->at("action") == "store_memory");
    CHECK(reply->at("served_at").is_string());
    CHECK(reply->at("echo") == request["payload"]);
  }

  std::optional<json> without_payload = client.call(agentRequest("get_status", "req-no-payload"));
  REQUIRE(without_payload.has_value());
  CHECK(without_payload->at("request_id") == "req-no-payload");
  CHECK_FALSE(without_payload->contains("echo"));
}

TEST_CASE("AgentSim: a non-JSON request gets an invalid JSON error and is not counted as served", "[integration]") {
  zmq::context_t context;
  Sim sim;
  ReqClient client(context, sim.address());

  std::optional<std::string> reply = client.callRaw("this is not json");
  REQUIRE(reply.has_value());
  CHECK(json::parse(*reply) == json{{"status", "error"}, {"error", "invalid JSON"}});

  json stats = simStats(context, sim);
  CHECK(stats.at("served") == 0);
  CHECK(stats.at("invalid") == 1);
}

TEST_CASE("AgentSim: health_check and non-JSON health messages get the originals' reply shape", "[integration]") {
  zmq::context_t context;
  Sim sim;

  checkHealthShape(control(context, sim, {{"action", "health_check"}}), "ok", true);

  ReqClient raw(context, sim.health());
  std::optional<std::string> reply = raw.callRaw("ping");
  REQUIRE(reply.has_value());
  checkHealthShape(json::parse(*reply), "ok", true);
}

TEST_CASE("AgentSim: sim_stats counts served requests, unique ids and duplicate ids", "[integration]") {
  zmq::context_t context;
  Sim sim;
  ReqClient client(context, sim.address());

  for (const char* id : {"dup-1", "dup-1", "unique-2"}) {
    std::optional<json> reply = client.call(agentRequest("process", id));
    REQUIRE(reply.has_value());
    CHECK(reply->at("request_id") == id);
  }

  json stats = simStats(context, sim);
  INFO(stats.dump());
  CHECK(stats.at("served") == 3);
  CHECK(stats.at("unique_request_ids") == 2);
  CHECK(stats.at("duplicates") == 1);
  CHECK(stats.at("errors_injected") == 0);
}

TEST_CASE("AgentSim: sim_set answer=false leaves requests unanswered until answer=true", "[integration]") {
  zmq::context_t context;
  Sim sim;

  simSet(context, sim, {{"answer", false}});
  ReqClient hung(context, sim.address(), kNoReplyTimeout);
  CHECK_FALSE(hung.call(agentRequest("process", "while-hung")).has_value());

  // A hung agent's health socket still answers: the probe, not the data path, must notice.
  checkHealthShape(control(context, sim, {{"action", "health_check"}}), "ok", true);
  CHECK(simStats(context, sim).at("served") == 0);

  simSet(context, sim, {{"answer", true}});
  ReqClient client(context, sim.address());
  std::optional<json> reply = client.call(agentRequest("process", "after-resume"));
  REQUIRE(reply.has_value());
  CHECK(reply->at("request_id") == "after-resume");

  // The request read while hung got its late answer first, like a stuck agent that recovers.
  json stats = simStats(context, sim);
  CHECK(stats.at("served") == 2);
  CHECK(stats.at("unique_request_ids") == 2);
}

TEST_CASE("AgentSim: sim_set health and health_answer change health replies but not control actions",
          "[integration]") {
  zmq::context_t context;
  Sim sim;

  simSet(context, sim, {{"health", "degraded"}});
  checkHealthShape(control(context, sim, {{"action", "health_check"}}), "degraded", true);
  simSet(context, sim, {{"health", "error"}});
  checkHealthShape(control(context, sim, {{"action", "health_check"}}), "error", false);

  simSet(context, sim, {{"health", "ok"}, {"health_answer", false}});
  {
    ReqClient probe(context, sim.health(), kNoReplyTimeout);
    CHECK_FALSE(probe.call({{"action", "health_check"}}).has_value());
  }
  CHECK(simStats(context, sim).at("served") == 0);  // control still answered
  simSet(context, sim, {{"health_answer", true}});
  checkHealthShape(control(context, sim, {{"action", "health_check"}}), "ok", true);

  json rejected = control(context, sim, {{"action", "sim_set"}, {"error_rate", 2}});
  CHECK(rejected.at("ok") == false);
  CHECK(control(context, sim, {{"action", "sim_set"}, {"no_such_knob", 1}}).at("ok") == false);
}

TEST_CASE("AgentSim: error rate 1 injects errors that are not counted as served", "[integration]") {
  zmq::context_t context;
  Sim sim({"--error-rate", "1", "--seed", "42"});
  ReqClient client(context, sim.address());

  std::optional<json> reply = client.call(agentRequest("process", "doomed"));
  REQUIRE(reply.has_value());
  CHECK(*reply == json{{"status", "error"}, {"request_id", "doomed"}, {"error", "injected"}});

  simSet(context, sim, {{"error_rate", 0}});
  reply = client.call(agentRequest("process", "fine"));
  REQUIRE(reply.has_value());
  CHECK(reply->at("status") == "success");

  json stats = simStats(context, sim);
  CHECK(stats.at("served") == 1);
  CHECK(stats.at("errors_injected") == 1);
}

TEST_CASE("AgentSim: latency delays every reply by at least the configured time", "[integration]") {
  zmq::context_t context;
  Sim sim({"--latency-ms", "150"});
  ReqClient client(context, sim.address());

  const auto start = std::chrono::steady_clock::now();
  REQUIRE(client.call(agentRequest("process", "slow-1")).has_value());
  CHECK(std::chrono::steady_clock::now() - start >= 150ms);

  simSet(context, sim, {{"latency_ms", 300}});
  const auto again = std::chrono::steady_clock::now();
  REQUIRE(client.call(agentRequest("process", "slow-2")).has_value());
  CHECK(std::chrono::steady_clock::now() - again >= 300ms);
}

TEST_CASE("AgentSim: --exit-after N exits with status 3 after serving N requests", "[integration]") {
  zmq::context_t context;
  TempDir dir;
  const std::string stats_file = dir.path() + "/stats.json";
  Sim sim({"--exit-after", "3", "--stats-file", stats_file});
  ReqClient client(context, sim.address());

  for (int i = 0; i < 3; ++i) {
    std::optional<json> reply = client.call(agentRequest("process", "before-crash-" + std::to_string(i)));
    REQUIRE(reply.has_value());
  }
  INFO(sim.process().output());
  REQUIRE(sim.process().wait(5000ms) == 3);
  CHECK(sim.process().output().find("stats {") == std::string::npos);  // a crash says nothing
  json stats = json::parse(readFile(stats_file));
  CHECK(stats.at("served") == 3);
}

TEST_CASE("AgentSim: SIGTERM exits 0 and prints the final stats", "[integration]") {
  zmq::context_t context;
  Sim sim;
  {
    ReqClient client(context, sim.address());
    REQUIRE(client.call(agentRequest("process", "a")).has_value());
    REQUIRE(client.call(agentRequest("process", "a")).has_value());
  }

  sim.process().signal(SIGTERM);
  INFO(sim.process().output());
  REQUIRE(sim.process().wait(5000ms) == 0);
  const std::string line = sim.process().waitForOutput(R"(^stats (\{.*\})$)", 1000ms);
  REQUIRE(!line.empty());
  json stats = json::parse(line);
  CHECK(stats.at("served") == 2);
  CHECK(stats.at("duplicates") == 1);
}

TEST_CASE("AgentSim: sim_exit replies, then exits with the requested status", "[integration]") {
  zmq::context_t context;
  Sim sim;

  CHECK(control(context, sim, {{"action", "sim_exit"}, {"code", 7}}) == json{{"ok", true}});
  INFO(sim.process().output());
  REQUIRE(sim.process().wait(5000ms) == 7);
}

}  // namespace twinhub::test
