// Desired state end to end (issue 9, the sidecar's side): values written into the JetStream
// key-value bucket of either hub's domain flip a real sidecar's mode for new connections; a
// provisional flip nobody confirms reverts by its deadline; the applied mode survives a restart
// with both hubs down (state_dir).
//
// Real nats-servers (the shipped configs, a JetStream domain each) and sidecars; 127.0.0.1 only.
#include <nats/nats.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <string>

#include "support/hub_fixtures.h"
#include "support/process.h"
#include "control_wire/desired_state.h"

namespace twinhub::test {
namespace {

using Clock = std::chrono::steady_clock;

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the controller does on one hub: make the bucket, put a sidecar's desired state.
class DesiredStateWriter {
 public:
  explicit DesiredStateWriter(const NatsHub& hub) : nats_(hub, "controller") {
    REQUIRE(natsConnection_JetStream(&js_, nats_connection(), nullptr) == NATS_OK);
    kvConfig config;
    kvConfig_Init(&config);
    config.Bucket = wire::kDesiredStateBucket;
    config.History = 5;
    natsStatus s = js_CreateKeyValue(&kv_, js_, &config);
    INFO("create bucket: " << natsStatus_GetText(s));
    REQUIRE(s == NATS_OK);
  }
  ~DesiredStateWriter() {
    kvStore_Destroy(kv_);
    jsCtx_Destroy(js_);
  }
  void put(const std::string& sidecar_id, const wire::DesiredState& state) {
    const std::string value = wire::encodeDesiredState(state);
    uint64_t revision = 0;
    REQUIRE(kvStore_Put(&revision, kv_, wire::desiredStateKey(sidecar_id).c_str(), value.data(),
                        static_cast<int>(value.size())) == NATS_OK);
  }

 private:
  natsConnection* nats_connection() { return nats_.connection(); }
  RawNats nats_;
  jsCtx* js_ = nullptr;
  kvStore* kv_ = nullptr;
};

wire::DesiredState desired(uint64_t generation, const std::string& mode, int64_t provisional_until_ms,
                           bool confirmed) {
  wire::DesiredState state;
  state.generation = generation;
  state.mode = mode;
  state.provisional_until_ms = provisional_until_ms;
  state.confirmed = confirmed;
  state.by = "desired_state_test";
  return state;
}

}  // namespace

TEST_CASE("DesiredState: a sidecar flips on a new generation from either hub, reverts an unconfirmed flip, "
          "and keeps its mode across a restart with both hubs down",
          "[integration]") {
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  const HubOrder order = {&hubs.edge(), &hubs.central()};
  EchoServer echo;
  auto server = startServing("mainpc.EchoService", order, "EchoService", echo.address(), "tcp", echo.address());
  TempDir state;
  const std::string id = "pc2.Caller";
  const std::string front_yaml = frontYaml(order, "EchoService", "direct", echo.address());
  // The same front with this test's id and a state_dir (frontYaml's first line is its sidecar:).
  const std::string yaml = "sidecar: {id: " + id + ", state_dir: \"" + state.path() + "\"}\n" +
                           front_yaml.substr(front_yaml.find('\n') + 1);
  auto front = std::make_unique<SidecarFixture>(yaml);
  REQUIRE(front->waitReady(1, true, kStartTimeout));
  requireHubsUp(*front, order);

  DesiredStateWriter central(hubs.central());
  DesiredStateWriter edge(hubs.edge());

  // Generation 1, confirmed, written on central only (not the sidecar's primary).
  auto written = Clock::now();
  central.put(id, desired(1, "hub", 0, true));
  const bool flipped = !front->waitLog(R"(mode direct -> hub \(desired state generation 1\))", 10s).empty();
  const auto flip_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - written).count();
  INFO("front output:\n" << front->output());
  REQUIRE(flipped);
  WARN("generation 1 applied " << flip_ms << " ms after the write (includes finding the new bucket)");
  CHECK(front->metric("twinhub_applied_generation") == 1);
  CHECK(front->metric("twinhub_mode", R"(mode="hub")") == 1);
  const double sessions_before = orZero(front->metric("twinhub_sessions_total", R"(role="client")"));
  REQUIRE(waitFor([&] { return newConnectionEchoes(front->front()); }, 5s));
  CHECK(front->metric("twinhub_sessions_total", R"(role="client")") > sessions_before);  // through the hubs

  // Generation 2, provisional for 1.5 s, written on edge: applied, never confirmed, reverted.
  written = Clock::now();
  edge.put(id, desired(2, "direct", wallMs() + 1500, false));
  CHECK(!front->waitLog(R"(mode hub -> direct \(desired state generation 2\))", 5s).empty());
  WARN("generation 2 applied " << std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - written).count()
                               << " ms after the write");
  CHECK(newConnectionEchoes(front->front()));
  CHECK(!front->waitLog("generation 2 was not confirmed by its deadline", 5s).empty());
  const auto reverted_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - written).count();
  CHECK(reverted_ms >= 1300);
  CHECK(front->metric("twinhub_mode", R"(mode="hub")") == 1);
  CHECK(front->metric("twinhub_desired_state_changes_total", R"(action="revert")") == 1);

  // Both hubs gone, the sidecar restarted: it comes back in the mode it applied.
  hubs.edge().kill();
  hubs.central().kill();
  front->process().signal(SIGTERM);
  REQUIRE(front->process().wait(10s).has_value());
  front.reset();
  SidecarFixture again(yaml);
  REQUIRE(again.waitReady(1, true, kStartTimeout));
  INFO("restarted output:\n" << again.output());
  CHECK(!again.waitLog(R"(desired state: generation 2 \(hub\) restored)", 5s).empty());
  CHECK(!again.waitLog("running: mode hub", 5s).empty());
  CHECK(again.metric("twinhub_applied_generation") == 2);
}

}  // namespace twinhub::test
