// Integration test: unmodified ZeroMQ REQ/REP traffic carried by a direct-mode sidecar reaches the
// agent (a twinhub-agent-sim) and every request id is answered exactly once: nothing lost,
// nothing duplicated, no reply crossed over to another caller.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "support/process.h"
#include "support/zmq_client.h"

namespace twinhub::test {
namespace {

using json = nlohmann::json;

constexpr auto kStartTimeout = 5000ms;
// The original agents' callers give up after 5000 ms.
constexpr int kCallerTimeoutMs = 5000;

}  // namespace

TEST_CASE("Sidecar: ZeroMQ REQ/REP through direct mode, every request id answered once", "[integration]") {
  constexpr int kCallers = 4;
  constexpr int kRequestsPerCaller = 500;

  Process sim(binPath("twinhub-agent-sim"), {"--name", "Sim", "--port", "0"});
  const std::string sim_address = sim.waitForOutput(R"(serving on (\S+) health \S+)", kStartTimeout);
  const std::string sim_health = sim.waitForOutput(R"(serving on \S+ health (\S+))", kStartTimeout);
  INFO(sim.output());
  REQUIRE(!sim_address.empty());
  REQUIRE(!sim_health.empty());

  Process sidecar(binPath("twinhub-sidecar"),
                  {"--listen", "127.0.0.1:0", "--direct", sim_address, "--service", "Sim"});
  const std::string front = sidecar.waitForOutput(R"(front \S+ listening on (\S+))", kStartTimeout);
  INFO(sidecar.output());
  REQUIRE(!front.empty());

  zmq::context_t context;
  std::atomic<int> answered{0};
  std::atomic<int> mismatched{0};
  std::atomic<int> unanswered{0};
  std::vector<std::thread> callers;
  for (int caller = 0; caller < kCallers; ++caller) {
    callers.emplace_back([&, caller] {
      std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(caller));
      zmq::socket_t socket = reqSocket(context, front, kCallerTimeoutMs);
      for (int i = 0; i < kRequestsPerCaller; ++i) {
        const std::string id = uuid4(rng);
        json request = {{"action", "process"},
                        {"request_id", id},
                        {"source_agent", "Caller" + std::to_string(caller)},
                        {"timestamp", "2024-05-01T12:00:00.000000"},
                        {"payload", {{"caller", caller}, {"seq", i}}}};
        std::optional<json> reply = call(socket, request);
        if (!reply) {
          ++unanswered;  // a REQ socket cannot go on after a lost reply
          return;
        }
        const bool matches = reply->value("status", "") == "success" && reply->value("request_id", "") == id &&
                             reply->value("echo", json()) == request["payload"];
        if (matches) {
          ++answered;
        } else {
          ++mismatched;
        }
      }
    });
  }
  for (auto& thread : callers) thread.join();

  CHECK(unanswered == 0);
  CHECK(mismatched == 0);
  CHECK(answered == kCallers * kRequestsPerCaller);

  zmq::socket_t health = reqSocket(context, sim_health, kCallerTimeoutMs);
  std::optional<json> stats = call(health, {{"action", "sim_stats"}});
  REQUIRE(stats.has_value());
  INFO(stats->dump());
  CHECK(stats->at("served") == kCallers * kRequestsPerCaller);
  CHECK(stats->at("unique_request_ids") == kCallers * kRequestsPerCaller);
  CHECK(stats->at("duplicates") == 0);
}

}  // namespace twinhub::test
