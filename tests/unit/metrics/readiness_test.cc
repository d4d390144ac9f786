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

TEST_CASE("Readiness: hub mode needs one hub up; suspect and down do not count", "[unit]") {
  ReadinessInputs in = bound("hub");
  CHECK_FALSE(evaluateReadiness(in).ready);
  in.hubs["edge"] = HubState::kDown;
  in.hubs["central"] = HubState::kSuspect;
  CHECK_FALSE(evaluateReadiness(in).ready);
  in.hubs["central"] = HubState::kUp;
  CHECK(evaluateReadiness(in).ready);
  CHECK(evaluateReadiness(in).reason == "mode hub, hub central up");
}

TEST_CASE("Readiness: direct mode needs every direct target reachable", "[unit]") {
  ReadinessState state;
  state.setFrontsBound(true);
  state.setMode("direct");
  state.setDirectTargets({"127.0.0.1:1", "127.0.0.1:2"});
  CHECK_FALSE(state.verdict().ready);  // not checked yet
  state.setDirectReachable("127.0.0.1:1", true);
  CHECK_FALSE(state.verdict().ready);
  state.setDirectReachable("127.0.0.1:2", true);
  CHECK(state.verdict().ready);
  state.setDirectTargets({"127.0.0.1:2"});  // a reload removed a front: its result is forgotten
  CHECK(state.verdict().ready);
  state.setDirectReachable("127.0.0.1:9", false);  // not a target: ignored
  CHECK(state.verdict().ready);
  state.setMode("hub");  // hub mode does not look at direct targets
  CHECK_FALSE(state.verdict().ready);
}

}  // namespace
}  // namespace twinhub
