#include "common/memory_trimmer.h"

#include <malloc.h>

#include <cstdlib>

namespace twinhub {

void limitMallocArenas() {
  if (std::getenv("MALLOC_ARENA_MAX") == nullptr) mallopt(M_ARENA_MAX, 2);
}

MemoryTrimmer::MemoryTrimmer(uv_loop_t* loop, uint64_t interval_ms) : loop_(loop), interval_ms_(interval_ms) {
  uv_timer_init(loop_, &timer_);
  timer_.data = this;
  work_.data = this;
}

void MemoryTrimmer::start() {
  if (interval_ms_ == 0) return;
  uv_timer_start(&timer_, onTimer, interval_ms_, interval_ms_);
  uv_unref(reinterpret_cast<uv_handle_t*>(&timer_));  // never what keeps the loop alive
}

void MemoryTrimmer::close() {
  if (closed_) return;
  closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void MemoryTrimmer::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<MemoryTrimmer*>(timer->data);
  if (self->queued_) return;  // the last one has not run yet (a busy pool): no pile-up
  self->queued_ = uv_queue_work(self->loop_, &self->work_, work, done) == 0;
}

void MemoryTrimmer::work(uv_work_t*) { malloc_trim(0); }

void MemoryTrimmer::done(uv_work_t* req, int) { static_cast<MemoryTrimmer*>(req->data)->queued_ = false; }

}  // namespace twinhub
