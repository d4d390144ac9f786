// LoopTurnMonitor on a real loop: a callback that keeps the thread busy is a long turn; a loop
// that mostly waits is not.
#include "common/loop_turn_monitor.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <thread>

namespace {

struct RecordingStats {
  double longest = 0;
  int slow = 0;
  twinhub::LoopTurnReports reports() {
    return {[this](double seconds) { longest = seconds; }, [this] { ++slow; }};
  }
};

void busyFor(std::chrono::milliseconds duration) {
  const auto until = std::chrono::steady_clock::now() + duration;
  while (std::chrono::steady_clock::now() < until) {
  }
}

}  // namespace

TEST_CASE("LoopTurnMonitor: reports the longest busy turn, not the time spent waiting", "[unit]") {
  uv_loop_t loop;
  uv_loop_init(&loop);
  RecordingStats stats;
  twinhub::LoopTurnMonitor monitor(&loop, stats.reports());

  // Three timers 30 ms apart: the loop waits between them; the second one is busy for 70 ms.
  int fired = 0;
  uv_timer_t timer;
  uv_timer_init(&loop, &timer);
  timer.data = &fired;
  uv_timer_start(
      &timer,
      [](uv_timer_t* t) {
        int& n = *static_cast<int*>(t->data);
        if (++n == 2) busyFor(std::chrono::milliseconds(70));
        if (n == 3) uv_timer_stop(t);
      },
      30, 30);
  uv_run(&loop, UV_RUN_DEFAULT);
  uv_run(&loop, UV_RUN_NOWAIT);  // one more prepare: the turn that ran the last timer is counted

  CHECK(stats.longest >= 0.070);
  CHECK(stats.longest < 0.100);  // the waits (30 ms each) are not in it
  CHECK(stats.slow == 1);
  CHECK(monitor.longestTurnNs() >= 70'000'000u);

  monitor.close();
  uv_close(reinterpret_cast<uv_handle_t*>(&timer), nullptr);
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
}
