#include "common/loop_turn_monitor.h"

namespace twinhub {

LoopTurnMonitor::LoopTurnMonitor(uv_loop_t* loop, LoopTurnReports reports) : reports_(std::move(reports)) {
  uv_loop_configure(loop, UV_METRICS_IDLE_TIME);
  uv_prepare_init(loop, &prepare_);
  prepare_.data = this;
  uv_prepare_start(&prepare_, onPrepare);
  uv_unref(reinterpret_cast<uv_handle_t*>(&prepare_));  // it never keeps the loop running
}

void LoopTurnMonitor::close() {
  if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&prepare_))) uv_close(reinterpret_cast<uv_handle_t*>(&prepare_), nullptr);
}

// Runs just before each wait for I/O: the time since the last one, less the time spent waiting,
// is the turn that just ended.
void LoopTurnMonitor::onPrepare(uv_prepare_t* handle) {
  auto* self = static_cast<LoopTurnMonitor*>(handle->data);
  const uint64_t now = uv_hrtime();
  const uint64_t idle = uv_metrics_idle_time(handle->loop);
  if (self->last_ns_ != 0) {
    const uint64_t elapsed = now - self->last_ns_;
    const uint64_t waited = idle - self->last_idle_ns_;
    const uint64_t busy = elapsed > waited ? elapsed - waited : 0;
    if (busy > self->longest_ns_) {
      self->longest_ns_ = busy;
      if (self->reports_.longest) self->reports_.longest(static_cast<double>(busy) / 1e9);
    }
    if (busy > kSlowTurnNs) {
      if (self->reports_.slow) self->reports_.slow();
      self->slow_log_.log(spdlog::level::warn, now,
                          fmt::format("the event loop was busy for {:.1f} ms in one turn: everything else waited",
                                      static_cast<double>(busy) / 1e6));
    }
  }
  self->last_ns_ = now;
  self->last_idle_ns_ = idle;
}

}  // namespace twinhub
