// BeatStatsCollector: per-interval counts and turn percentiles, reset by each take().
#include <catch2/catch.hpp>

#include "heartbeat/beat_stats.h"

namespace twinhub {
namespace {

TEST_CASE("BeatStats: counts since the last beat, sessions_active carried over", "[unit]") {
  BeatStatsCollector c;
  c.connectionOpened();
  c.connectionOpened();
  c.connectionClosed();
  c.connectFailed();
  c.error();
  health::BeatStats s = c.take();
  CHECK(s.sessions_opened == 2);
  CHECK(s.sessions_active == 1);
  CHECK(s.connect_failures == 1);
  CHECK(s.errors == 1);
  CHECK_FALSE(s.turn_p50_ms);
  s = c.take();
  CHECK(s.sessions_opened == 0);
  CHECK(s.sessions_active == 1);
  c.connectionClosed();
  c.connectionClosed();  // never below zero
  CHECK(c.take().sessions_active == 0);
}

TEST_CASE("BeatStats: turn p50 and p99 over the interval, bounded by sampling", "[unit]") {
  BeatStatsCollector c;
  for (int i = 1; i <= 100; ++i) c.turn(i / 1000.0);  // 1..100 ms
  health::BeatStats s = c.take();
  REQUIRE(s.turn_p50_ms);
  CHECK(*s.turn_p50_ms == Approx(51).margin(1));
  CHECK(*s.turn_p99_ms == Approx(99).margin(1));
  for (int i = 0; i < 100000; ++i) c.turn(i % 2 ? 0.010 : 0.001);  // far beyond the sample cap
  s = c.take();
  CHECK(*s.turn_p99_ms == Approx(10));
  CHECK(*s.turn_p50_ms >= 1);
}

TEST_CASE("BeatStats: the tees forward every event and count only the beat's share", "[unit]") {
  BeatStatsCollector c;
  NullHubStats null_hub;
  TeeHubStats hub(null_hub, c);
  hub.sessionOpened(SessionRole::kClient);  // a front connection: counted by the front tee
  hub.sessionOpened(SessionRole::kServer);
  hub.sessionOpenFailed("no_responders");
  hub.frameDropped("duplicate");
  hub.frameDropped("malformed");
  TeeFrontStats front(std::make_shared<NullFrontStats>(), c);
  front.connectionOpened();
  front.upstreamConnectFailed();
  front.turnCompleted(0.002);
  health::BeatStats s = c.take();
  CHECK(s.sessions_opened == 2);
  CHECK(s.connect_failures == 2);
  CHECK(s.errors == 1);
  CHECK(*s.turn_p50_ms == Approx(2));
}

}  // namespace
}  // namespace twinhub
