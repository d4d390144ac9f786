#include "proxy/timeout_sweeper.h"

#include <algorithm>

namespace twinhub {

Timeout ActivityClock::due(uint64_t now_ms) const {
  const uint64_t quiet = now_ms > last_ms_ ? now_ms - last_ms_ : 0;
  if (half_closed_ && settings_.fin_ms != 0 && quiet >= settings_.fin_ms) return Timeout::kFin;
  if (settings_.idle_ms != 0 && quiet >= settings_.idle_ms) return Timeout::kIdle;
  return Timeout::kNone;
}

TimeoutSweeper::~TimeoutSweeper() { closeTimer(); }

uint64_t TimeoutSweeper::tickFor(const TimeoutSettings& settings) {
  uint64_t shortest = kMaxTickMs * 4;
  if (settings.idle_ms != 0) shortest = std::min<uint64_t>(shortest, settings.idle_ms);
  if (settings.fin_ms != 0) shortest = std::min<uint64_t>(shortest, settings.fin_ms);
  return std::clamp<uint64_t>(shortest / 4, kMinTickMs, kMaxTickMs);
}

void TimeoutSweeper::add(TimeoutEntry& entry) {
  if (entry.linked) return;
  entry.linked = true;
  entry.prev = nullptr;
  entry.next = head_;
  if (head_) head_->prev = &entry;
  head_ = &entry;
  ++size_;
  ensureTimer(tickFor(entry.clock.settings()));
}

void TimeoutSweeper::remove(TimeoutEntry& entry) {
  if (!entry.linked) return;
  entry.linked = false;
  if (entry.prev) entry.prev->next = entry.next;
  if (entry.next) entry.next->prev = entry.prev;
  if (head_ == &entry) head_ = entry.next;
  entry.prev = entry.next = nullptr;
  --size_;
  // The timer stays until the next tick finds nothing to do: a connection that closes and the
  // next that opens (connrate) do not cost a timer each.
}

void TimeoutSweeper::ensureTimer(uint64_t tick_ms) {
  if (shut_down_) return;
  if (timer_ && tick_ms >= tick_ms_) return;
  if (!timer_) {
    timer_ = new uv_timer_t;
    uv_timer_init(loop_, timer_);
    timer_->data = this;
    tick_ms_ = tick_ms;
  }
  tick_ms_ = std::min(tick_ms_, tick_ms);
  uv_timer_start(timer_, onTick, tick_ms_, tick_ms_);
}

void TimeoutSweeper::onTick(uv_timer_t* timer) {
  auto* self = static_cast<TimeoutSweeper*>(timer->data);
  self->sweep(uv_now(timer->loop));
}

void TimeoutSweeper::sweep(uint64_t now_ms) {
  for (TimeoutEntry* entry = head_; entry != nullptr;) {
    TimeoutEntry* next = entry->next;  // the target may remove its own entry
    const Timeout which = entry->clock.due(now_ms);
    if (which != Timeout::kNone) entry->target->onTimeout(which);
    entry = next;
  }
  const bool more_housekeeping = housekeeping_ && housekeeping_(now_ms);
  if (size_ == 0 && !more_housekeeping) closeTimer();
}

void TimeoutSweeper::shutdown() {
  shut_down_ = true;
  closeTimer();
}

void TimeoutSweeper::closeTimer() {
  if (!timer_) return;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
  timer_ = nullptr;
  tick_ms_ = kMaxTickMs;
}

}  // namespace twinhub
