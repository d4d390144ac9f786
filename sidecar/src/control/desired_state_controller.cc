#include "control/desired_state_controller.h"

#include <spdlog/spdlog.h>

#include <chrono>

namespace twinhub {

namespace {
constexpr uint64_t kDeadlineCheckMs = 100;
}

int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

DesiredStateController::DesiredStateController(uv_loop_t* loop, LoopExecutor& executor, std::vector<ControlHub> hubs,
                                               std::string sidecar_id, std::string state_dir, OnChange on_change)
    : state_dir_(std::move(state_dir)), sidecar_id_(sidecar_id), on_change_(std::move(on_change)) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  watcher_ = std::make_unique<DesiredStateWatcher>(
      std::move(hubs), std::move(sidecar_id), executor,
      [this](const std::string& hub, const wire::DesiredState& desired) { onState(hub, desired); },
      [](const std::string& hub, const std::string& why) {
        spdlog::warn("desired state from hub {} ignored: {}", hub, why);
      });
}

DesiredStateController::~DesiredStateController() { close(); }

std::optional<std::string> DesiredStateController::restore(const std::string& config_mode) {
  applied_.mode = config_mode;
  if (state_dir_.empty()) return std::nullopt;
  std::string error;
  std::optional<AppliedState> loaded = loadAppliedState(state_dir_, sidecar_id_, &error);
  if (!error.empty()) spdlog::warn("{}", error);
  if (!loaded) return std::nullopt;
  applied_ = *loaded;
  spdlog::info("desired state: generation {} ({}) restored from {}", applied_.generation, applied_.mode, state_dir_);
  handle(onClock(applied_, wallClockMs()), "restart");
  return applied_.mode;
}

void DesiredStateController::start() {
  watcher_->start();
  uv_timer_start(&timer_, onTimer, kDeadlineCheckMs, kDeadlineCheckMs);
}

void DesiredStateController::close() {
  if (closed_) return;
  closed_ = true;
  watcher_.reset();  // joins the threads: nothing more is posted
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
}

void DesiredStateController::onTimer(uv_timer_t* timer) {
  auto* self = static_cast<DesiredStateController*>(timer->data);
  self->handle(onClock(self->applied_, wallClockMs()), "deadline");
}

void DesiredStateController::onState(const std::string& hub, const wire::DesiredState& desired) {
  if (closed_) return;
  handle(onDesiredState(applied_, desired, wallClockMs()), "hub " + hub);
}

void DesiredStateController::handle(const FlipDecision& decision, const std::string& source) {
  if (decision.action == FlipAction::kNone) return;
  const AppliedState before = applied_;
  applied_ = decision.next;
  persist();
  switch (decision.action) {
    case FlipAction::kApply:
      spdlog::warn("desired state generation {} from {}: mode {} -> {}{}", applied_.generation, source, before.mode,
                   applied_.mode, applied_.provisional() ? " (provisional until confirmed)" : "");
      break;
    case FlipAction::kConfirm:
      spdlog::info("desired state generation {} confirmed ({})", applied_.generation, source);
      break;
    case FlipAction::kRevert:
      spdlog::warn("desired state generation {} was not confirmed by its deadline: mode {} -> {}",
                   applied_.generation, before.mode, applied_.mode);
      break;
    case FlipAction::kExpired:
      spdlog::warn("desired state generation {} from {} arrived after its deadline: not applied", applied_.generation,
                   source);
      break;
    case FlipAction::kNone: break;
  }
  on_change_(decision.action, applied_);
}

void DesiredStateController::persist() {
  if (state_dir_.empty()) return;
  if (Status status = saveAppliedState(state_dir_, sidecar_id_, applied_); !status) {
    spdlog::error("desired state: not persisted: {}", status.message());
  }
}

}  // namespace twinhub
