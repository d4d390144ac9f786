// FleetDetector: each alert kind from beats, link states and a clock, without sockets.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "health/fleet_detector.h"

namespace twinhub::ctl {
namespace {

using health::AgentState;
using health::AlertKind;
constexpr size_t kEdge = 0, kCentral = 1;
const std::vector<std::string> kHubs = {"edge", "central"};

class Fleet {
 public:
  explicit Fleet(int64_t grace_ms = 0) : detector_(options(grace_ms)) {
    link(kEdge, LinkState::kUp);
    link(kCentral, LinkState::kUp);
  }
  static DetectorOptions options(int64_t grace_ms) {
    DetectorOptions o;
    o.observer = "test";
    o.hubs = kHubs;
    o.grace_ms = grace_ms;
    return o;
  }

  void link(size_t hub, LinkState state) { detector_.setLink(hub, state, "", now_); }

  // One beat of `id` published through `via`, received on each of `recvs`.
  BeatOutcome beat(const std::string& id, const std::string& machine, size_t via, std::vector<size_t> recvs,
                   AgentState agent = AgentState::kOk) {
    health::Heartbeat b;
    b.id = id;
    b.machine = machine;
    b.served = {"svc"};
    b.via = kHubs[via];
    b.seq = ++seq_[id];
    b.ts_ms = now_ - 2;
    b.interval_ms = 500;
    b.agent.state = agent;
    b.mode = "hub";
    b.hubs = {{"edge", "up", true}, {"central", "up", false}};
    BeatOutcome out = BeatOutcome::kAccepted;
    for (size_t r : recvs) out = detector_.onBeat(b, r, now_);
    return out;
  }

  // Beats every 500 ms for `ms`, published through every hub in `vias`, each received on `recvs`.
  // `sidecars`: (id, machine) pairs.
  void beatFor(int64_t ms, const std::vector<std::pair<std::string, std::string>>& sidecars,
               const std::vector<size_t>& vias, const std::vector<size_t>& recvs, AgentState agent = AgentState::kOk) {
    for (int64_t t = 0; t < ms; t += 100) {
      if (t % 500 == 0) {
        for (const auto& [id, machine] : sidecars) {
          for (size_t via : vias) beat(id, machine, via, recvs, agent);
        }
      }
      advance(100);
    }
  }

  void advance(int64_t ms) {
    for (int64_t t = 0; t < ms; t += 50) {
      now_ += 50;
      collect();
    }
  }
  void collect() {
    for (Transition& t : detector_.evaluate(now_)) alerts_.push_back(std::move(t));
  }
  int count(AlertKind kind, const std::string& subject = "") const {
    int n = 0;
    for (const Transition& t : alerts_) n += t.alert.kind == kind && (subject.empty() || t.alert.subject == subject);
    return n;
  }
  const Transition* find(AlertKind kind) const {
    for (const Transition& t : alerts_) {
      if (t.alert.kind == kind) return &t;
    }
    return nullptr;
  }
  int64_t now() const { return now_; }
  FleetDetector& detector() { return detector_; }
  size_t total() const { return alerts_.size(); }

