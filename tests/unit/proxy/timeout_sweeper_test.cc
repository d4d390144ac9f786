#include "proxy/timeout_sweeper.h"

#include <uv.h>

#include <catch2/catch.hpp>
#include <vector>

namespace twinhub {
namespace {

TEST_CASE("ActivityClock: idle timeout counts from the last byte either way", "[unit]") {
  ActivityClock clock({.idle_ms = 1000, .fin_ms = 100}, 5000);
  CHECK(clock.due(5999) == Timeout::kNone);
  CHECK(clock.due(6000) == Timeout::kIdle);
  clock.bytesMoved(5900);
  CHECK(clock.due(6000) == Timeout::kNone);
  CHECK(clock.due(6900) == Timeout::kIdle);
}

TEST_CASE("ActivityClock: FIN timeout applies only once half-closed, and bytes still count", "[unit]") {
  ActivityClock clock({.idle_ms = 10000, .fin_ms = 100}, 0);
  CHECK(clock.due(500) == Timeout::kNone);  // open both ways: only the idle timeout applies
  clock.halfClosed(1000);
  CHECK(clock.due(1099) == Timeout::kNone);
  CHECK(clock.due(1100) == Timeout::kFin);
  // An answer still streaming after the FIN keeps the connection.
  clock.bytesMoved(1090);
  CHECK(clock.due(1150) == Timeout::kNone);
  CHECK(clock.due(1190) == Timeout::kFin);
}

TEST_CASE("ActivityClock: 0 turns a timeout off", "[unit]") {
  ActivityClock clock({.idle_ms = 0, .fin_ms = 0}, 0);
  clock.halfClosed(1);
  CHECK(clock.due(uint64_t{1} << 40) == Timeout::kNone);
  ActivityClock idle_only({.idle_ms = 50, .fin_ms = 0}, 0);
  idle_only.halfClosed(10);
  CHECK(idle_only.due(59) == Timeout::kNone);
  CHECK(idle_only.due(60) == Timeout::kIdle);
}

// A connection stand-in: records its timeouts and leaves the sweeper the way Connection does.
struct FakeConnection : TimeoutTarget {
  FakeConnection(TimeoutSweeper& s, TimeoutSettings settings, uint64_t now) : sweeper(s) {
    entry.clock = ActivityClock(settings, now);
    entry.target = this;
    sweeper.add(entry);
  }
  ~FakeConnection() { sweeper.remove(entry); }
  void onTimeout(Timeout which) override {
    fired.push_back(which);
    sweeper.remove(entry);
  }
  TimeoutSweeper& sweeper;
  TimeoutEntry entry;
  std::vector<Timeout> fired;
};

struct Loop {
  Loop() { uv_loop_init(&loop); }
  ~Loop() {
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK(uv_loop_close(&loop) == 0);
  }
  uv_loop_t loop;
};

TEST_CASE("TimeoutSweeper: one sweep closes exactly the expired entries, even as they leave", "[unit]") {
  Loop l;
  TimeoutSweeper sweeper(&l.loop);
  FakeConnection quiet(sweeper, {.idle_ms = 100, .fin_ms = 10}, 0);
  FakeConnection busy(sweeper, {.idle_ms = 100, .fin_ms = 10}, 0);
  FakeConnection half(sweeper, {.idle_ms = 100, .fin_ms = 10}, 0);
  CHECK(sweeper.size() == 3);
  CHECK(sweeper.timerOpen());
  CHECK(sweeper.tickMs() == TimeoutSweeper::kMinTickMs);  // fin 10 ms / 4, at least 10 ms
  busy.entry.clock.bytesMoved(90);
  half.entry.clock.halfClosed(80);
  sweeper.sweep(100);
  CHECK(quiet.fired == std::vector<Timeout>{Timeout::kIdle});
  CHECK(busy.fired.empty());
  CHECK(half.fired == std::vector<Timeout>{Timeout::kFin});
  CHECK(sweeper.size() == 1);
  sweeper.sweep(190);
  CHECK(busy.fired == std::vector<Timeout>{Timeout::kIdle});
  CHECK(sweeper.size() == 0);
  CHECK_FALSE(sweeper.timerOpen());  // nothing left to watch: no handle held
}

TEST_CASE("TimeoutSweeper: the tick follows the shortest timeout, within 10 ms and 1 s", "[unit]") {
  Loop l;
  TimeoutSweeper sweeper(&l.loop);
  FakeConnection slow(sweeper, {.idle_ms = 600000, .fin_ms = 30000}, 0);
  CHECK(sweeper.tickMs() == 1000);
  FakeConnection fast(sweeper, {.idle_ms = 0, .fin_ms = 200}, 0);
  CHECK(sweeper.tickMs() == 50);
  FakeConnection off(sweeper, {.idle_ms = 0, .fin_ms = 0}, 0);
  CHECK(sweeper.tickMs() == 50);
  sweeper.shutdown();
  CHECK_FALSE(sweeper.timerOpen());
}

TEST_CASE("TimeoutSweeper: the timer fires on the loop and goes once the last entry has left", "[unit]") {
  Loop l;
  TimeoutSweeper sweeper(&l.loop);
  uv_update_time(&l.loop);
  FakeConnection idle(sweeper, {.idle_ms = 40, .fin_ms = 0}, sweeper.nowMs());
  const uint64_t start = uv_hrtime();
  // The sweeper's timer is the only handle: the loop returns once it is closed.
  uv_run(&l.loop, UV_RUN_DEFAULT);
  const double elapsed_ms = static_cast<double>(uv_hrtime() - start) / 1e6;
  CHECK(idle.fired == std::vector<Timeout>{Timeout::kIdle});
  CHECK(elapsed_ms >= 40);
  CHECK(elapsed_ms < 1000);
  CHECK_FALSE(sweeper.timerOpen());
}

TEST_CASE("TimeoutSweeper: housekeeping keeps the timer until it reports nothing left", "[unit]") {
  Loop l;
  TimeoutSweeper sweeper(&l.loop);
  int calls = 0;
  sweeper.setHousekeeping([&](uint64_t) { return ++calls < 3; });
  {
    FakeConnection gone(sweeper, {.idle_ms = 0, .fin_ms = 40}, 0);
  }
  CHECK(sweeper.timerOpen());
  uv_run(&l.loop, UV_RUN_DEFAULT);
  CHECK(calls == 3);
  CHECK_FALSE(sweeper.timerOpen());
}

}  // namespace
}  // namespace twinhub
