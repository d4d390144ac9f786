// BufferBudget: the memory held in user-space send queues across every connection of one loop,
// against one limit for the whole process. The per-connection watermarks bound what one stuck
// peer costs; the budget bounds what many cost together (issue 7: 100 clients that send and
// never read held 230 MB). Over the limit, a connection that has to queue bytes stops reading
// (like its high watermark) and waits; once the total falls below 7/8 of the limit every waiter
// is told to read again. Connections whose bytes go straight through never wait, and one whose
// queue has drained may read again at once (else stuck connections holding the budget would
// starve it).
//
// Counts what the queues hold in memory (a read buffer's whole footprint, not only its payload).
// Loop thread only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <unordered_set>

namespace twinhub {

class BudgetWaiter {
 public:
  // The budget has room again: resume reading what was paused for it.
  virtual void onBudgetAvailable() = 0;

 protected:
  ~BudgetWaiter() = default;
};

// What the budget reports, so that the proxy does not depend on the metrics library.
class BudgetStats {
 public:
  virtual ~BudgetStats() = default;
  virtual void budgetUsed(size_t bytes) = 0;
  virtual void budgetLimit(size_t bytes) = 0;
  // A connection stopped reading because the budget was exhausted.
  virtual void budgetPaused() = 0;
};

class BufferBudget {
 public:
  static constexpr size_t kDefaultLimit = size_t{256} << 20;

  explicit BufferBudget(size_t limit = kDefaultLimit) : limit_(limit) {}
  BufferBudget(const BufferBudget&) = delete;
  BufferBudget& operator=(const BufferBudget&) = delete;

  // 0: no limit. A lower limit applies to the next queued bytes; a higher one wakes the waiters.
  void setLimit(size_t limit);
  void setStats(BudgetStats* stats);

  void charge(size_t bytes);
  // May call waiters' onBudgetAvailable() before it returns.
  void credit(size_t bytes);
  bool exhausted() const { return limit_ != 0 && used_ >= limit_; }

  // `waiter` has paused for the budget; it is called once, when there is room again.
  void wait(BudgetWaiter* waiter);
  void cancel(BudgetWaiter* waiter) { waiters_.erase(waiter); }

  size_t used() const { return used_; }
  size_t limit() const { return limit_; }
  size_t waiting() const { return waiters_.size(); }

 private:
  size_t resumeLevel() const { return limit_ - limit_ / 8; }
  void wakeIfRoom();

  size_t limit_;
  size_t used_ = 0;
  std::unordered_set<BudgetWaiter*> waiters_;
  BudgetStats* stats_ = nullptr;
};

}  // namespace twinhub