 private:
  FleetDetector detector_;
  int64_t now_ = 1'700'000'000'000;
  std::map<std::string, uint64_t> seq_;
  std::vector<Transition> alerts_;
};

const std::vector<size_t> kBoth = {kEdge, kCentral};

TEST_CASE("FleetDetector: a healthy fleet heard through both hubs raises nothing", "[unit]") {
  Fleet f;
  f.beatFor(5000, {{"pc2.a", "pc2"}, {"pc2.b", "pc2"}, {"mainpc.c", "mainpc"}}, kBoth, kBoth);
  CHECK(f.total() == 0);
  CHECK(f.detector().known() == 3);
  CHECK(f.detector().healthy() == 3);
  const health::Aggregate a = f.detector().aggregate(f.now());
  CHECK(a.leaf == "up");
  REQUIRE(a.sidecars.size() == 3);
  CHECK(a.sidecars[0].heard_via == std::vector<std::string>{"edge", "central"});
  CHECK(a.sidecars[0].hub_in_use == "edge");
}

TEST_CASE("FleetDetector: agent_down once when a beat says failing, agent_up when ok again", "[unit]") {
  Fleet f;
  f.beat("pc2.a", "pc2", kEdge, kBoth);
  f.collect();
  CHECK(f.total() == 0);
  f.beat("pc2.a", "pc2", kEdge, kBoth, AgentState::kFailing);
  f.beat("pc2.a", "pc2", kCentral, kBoth, AgentState::kFailing);
  f.collect();
  CHECK(f.count(AlertKind::kAgentDown, "pc2.a") == 1);
  CHECK(f.detector().healthy() == 0);
  f.advance(300);
  f.beat("pc2.a", "pc2", kEdge, kBoth, AgentState::kOk);
  f.collect();
  REQUIRE(f.count(AlertKind::kAgentUp, "pc2.a") == 1);
  const Transition* up = f.find(AlertKind::kAgentUp);
  REQUIRE(up->opened_at_ms);
  CHECK(up->alert.detected_at_ms - *up->opened_at_ms == 300);
}

TEST_CASE("FleetDetector: a first beat that says failing raises agent_down, none never alerts", "[unit]") {
  Fleet f;
  f.beat("pc2.a", "pc2", kEdge, {kEdge}, AgentState::kFailing);
  f.beat("pc2.front", "pc2", kEdge, {kEdge}, AgentState::kNone);
  f.collect();
  CHECK(f.count(AlertKind::kAgentDown) == 1);
  CHECK(f.total() == 1);
}

TEST_CASE("FleetDetector: sidecar_lost after three silent intervals, sidecar_back when heard", "[unit]") {
  Fleet f;
  f.beatFor(2000, {{"pc2.a", "pc2"}, {"mainpc.b", "mainpc"}}, kBoth, kBoth);
  f.beatFor(2000, {{"mainpc.b", "mainpc"}}, kBoth, kBoth);  // pc2.a silent from here
  REQUIRE(f.count(AlertKind::kSidecarLost, "pc2.a") == 1);
  const Transition* lost = f.find(AlertKind::kSidecarLost);
  CHECK(lost->alert.evidence["silent_ms"].get<int64_t>() > 1500);
  CHECK(lost->alert.evidence["silent_ms"].get<int64_t>() <= 1600);
  CHECK(f.count(AlertKind::kSidecarLost) == 1);
  CHECK(f.detector().lost() == 1);
  f.beat("pc2.a", "pc2", kEdge, kBoth);
  f.collect();
  CHECK(f.count(AlertKind::kSidecarBack, "pc2.a") == 1);
  CHECK(f.detector().lost() == 0);
}

TEST_CASE("FleetDetector: with no hub reachable nothing is declared lost", "[unit]") {
  Fleet f;
  f.beatFor(1000, {{"pc2.a", "pc2"}}, kBoth, kBoth);
  f.link(kEdge, LinkState::kDown);
  f.link(kCentral, LinkState::kDown);
  f.advance(5000);
  CHECK(f.count(AlertKind::kSidecarLost) == 0);
  CHECK(f.count(AlertKind::kHubDown) == 2);
}

TEST_CASE("FleetDetector: hub_down and hub_up follow our connection", "[unit]") {
  Fleet f;
  f.beatFor(1000, {{"pc2.a", "pc2"}}, kBoth, kBoth);
  f.link(kCentral, LinkState::kDown);
  f.advance(50);
  REQUIRE(f.count(AlertKind::kHubDown, "central") == 1);
  CHECK(f.find(AlertKind::kHubDown)->alert.evidence["observer_link"] == "down");
  f.beatFor(2000, {{"pc2.a", "pc2"}}, {kEdge}, {kEdge});
  CHECK(f.count(AlertKind::kHubDown) == 1);
  CHECK(f.count(AlertKind::kSidecarLost) == 0);
  CHECK(f.count(AlertKind::kLeafDown) == 0);  // central is down: the link cannot be judged
  f.link(kCentral, LinkState::kUp);
  f.beatFor(500, {{"pc2.a", "pc2"}}, kBoth, kBoth);
  CHECK(f.count(AlertKind::kHubUp, "central") == 1);
}

TEST_CASE("FleetDetector: hub_frozen when our flushes time out, then hub_down if the connection drops", "[unit]") {
  Fleet f;
  f.beatFor(1000, {{"pc2.a", "pc2"}}, kBoth, kBoth);
  f.link(kEdge, LinkState::kFrozen);
  f.advance(50);
  CHECK(f.count(AlertKind::kHubFrozen, "edge") == 1);
  f.link(kEdge, LinkState::kDown);
  f.advance(50);
  CHECK(f.count(AlertKind::kHubDown, "edge") == 1);
  f.link(kEdge, LinkState::kUp);
  f.advance(50);
  const Transition* up = f.find(AlertKind::kHubUp);
  REQUIRE(up);
  REQUIRE(up->opened_at_ms);
  CHECK(f.now() - *up->opened_at_ms == 100);  // from the freeze's detection, not from the drop
}

TEST_CASE("FleetDetector: hub_down when no sidecar publishes through a hub we still reach", "[unit]") {
  Fleet f;
  f.beatFor(2000, {{"pc2.a", "pc2"}, {"mainpc.b", "mainpc"}}, kBoth, kBoth);
  f.beatFor(2000, {{"pc2.a", "pc2"}, {"mainpc.b", "mainpc"}}, {kEdge}, kBoth);
  REQUIRE(f.count(AlertKind::kHubDown, "central") == 1);
  CHECK(f.find(AlertKind::kHubDown)->alert.evidence["observer_link"] == "up");
  CHECK(f.count(AlertKind::kLeafDown) == 0);
  f.beatFor(600, {{"pc2.a", "pc2"}, {"mainpc.b", "mainpc"}}, kBoth, kBoth);
  CHECK(f.count(AlertKind::kHubUp, "central") == 1);
}

TEST_CASE("FleetDetector: leaf_down when beats stop crossing between hubs we both reach, leaf_up after", "[unit]") {
  Fleet f;
  f.beatFor(2000, {{"pc2.a", "pc2"}, {"mainpc.b", "mainpc"}}, kBoth, kBoth);
  // Cut: each copy arrives only through the hub it was published through.
  int64_t cut_at = f.now();
  int64_t detected = 0;
  for (int i = 0; i < 10 && !detected; ++i) {
    f.beat("pc2.a", "pc2", kEdge, {kEdge});
    f.beat("pc2.a", "pc2", kCentral, {kCentral});
    f.beat("mainpc.b", "mainpc", kEdge, {kEdge});
    f.beat("mainpc.b", "mainpc", kCentral, {kCentral});
    for (int t = 0; t < 5 && !detected; ++t) {
      f.advance(100);
      if (f.count(AlertKind::kLeafDown)) detected = f.now();
    }
  }
  REQUIRE(detected);
  CHECK(detected - cut_at <= 1500);
  CHECK(f.find(AlertKind::kLeafDown)->alert.evidence["broken"].size() == 2);
  CHECK(f.count(AlertKind::kSidecarLost) == 0);
  CHECK(f.count(AlertKind::kPartition) == 0);  // every machine is still heard through both hubs
  f.beatFor(1000, {{"pc2.a", "pc2"}, {"mainpc.b", "mainpc"}}, kBoth, kBoth);
  CHECK(f.count(AlertKind::kLeafUp) == 1);
  CHECK(f.detector().aggregate(f.now()).leaf == "up");
}

TEST_CASE("FleetDetector: a hub that just came back gets a grace period before leaf_down", "[unit]") {
  Fleet f(3000);
  f.advance(3000);
  f.beatFor(2000, {{"pc2.a", "pc2"}}, kBoth, kBoth);
  f.link(kCentral, LinkState::kDown);
  f.beatFor(1000, {{"pc2.a", "pc2"}}, {kEdge}, {kEdge});
  f.link(kCentral, LinkState::kUp);
  // Sidecars and the leaf link take a moment: only own-hub copies for 2 s.
  f.beatFor(2000, {{"pc2.a", "pc2"}}, kBoth, std::vector<size_t>{});
  f.beatFor(2000, {{"pc2.a", "pc2"}}, kBoth, kBoth);
  CHECK(f.count(AlertKind::kLeafDown) == 0);
  CHECK(f.count(AlertKind::kHubUp) == 1);
}

TEST_CASE("FleetDetector: partition when a machine is heard through its own hub only", "[unit]") {
  Fleet f;
  auto round = [&](bool cut) {
    for (int t = 0; t < 5; ++t) {
      if (t == 0) {
        f.beat("mainpc.b", "mainpc", kEdge, kBoth);
        f.beat("mainpc.b", "mainpc", kCentral, kBoth);
        f.beat("pc2.a", "pc2", kEdge, kBoth);
        if (!cut) f.beat("pc2.a", "pc2", kCentral, kBoth);
      }
      f.advance(100);
    }
  };
  for (int i = 0; i < 4; ++i) round(false);
  CHECK(f.total() == 0);
  for (int i = 0; i < 4; ++i) round(true);
  REQUIRE(f.count(AlertKind::kPartition, "pc2") == 1);
  CHECK(f.count(AlertKind::kPartition, "mainpc") == 0);
  CHECK(f.find(AlertKind::kPartition)->alert.evidence["heard_via"] == nlohmann::json::array({"edge"}));
  CHECK(f.detector().aggregate(f.now()).partitioned == std::vector<std::string>{"pc2"});
  for (int i = 0; i < 2; ++i) round(false);
  CHECK(f.count(AlertKind::kPartitionHealed, "pc2") == 1);
}

// The race CI caught: a killed sidecar's last beats through the two hubs arrive a moment apart,
// so one route goes stale just before the other; that is sidecar_lost, never a partition.
TEST_CASE("FleetDetector: a sidecar killed between its beats through the two hubs is lost, not partitioned",
          "[unit]") {
  Fleet f;
  f.beatFor(2000, {{"pc2.a", "pc2"}, {"mainpc.b", "mainpc"}}, kBoth, kBoth);
  f.beat("pc2.a", "pc2", kCentral, kBoth);
  f.advance(150);
  f.beat("pc2.a", "pc2", kEdge, kBoth);  // its last words, 150 ms after the copy through central
  f.beatFor(3000, {{"mainpc.b", "mainpc"}}, kBoth, kBoth);
  CHECK(f.count(AlertKind::kSidecarLost, "pc2.a") == 1);
  CHECK(f.count(AlertKind::kPartition) == 0);
  CHECK(f.count(AlertKind::kHubDown) == 0);
}

TEST_CASE("FleetDetector: the one machine still heard, through one hub, is partitioned", "[unit]") {
  Fleet f;
  f.beatFor(2000, {{"pc2.a", "pc2"}, {"mainpc.b", "mainpc"}}, kBoth, kBoth);
  // From pc2's side of a cut: central unreachable, mainpc's sidecars silent.
  f.link(kCentral, LinkState::kDown);
  f.beatFor(2500, {{"pc2.a", "pc2"}}, {kEdge}, {kEdge});
  CHECK(f.count(AlertKind::kHubDown, "central") == 1);
  CHECK(f.count(AlertKind::kSidecarLost, "mainpc.b") == 1);
  REQUIRE(f.count(AlertKind::kPartition, "pc2") == 1);
  CHECK(f.find(AlertKind::kPartition)->alert.evidence["other_machines_heard"] == false);
  CHECK(f.count(AlertKind::kPartition, "mainpc") == 0);
}

TEST_CASE("FleetDetector: sidecars beyond the cap are refused, known ones still counted", "[unit]") {
  DetectorOptions o = Fleet::options(0);
  o.max_sidecars = 2;
  FleetDetector d(o);
  health::Heartbeat b;
  b.machine = "pc2";
  b.via = "edge";
  b.interval_ms = 500;
  b.mode = "hub";
  for (const char* id : {"a", "b"}) {
    b.id = id;
    CHECK(d.onBeat(b, 0, 1000) == BeatOutcome::kAccepted);
  }
  b.id = "c";
  CHECK(d.onBeat(b, 0, 1000) == BeatOutcome::kOverCapacity);
  b.id = "a";
  CHECK(d.onBeat(b, 0, 1100) == BeatOutcome::kAccepted);
  CHECK(d.onBeat(b, 7, 1100) == BeatOutcome::kUnknownHub);
  CHECK(d.known() == 2);
}

}  // namespace
}  // namespace twinhub::ctl

