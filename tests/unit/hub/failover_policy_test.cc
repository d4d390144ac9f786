// FailoverPolicy alone: states and a clock in, the active hub out.
#include "hub/failover_policy.h"

#include <catch2/catch.hpp>

using twinhub::FailoverPolicy;
using twinhub::HubState;

namespace {
constexpr uint64_t kMs = 1000000;
constexpr uint32_t kHoldMs = 5000;
}  // namespace

TEST_CASE("FailoverPolicy: no hub up means no active hub, and the first up becomes active at start-up", "[unit]") {
  FailoverPolicy policy(2, kHoldMs);
  CHECK_FALSE(policy.evaluate(0));
  CHECK_FALSE(policy.active());

  policy.setState(1, HubState::kUp, 10 * kMs);
  auto change = policy.evaluate(10 * kMs);
  REQUIRE(change);
  CHECK_FALSE(change->from);
  CHECK(change->to == 1u);
  CHECK(change->start_up);

  // The preferred hub answers later at start-up: sessions move to it at once, and it is no failover.
  policy.setState(0, HubState::kUp, 20 * kMs);
  change = policy.evaluate(20 * kMs);
  REQUIRE(change);
  CHECK(change->from == 1u);
  CHECK(change->to == 0u);
  CHECK(change->start_up);
  CHECK_FALSE(policy.evaluate(30 * kMs));  // nothing changed: no change reported
}

TEST_CASE("FailoverPolicy: an active hub going suspect or down fails over at once", "[unit]") {
  for (HubState failed : {HubState::kSuspect, HubState::kDown}) {
    FailoverPolicy policy(2, kHoldMs);
    policy.setState(0, HubState::kUp, 0);
    policy.setState(1, HubState::kUp, 0);
    REQUIRE(policy.evaluate(0));
    REQUIRE(policy.active() == 0u);

    policy.setState(0, failed, 100 * kMs);
    auto change = policy.evaluate(100 * kMs);
    REQUIRE(change);
    CHECK(change->from == 0u);
    CHECK(change->to == 1u);
    CHECK_FALSE(change->start_up);
  }
}

TEST_CASE("FailoverPolicy: a recovered preferred hub gets sessions back only after the hold-down", "[unit]") {
  FailoverPolicy policy(2, kHoldMs);
  policy.setState(0, HubState::kUp, 0);
  policy.setState(1, HubState::kUp, 0);
  policy.evaluate(0);
  policy.setState(0, HubState::kDown, 1000 * kMs);
  policy.evaluate(1000 * kMs);
  REQUIRE(policy.active() == 1u);

  policy.setState(0, HubState::kUp, 2000 * kMs);
  CHECK_FALSE(policy.evaluate(2000 * kMs));
  CHECK_FALSE(policy.evaluate((2000 + kHoldMs - 1) * kMs));
  // It flaps: the hold-down starts again from its next up.
  policy.setState(0, HubState::kSuspect, 3000 * kMs);
  policy.setState(0, HubState::kUp, 4000 * kMs);
  CHECK_FALSE(policy.evaluate((2000 + kHoldMs) * kMs));
  auto change = policy.evaluate((4000 + kHoldMs) * kMs);
  REQUIRE(change);
  CHECK(change->from == 1u);
  CHECK(change->to == 0u);
  CHECK_FALSE(change->start_up);  // a failback is counted as a failover
}

TEST_CASE("FailoverPolicy: with every hub gone the active hub is none, and the first back takes over", "[unit]") {
  FailoverPolicy policy(2, kHoldMs);
  policy.setState(0, HubState::kUp, 0);
  policy.evaluate(0);
  policy.setState(0, HubState::kDown, 10 * kMs);
  auto change = policy.evaluate(10 * kMs);
  REQUIRE(change);
  CHECK(change->from == 0u);
  CHECK_FALSE(change->to);

  // The preferred hub failed before, but with nothing active it is taken at once.
  policy.setState(0, HubState::kUp, 20 * kMs);
  change = policy.evaluate(20 * kMs);
  REQUIRE(change);
  CHECK(change->to == 0u);
}
