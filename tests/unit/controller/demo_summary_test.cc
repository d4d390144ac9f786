// The demo's figures from its records (controller/src/demo): per-fault stall and requests in
// flight, what counts as lost or served twice, the aggregator's alerts and sync histogram.
#include <catch2/catch.hpp>

#include "demo/alert_log.h"
#include "demo/demo_result.h"

namespace twinhub::ctl::demo {

namespace {

DemoResult withFault(double start, double end, bool unreplicated) {
  DemoResult r;
  r.target_agents = {"A", "B"};
  FaultRecord f;
  f.name = "crash";
  f.start_ms = start;
  f.end_ms = end;
  f.agent = "B";
  f.unreplicated_agent = unreplicated;
  r.faults.push_back(f);
  return r;
}

}  // namespace

TEST_CASE("Demo summary: a fault's stall is the longest request overlapping it, in flight counts the ones it cut into",
          "[unit]") {
  DemoResult r = withFault(1000, 2000, false);
  std::vector<RequestRecord> records = {
      {100, 5, 0, true},     // before: not in flight
      {990, 400, 0, true},   // in flight at 1000, stalled 400 ms
      {1500, 30, 1, true},   // inside the window
      {3500, 900, 1, true},  // after the window (end + 1 s): not counted
  };
  r.load.sent = 4;
  summarize(records, &r, 500);
  CHECK(r.faults[0].in_flight_at_start == 1);
  CHECK(r.faults[0].longest_stall_ms == Approx(400));
  CHECK(r.faults[0].failed == 0);
  CHECK(r.lost == 0);
  REQUIRE(r.timeline.size() == 8);
  CHECK(r.timeline[1].rate == Approx(2));  // one request started in [500, 1000): 2 per second
  CHECK(r.timeline[1].max_ms == Approx(400));
}

TEST_CASE("Demo summary: a failed request is lost unless its agent, having no replica, was down", "[unit]") {
  std::vector<RequestRecord> records = {{1200, 5000, 1, false}, {1300, 5000, 0, false}};
  DemoResult unreplicated = withFault(1000, 2000, true);
  summarize(records, &unreplicated, 500);
  CHECK(unreplicated.lost == 1);  // the one to A
  DemoResult replicated = withFault(1000, 2000, false);
  summarize(records, &replicated, 500);
  CHECK(replicated.lost == 2);
}

TEST_CASE("Demo summary: served twice counts duplicates within a ledger and ids served by two processes", "[unit]") {
  DemoResult r;
  r.load.sent = 100;
  r.ledgers.unique_ids = 102;  // two ids served by an agent and again by its replica
  r.ledgers.duplicates = 1;
  summarize({}, &r, 500);
  CHECK(r.served_twice == 3);
}

TEST_CASE("Demo alerts: the first alert of the kind and subject at or after the fault", "[unit]") {
  const std::string out =
      "twinhubctl: aggregator demo watching 2 hub(s)\n"
      R"(alert {"v":1,"kind":"hub_down","subject":"edge","detected_at":900,"summary":"old"})" "\n"
      R"(recovery {"v":1,"kind":"hub_up","subject":"edge","detected_at":950,"summary":"up"})" "\n"
      R"(alert {"v":1,"kind":"hub_down","subject":"central","detected_at":1100,"summary":"other hub"})" "\n"
      R"(alert {"v":1,"kind":"hub_down","subject":"edge","detected_at":1200,"summary":"this one"})" "\n";
  auto a = findAlert(out, "hub_down", "edge", 1000);
  REQUIRE(a.has_value());
  CHECK(a->detected_at_ms == 1200);
  CHECK(a->summary == "this one");
  CHECK_FALSE(findAlert(out, "hub_frozen", "edge", 0).has_value());
}

TEST_CASE("Demo alerts: sync p50/p99 are the bucket bounds over every hub's histogram", "[unit]") {
  const std::string metrics =
      "# TYPE twinhub_health_sync_latency_seconds histogram\n"
      "twinhub_health_sync_latency_seconds_bucket{hub=\"edge\",le=\"0.001\"} 100\n"
      "twinhub_health_sync_latency_seconds_bucket{hub=\"edge\",le=\"0.005\"} 100\n"
      "twinhub_health_sync_latency_seconds_bucket{hub=\"edge\",le=\"+Inf\"} 100\n"
      "twinhub_health_sync_latency_seconds_bucket{hub=\"central\",le=\"0.001\"} 0\n"
      "twinhub_health_sync_latency_seconds_bucket{hub=\"central\",le=\"0.005\"} 97\n"
      "twinhub_health_sync_latency_seconds_bucket{hub=\"central\",le=\"+Inf\"} 100\n";
  const SyncFigures f = syncFigures(metrics);
  CHECK(f.beats == 200);
  REQUIRE(f.p50_ms.has_value());
  CHECK(*f.p50_ms == Approx(1));  // 100 of 200 under 1 ms
  CHECK_FALSE(f.p99_ms.has_value());  // 197 of 200 under 5 ms: p99 is past the largest bound
}

}  // namespace twinhub::ctl::demo