namespace twinhub::ctl {
namespace {

// A restarted aggregator takes over a stored aggregate: what is still wrong is not raised again,
// and what has ended is reported as a recovery of the stored alert.
TEST_CASE("FleetDetector: restored from an aggregate, open conditions are not raised again", "[unit]") {
  Fleet before;
  before.beatFor(2000, {{"pc2.a", "pc2"}, {"pc2.b", "pc2"}}, kBoth, kBoth);
  before.beat("pc2.a", "pc2", kEdge, kBoth, AgentState::kFailing);
  before.link(kCentral, LinkState::kDown);
  before.beatFor(2000, {{"pc2.a", "pc2"}}, {kEdge}, {kEdge}, AgentState::kFailing);  // pc2.b falls silent
  REQUIRE(before.count(AlertKind::kHubDown, "central") == 1);
  REQUIRE(before.count(AlertKind::kSidecarLost, "pc2.b") == 1);
  const health::Aggregate stored = before.detector().aggregate(before.now());
  REQUIRE(stored.open_alerts.size() == 3);

  Fleet after;  // both links up in its constructor: central comes back meanwhile
  after.link(kCentral, LinkState::kDown);
  after.detector().restore(stored, after.now());
  after.beatFor(3000, {{"pc2.a", "pc2"}}, {kEdge}, {kEdge}, AgentState::kFailing);
  // pc2.a still failing (its beats say so) and pc2.b still lost: nothing new.
  CHECK(after.total() == 0);
  after.link(kCentral, LinkState::kUp);
  for (size_t via : kBoth) {
    after.beat("pc2.b", "pc2", via, kBoth);
    after.beat("pc2.a", "pc2", via, kBoth, AgentState::kOk);
  }
  after.advance(100);
  CHECK(after.count(AlertKind::kSidecarBack, "pc2.b") == 1);
  CHECK(after.count(AlertKind::kAgentUp, "pc2.a") == 1);
  REQUIRE(after.count(AlertKind::kHubUp, "central") == 1);
  const Transition* up = after.find(AlertKind::kHubUp);
  REQUIRE(up->opened_at_ms);
  CHECK(*up->opened_at_ms == stored.ts_ms);
  CHECK(after.count(AlertKind::kHubDown) == 0);
  CHECK(after.count(AlertKind::kAgentDown) == 0);
}

}  // namespace
}  // namespace twinhub::ctl
