// evaluateReadiness: the /readyz policy, fed with states (no sockets).
#include "metrics/readiness.h"

#include <catch2/catch.hpp>

namespace twinhub {
namespace {

ReadinessInputs bound(const std::string& mode) {
  ReadinessInputs in;
  in.fronts_bound = true;
  in.mode = mode;
  return in;
}

TEST_CASE("Readiness: nothing is ready before the fronts are bound or while draining", "[unit]") {
  ReadinessInputs in;
  CHECK_FALSE(evaluateReadiness(in).ready);
  in = bound("direct");
  CHECK(evaluateReadiness(in).ready);
  in.draining = true;
  CHECK_FALSE(evaluateReadiness(in).ready);
  CHECK(evaluateReadiness(in).reason == "draining");
}

TEST_CASE("Readiness: hub mode needs one hub up, suspect and down do not count", "[unit]") {
  ReadinessInputs in = bound("hub");
  CHECK_FALSE(evaluateReadiness(in).ready);
  in.hubs["edge"] = HubState::kDown;
  in.hubs["central"] = HubState::kSuspect;
  CHECK_FALSE(evaluateReadiness(in).ready);
  in.hubs["central"] = HubState::kUp;
  CHECK(evaluateReadiness(in).ready);
  CHECK(evaluateReadiness(in).reason == "mode hub, hub central up");
}

TEST_CASE("Readiness: direct mode needs every direct target reachable, checked when asked", "[unit]") {
  std::map<std::string, bool> up;
  int checks = 0;
  ReadinessState state([&](const std::string& target) {
    ++checks;
    return up[target];
  });
  state.setFrontsBound(true);
  state.setMode("direct");
  state.setDirectTargets({"127.0.0.1:1", "127.0.0.1:2"});
  CHECK(checks == 0);  // nothing is probed until someone asks
  CHECK_FALSE(state.verdict().ready);
  up["127.0.0.1:1"] = true;
  CHECK_FALSE(state.verdict().ready);
  CHECK(state.verdict().reason == "mode direct, 127.0.0.1:2 not reachable");
  up["127.0.0.1:2"] = true;
  CHECK(state.verdict().ready);
  state.setDirectTargets({"127.0.0.1:2"});  // a reload removed a front
  up["127.0.0.1:1"] = false;
  CHECK(state.verdict().ready);
  const int before = checks;
  state.setMode("hub");  // hub mode does not look at direct targets
  CHECK_FALSE(state.verdict().ready);
  CHECK(checks == before);
}

TEST_CASE("Readiness: tcpConnects tells a listening port from a closed one", "[unit]") {
  CHECK_FALSE(tcpConnects("127.0.0.1:1", 300));
  CHECK_FALSE(tcpConnects("not an address", 300));
}

}  // namespace
}  // namespace twinhub
