// RefusalTally: counts the connections a front refuses, by reason, and says when to report them,
// so that a flood of thousands a second costs one log line a second, each with the count since
// the line before. Policy only: fed a clock, no I/O, unit-tested alone. Loop thread only.
#pragma once

#include <array>
#include <cstdint>

#include "proxy/front_stats.h"

namespace twinhub {

class RefusalTally {
 public:
  explicit RefusalTally(uint64_t interval_ms) : interval_ms_(interval_ms) {}

  // Counts one refusal at `now_ms`. True when a report is due now; otherwise one is due at
  // dueAt() and the caller should come back then.
  bool add(RefusalReason reason, uint64_t now_ms);
  bool pending() const { return total() > 0; }
  uint64_t dueAt() const { return due_at_ms_; }
  uint64_t count(RefusalReason reason) const { return counts_[static_cast<size_t>(reason)]; }
  uint64_t total() const;
  // Call when the report is written: clears the counts; the next one is due an interval later.
  void reported(uint64_t now_ms);

 private:
  uint64_t interval_ms_;
  uint64_t due_at_ms_ = 0;
  std::array<uint64_t, kRefusalReasons> counts_{};
};

}  // namespace twinhub
