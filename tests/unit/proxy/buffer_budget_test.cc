#include "proxy/buffer_budget.h"

#include <catch2/catch.hpp>

namespace twinhub {
namespace {

struct Waiter : BudgetWaiter {
  void onBudgetAvailable() override { ++woken; }
  int woken = 0;
};

struct Stats : BudgetStats {
  void budgetUsed(size_t bytes) override { used = bytes; }
  void budgetLimit(size_t bytes) override { limit = bytes; }
  void budgetPaused() override { ++paused; }
  size_t used = 0;
  size_t limit = 0;
  int paused = 0;
};

TEST_CASE("BufferBudget: exhausted at the limit, waiters woken below 7/8 of it", "[unit]") {
  BufferBudget budget(800);
  Stats stats;
  budget.setStats(&stats);
  CHECK(stats.limit == 800);
  budget.charge(799);
  CHECK_FALSE(budget.exhausted());
  budget.charge(1);
  CHECK(budget.exhausted());
  CHECK(stats.used == 800);
  Waiter a, b;
  budget.wait(&a);
  budget.wait(&b);
  budget.wait(&b);  // waiting twice is waiting once
  CHECK(budget.waiting() == 2);
  CHECK(stats.paused == 2);
  budget.credit(99);  // 701: still above 700
  CHECK(a.woken == 0);
  budget.credit(1);  // 700
  CHECK(a.woken == 1);
  CHECK(b.woken == 1);
  CHECK(budget.waiting() == 0);
  budget.credit(10);
  CHECK(a.woken == 1);  // woken once per wait
  CHECK(stats.used == 690);
}

TEST_CASE("BufferBudget: a cancelled waiter is never called", "[unit]") {
  BufferBudget budget(100);
  budget.charge(100);
  Waiter gone;
  budget.wait(&gone);
  budget.cancel(&gone);
  budget.credit(100);
  CHECK(gone.woken == 0);
  CHECK(budget.used() == 0);
}

TEST_CASE("BufferBudget: a higher limit wakes the waiters, 0 means no limit", "[unit]") {
  BufferBudget budget(100);
  budget.charge(150);
  Waiter w;
  budget.wait(&w);
  budget.setLimit(1000);
  CHECK(w.woken == 1);
  budget.setLimit(0);
  budget.charge(1u << 30);
  CHECK_FALSE(budget.exhausted());
}

TEST_CASE("BufferBudget: a waiter that waits again from its wake-up is kept for the next round", "[unit]") {
  BufferBudget budget(80);
  struct Again : BudgetWaiter {
    explicit Again(BufferBudget& b) : budget(b) {}
    void onBudgetAvailable() override {
      ++woken;
      budget.charge(80);  // it read and queued again, and is over the limit once more
      if (budget.exhausted()) budget.wait(this);
    }
    BufferBudget& budget;
    int woken = 0;
  } again(budget);
  budget.charge(80);
  budget.wait(&again);
  budget.credit(80);
  CHECK(again.woken == 1);  // not called again from the same credit
  CHECK(budget.waiting() == 1);
  budget.credit(10);  // 70: room again
  CHECK(again.woken == 2);
}

}  // namespace
}  // namespace twinhub
