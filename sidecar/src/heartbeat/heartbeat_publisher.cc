#include "heartbeat/heartbeat_publisher.h"

#include <spdlog/spdlog.h>

#include "health_wire/health_subjects.h"

namespace twinhub {

HeartbeatPublisher::HeartbeatPublisher(uv_loop_t* loop, HubSet& hubs, HeartbeatSettings settings,
                                       HeartbeatInputs inputs)
    : timer_(new uv_timer_t), hubs_(hubs), settings_(std::move(settings)), inputs_(std::move(inputs)) {
  uv_timer_init(loop, timer_);
  timer_->data = this;
  subject_ = health::statusSubject(settings_.machine);
}

HeartbeatPublisher::~HeartbeatPublisher() { stop(); }

void HeartbeatPublisher::start() {
  uv_timer_start(timer_, onTimer, settings_.interval_ms, settings_.interval_ms);
  spdlog::info("heartbeats on {} every {} ms", subject_, settings_.interval_ms);
}

void HeartbeatPublisher::stop() {
  if (stopped_) return;
  stopped_ = true;
  timer_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(timer_), [](uv_handle_t* h) { delete reinterpret_cast<uv_timer_t*>(h); });
}

void HeartbeatPublisher::beatNow() {
  if (stopped_) return;
  beat();
  uv_timer_again(timer_);
}

void HeartbeatPublisher::onTimer(uv_timer_t* timer) {
  if (auto* self = static_cast<HeartbeatPublisher*>(timer->data)) self->beat();
}

health::Heartbeat HeartbeatPublisher::makeBeat() {
  health::Heartbeat beat;
  beat.id = settings_.id;
  beat.machine = settings_.machine;
  beat.served = settings_.served;
  beat.fronted = settings_.fronted;
  beat.seq = ++seq_;
  beat.ts_ms = health::wallClockMs();
  beat.interval_ms = settings_.interval_ms;
  beat.agent = inputs_.agent();
  beat.mode = inputs_.mode();
  beat.generation = inputs_.generation();
  beat.stats = inputs_.take_stats();
  const std::optional<size_t> active = hubs_.active();
  for (size_t i = 0; i < hubs_.size(); ++i) {
    beat.hubs.push_back({hubs_.name(i), hubStateName(hubs_.state(i)), active == i});
  }
  return beat;
}

void HeartbeatPublisher::beat() {
  health::Heartbeat beat = makeBeat();
  for (size_t i = 0; i < hubs_.size(); ++i) {
    if (hubs_.state(i) != HubState::kUp) continue;
    beat.via = hubs_.name(i);
    const std::string encoded = health::encodeHeartbeat(beat);
    if (!checked_) checkOwnBeat(encoded);
    if (hubs_.publishOn(i, subject_, encoded)) ++beats_sent_;
  }
}

// Once: a beat that the aggregators' validating reader would drop (a service name it refuses,
// say) is a configuration problem worth one loud line, not a silent gap in the fleet view.
void HeartbeatPublisher::checkOwnBeat(const std::string& encoded) {
  checked_ = true;
  health::Decoded<health::Heartbeat> decoded = health::decodeHeartbeat(encoded, health::wallClockMs());
  if (!decoded.value) {
    spdlog::error("heartbeats will be rejected by aggregators: {}: {}", health::rejectName(decoded.reject),
                  decoded.detail);
  }
}

}  // namespace twinhub
