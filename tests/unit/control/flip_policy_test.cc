#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>

#include "control/applied_state.h"
#include "control/flip_policy.h"
#include "control_wire/desired_state.h"

using namespace twinhub;

namespace {

wire::DesiredState desired(uint64_t generation, const std::string& mode, int64_t until = 0, bool confirmed = false) {
  wire::DesiredState d;
  d.generation = generation;
  d.mode = mode;
  d.provisional_until_ms = until;
  d.confirmed = confirmed;
  return d;
}

AppliedState startingIn(const std::string& mode) {
  AppliedState a;
  a.mode = mode;
  return a;
}

}  // namespace

TEST_CASE("FlipPolicy: a higher generation is applied, lower ones and repeats change nothing", "[unit]") {
  FlipDecision d = onDesiredState(startingIn("direct"), desired(3, "hub"), 1000);
  CHECK(d.action == FlipAction::kApply);
  CHECK(d.next.mode == "hub");
  CHECK(d.next.generation == 3);
  CHECK_FALSE(d.next.provisional());
  CHECK(onDesiredState(d.next, desired(3, "hub"), 1000).action == FlipAction::kNone);
  CHECK(onDesiredState(d.next, desired(2, "direct"), 1000).action == FlipAction::kNone);
  CHECK(onDesiredState(d.next, desired(2, "direct"), 1000).next == d.next);
}

TEST_CASE("FlipPolicy: a provisional flip is confirmed, or reverts by itself at its deadline", "[unit]") {
  FlipDecision flip = onDesiredState(startingIn("direct"), desired(1, "hub", 5000), 1000);
  REQUIRE(flip.action == FlipAction::kApply);
  CHECK(flip.next.provisional());
  CHECK(flip.next.previous_mode == "direct");
  CHECK(onClock(flip.next, 4999).action == FlipAction::kNone);

  SECTION("confirmed before the deadline: it stays") {
    FlipDecision confirm = onDesiredState(flip.next, desired(1, "hub", 5000, true), 3000);
    CHECK(confirm.action == FlipAction::kConfirm);
    CHECK_FALSE(confirm.next.provisional());
    CHECK(onClock(confirm.next, 999999).action == FlipAction::kNone);
    CHECK(confirm.next.mode == "hub");
  }
  SECTION("not confirmed: back to the previous mode at the deadline, and a late confirmation is ignored") {
    FlipDecision revert = onClock(flip.next, 5000);
    CHECK(revert.action == FlipAction::kRevert);
    CHECK(revert.next.mode == "direct");
    CHECK(revert.next.reverted);
    CHECK(onClock(revert.next, 99999).action == FlipAction::kNone);
    CHECK(onDesiredState(revert.next, desired(1, "hub", 5000, true), 6000).action == FlipAction::kNone);
    // The controller tries again with a new generation.
    CHECK(onDesiredState(revert.next, desired(2, "hub", 9000), 6000).action == FlipAction::kApply);
  }
}

TEST_CASE("FlipPolicy: a provisional flip that arrives after its deadline is not applied", "[unit]") {
  FlipDecision d = onDesiredState(startingIn("direct"), desired(4, "hub", 1000), 2000);
  CHECK(d.action == FlipAction::kExpired);
  CHECK(d.next.mode == "direct");
  CHECK(d.next.generation == 4);
  CHECK(onClock(d.next, 3000).action == FlipAction::kNone);
}

TEST_CASE("DesiredState: round-trips and refuses what is not a valid version-1 document", "[unit]") {
  wire::DesiredState d = desired(7, "hub", 123456, false);
  d.primary = "edge";
  d.by = "twinhubctl@host";
  std::string error;
  auto back = wire::decodeDesiredState(wire::encodeDesiredState(d), &error);
  REQUIRE(back.has_value());
  CHECK(*back == d);
  for (const char* bad : {"", "null", "[]", "{}", R"({"v":2,"mode":"hub","generation":1})",
                          R"({"v":1,"mode":"fast","generation":1})", R"({"v":1,"mode":"hub","generation":0})",
                          R"({"v":1,"mode":"hub","generation":-1})", R"({"v":1,"mode":"hub","generation":"1"})",
                          R"({"v":1,"mode":"hub","generation":1e300})", R"({"v":1,"mode":1,"generation":1})",
                          R"({"v":1,"mode":"hub","generation":1,"confirmed":"yes"})",
                          R"({"v":1,"mode":"hub","generation":1,"provisional_until_ms":-5})"}) {
    INFO(bad);
    error.clear();
    CHECK_FALSE(wire::decodeDesiredState(bad, &error).has_value());
    CHECK_FALSE(error.empty());
  }
  CHECK_FALSE(wire::decodeDesiredState(std::string(5000, ' ') + wire::encodeDesiredState(d), &error).has_value());
  CHECK(wire::desiredStateKey("pc2.MemoryOrchestratorService") == "pc2.MemoryOrchestratorService");
  CHECK(wire::desiredStateKey("a b*>.") == "a_b___");
  CHECK(wire::desiredStateKey("..x") == "_.x");
}

TEST_CASE("DesiredState: random and mutated documents never crash the decoder", "[unit]") {
  std::mt19937 random(11);
  const std::string good = wire::encodeDesiredState(desired(9, "direct", 77, true));
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string input = good;
    for (int flips = 0; flips < 2; ++flips) input[random() % input.size()] = static_cast<char>(random());
    std::string error;
    if (auto d = wire::decodeDesiredState(input, &error)) {
      ++accepted;
      CHECK((d->mode == "direct" || d->mode == "hub"));
      CHECK(d->generation > 0);
    } else {
      CHECK_FALSE(error.empty());
    }
  }
  CHECK(accepted < 20000);
}

TEST_CASE("AppliedState: survives a save and load, a damaged file is reported and ignored", "[unit]") {
  char pattern[] = "/tmp/twinhub-state-XXXXXX";
  REQUIRE(mkdtemp(pattern) != nullptr);
  const std::string dir = pattern;
  std::string error;
  CHECK_FALSE(loadAppliedState(dir, "pc2.A", &error).has_value());
  CHECK(error.empty());
  AppliedState a = startingIn("hub");
  a.generation = 12;
  a.provisional_until_ms = 99;
  a.previous_mode = "direct";
  REQUIRE(saveAppliedState(dir, "pc2.A", a));
  auto back = loadAppliedState(dir, "pc2.A", &error);
  REQUIRE(back.has_value());
  CHECK(*back == a);
  // Another sidecar's file in the same directory is its own.
  CHECK_FALSE(loadAppliedState(dir, "pc2.B", &error).has_value());
  std::ofstream(dir + "/applied-state.pc2.A.json") << "{\"mode\": \"warp\", \"generation\": 1}";
  CHECK_FALSE(loadAppliedState(dir, "pc2.A", &error).has_value());
  CHECK(error.find("applied-state.pc2.A.json") != std::string::npos);
  CHECK_FALSE(saveAppliedState(dir + "/missing/dir", "pc2.A", a));
  std::filesystem::remove_all(dir);
}
