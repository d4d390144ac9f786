#include "common/loop_thread_check.h"

#include <catch2/catch.hpp>

#include <thread>

TEST_CASE("LoopThreadCheck: only the thread that made it is its loop thread", "[unit]") {
  twinhub::LoopThreadCheck check;
  CHECK(check.onLoopThread());
  bool elsewhere = true;
  std::thread([&] { elsewhere = check.onLoopThread(); }).join();
  CHECK_FALSE(elsewhere);
}
