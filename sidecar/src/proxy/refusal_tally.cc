#include "proxy/refusal_tally.h"

namespace twinhub {

bool RefusalTally::add(RefusalReason reason, uint64_t now_ms) {
  ++counts_[static_cast<size_t>(reason)];
  return now_ms >= due_at_ms_;
}

uint64_t RefusalTally::total() const {
  uint64_t sum = 0;
  for (uint64_t n : counts_) sum += n;
  return sum;
}

void RefusalTally::reported(uint64_t now_ms) {
  counts_.fill(0);
  due_at_ms_ = now_ms + interval_ms_;
}

}  // namespace twinhub
