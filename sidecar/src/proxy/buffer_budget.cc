#include "proxy/buffer_budget.h"

#include <utility>

namespace twinhub {

void BufferBudget::setLimit(size_t limit) {
  limit_ = limit;
  if (stats_) stats_->budgetLimit(limit_);
  wakeIfRoom();
}

void BufferBudget::setStats(BudgetStats* stats) {
  stats_ = stats;
  if (!stats_) return;
  stats_->budgetLimit(limit_);
  stats_->budgetUsed(used_);
}

void BufferBudget::charge(size_t bytes) {
  used_ += bytes;
  if (stats_) stats_->budgetUsed(used_);
}

void BufferBudget::credit(size_t bytes) {
  used_ = bytes < used_ ? used_ - bytes : 0;
  if (stats_) stats_->budgetUsed(used_);
  wakeIfRoom();
}

void BufferBudget::wait(BudgetWaiter* waiter) {
  if (waiters_.insert(waiter).second && stats_) stats_->budgetPaused();
}

void BufferBudget::wakeIfRoom() {
  if (waiters_.empty() || (limit_ != 0 && used_ > resumeLevel())) return;
  // A waiter that resumes may queue and wait again: it must land in a fresh set.
  std::unordered_set<BudgetWaiter*> ready;
  ready.swap(waiters_);
  for (BudgetWaiter* waiter : ready) waiter->onBudgetAvailable();
}

}  // namespace twinhub
