#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "migrate/lease.h"
#include "migrate/progress_bar.h"
#include "migrate/soak_judge.h"

using namespace twinhub::ctl;

namespace {

// `beats` beats of `turns` turns each at `p99` ms, `failed` failures in all.
WindowFigures window(int beats, uint64_t turns, double p99, uint64_t failed = 0, bool failing = false) {
  WindowFigures w;
  for (int i = 0; i < beats; ++i) w.addBeat(turns, i == 0 ? failed : 0, p99, failing && i == 0);
  return w;
}

}  // namespace

TEST_CASE("WindowFigures: the p99 is the turns-weighted median of the beats' p99s", "[unit]") {
  WindowFigures w;
  CHECK_FALSE(w.p99Ms().has_value());
  w.addBeat(10, 0, 2.0, false);
  w.addBeat(10, 0, 3.0, false);
  w.addBeat(1, 0, 500.0, false);  // one slow beat with little traffic
  w.addBeat(0, 0, std::nullopt, false);
  CHECK(*w.p99Ms() == 3.0);
  CHECK(w.requests() == 21);
  CHECK(w.beats() == 4);
  w.addBeat(0, 3, std::nullopt, false);
  CHECK(w.errorRate() == Approx(3.0 / 24));
}

TEST_CASE("SoakJudge: a slowed agent, failed requests and a failing agent are breaches, named", "[unit]") {
  SoakThresholds t;  // 1.5x, 5 ms floor, no errors, 20 samples
  BatchFigures baseline{{"pc2.A", window(10, 10, 2.0)}, {"pc2.B", window(10, 10, 40.0)}};

  SECTION("within the thresholds: pass, the fixed cost of the hub under the floor") {
    BatchFigures soak{{"pc2.A", window(10, 10, 6.5)}, {"pc2.B", window(10, 10, 55.0)}};
    CHECK(judgeSoak(baseline, soak, t).kind == SoakVerdict::Kind::kPass);
  }
  SECTION("one sidecar's p99 over both limits") {
    BatchFigures soak{{"pc2.A", window(10, 10, 2.5)}, {"pc2.B", window(10, 10, 61.0)}};
    SoakVerdict v = judgeSoak(baseline, soak, t);
    CHECK(v.kind == SoakVerdict::Kind::kBreach);
    CHECK(v.sidecar == "pc2.B");
    CHECK(v.figure == "latency_p99");
    CHECK(v.value == 61.0);
    CHECK(v.threshold == 60.0);
    CHECK(v.baseline == 40.0);
    CHECK(v.samples == 100);
    CHECK(v.describe().find("pc2.B latency_p99") != std::string::npos);
  }
  SECTION("one failed request") {
    BatchFigures soak{{"pc2.A", window(10, 10, 2.0, 1)}, {"pc2.B", window(10, 10, 40.0)}};
    SoakVerdict v = judgeSoak(baseline, soak, t);
    CHECK(v.kind == SoakVerdict::Kind::kBreach);
    CHECK(v.figure == "error_rate");
    CHECK(v.sidecar == "pc2.A");
  }
  SECTION("an agent reported failing, even with no traffic") {
    BatchFigures soak{{"pc2.A", window(10, 0, 2.0, 0, true)}};
    SoakVerdict v = judgeSoak(baseline, soak, t);
    CHECK(v.kind == SoakVerdict::Kind::kBreach);
    CHECK(v.figure == "agent_failing");
  }
  SECTION("too few requests: not judged") {
    BatchFigures soak{{"pc2.A", window(3, 3, 100.0)}};
    CHECK(judgeSoak(baseline, soak, t).kind == SoakVerdict::Kind::kTooFewSamples);
    CHECK_FALSE(enoughSamples(soak, t));
  }
}

TEST_CASE("Lease: taken when free or expired, renewed by its holder, refused to another", "[unit]") {
  CHECK(decideLease(std::nullopt, "me", 100) == LeaseAction::kTake);
  CHECK(decideLease(Lease{"me", 50, "", 0}, "me", 100) == LeaseAction::kRenew);
  CHECK(decideLease(Lease{"other", 200, "", 0}, "me", 100) == LeaseAction::kRefuse);
  CHECK(decideLease(Lease{"other", 100, "", 0}, "me", 100) == LeaseAction::kTake);
  CHECK(decideLease(Lease{"", 999, "", 0}, "me", 100) == LeaseAction::kTake);
  const Lease lease{"twinhubctl@h:1", 1764512345678, "", 0};
  CHECK(decodeLease(encodeLease(lease)) == lease);
  CHECK_FALSE(decodeLease("garbage").has_value());
  CHECK_FALSE(decodeLease(R"({"holder":1,"expires_ms":2})").has_value());
}

TEST_CASE("Lease: a holder that died in this process scope is taken over before its expiry, no other", "[unit]") {
  const std::string scope = processScope();
  REQUIRE_FALSE(scope.empty());
  pid_t dead = fork();
  if (dead == 0) _exit(0);
  REQUIRE(dead > 0);
  REQUIRE(waitpid(dead, nullptr, 0) == dead);  // reaped: the pid no longer exists

  const Lease gone{"twinhubctl@h:1", 200, scope, dead};
  const Lease alive{"twinhubctl@h:2", 200, scope, getpid()};
  const Lease elsewhere{"twinhubctl@h:3", 200, "another-boot/pid:[1]", dead};
  const Lease unscoped{"twinhubctl@h:4", 200, "", dead};
  CHECK(holderGone(gone, scope));
  CHECK_FALSE(holderGone(alive, scope));
  CHECK_FALSE(holderGone(elsewhere, scope));
  CHECK_FALSE(holderGone(unscoped, scope));
  CHECK(decideLease(gone, "me", 100, holderGone(gone, scope)) == LeaseAction::kTake);
  CHECK(decideLease(alive, "me", 100, holderGone(alive, scope)) == LeaseAction::kRefuse);
  CHECK(decodeLease(encodeLease(gone)) == gone);
  // A pid that is not one is ignored, the rest of the lease kept.
  const auto odd = decodeLease(R"({"holder":"x","expires_ms":5,"scope":"s","pid":-4})");
  REQUIRE(odd.has_value());
  CHECK(odd->scope.empty());
  CHECK(odd->pid == 0);
}

TEST_CASE("ProgressBar: the line says the batches done, the step and how far into it, within the width", "[unit]") {
  ProgressState state;
  state.batches = 4;
  CHECK(renderProgressLine(state, 80) == "[--------------------] 0/4 batches");
  state.batches_done = 2;
  state.batch = 3;
  state.step = "soak";
  state.elapsed_s = 2.5;
  state.step_s = 5;
  // 2 batches done and half the third's soak: (2 + 0.75) / 4 of the bar.
  CHECK(renderProgressLine(state, 80) == "[##############------] 2/4 batches | batch 3 soak 2.5/5.0 s");
  state.elapsed_s = 9;  // a window extended past its plan: capped, never past the bar
  CHECK(renderProgressLine(state, 80) == "[###############-----] 2/4 batches | batch 3 soak 5.0/5.0 s");
  CHECK(renderProgressLine(state, 30).size() == 30);
}
