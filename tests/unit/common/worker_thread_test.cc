#include "common/worker_thread.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <vector>

TEST_CASE("WorkerThread: runs tasks in order, finishes what is queued when stopped, cuts sleeps short", "[unit]") {
  std::vector<int> ran;
  bool slept_through = true;
  auto started = std::chrono::steady_clock::now();
  {
    twinhub::WorkerThread worker;
    for (int i = 0; i < 5; ++i) worker.post([&ran, i] { ran.push_back(i); });
    worker.post([&] { slept_through = worker.sleep(10000); });
    worker.post([&ran] { ran.push_back(5); });
    worker.stop();
  }
  CHECK(ran == std::vector<int>{0, 1, 2, 3, 4, 5});
  CHECK_FALSE(slept_through);  // stop() ended the 10 s sleep
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(5));
}
