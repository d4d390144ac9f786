#include "hub/hub_set.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "wire/subjects.h"

namespace twinhub {

namespace {
constexpr int kProbeTag = -1;
constexpr uint64_t kNsPerMs = 1000000;
}  // namespace

HubSet::HubSet(uv_loop_t* loop, LoopExecutor& executor, std::vector<HubOptions> hubs, HubSetOptions options,
               HubSetListener& listener, HubStats& stats)
    : options_(std::move(options)), listener_(listener), stats_(stats), policy_(hubs.size(), options_.failback_hold_ms) {
  uv_timer_init(loop, &timer_);
  timer_.data = this;
  for (size_t i = 0; i < hubs.size(); ++i) {
    Hub hub;
    hub.probe_subject = wire::hubProbeSubject(options_.inbox, hubs[i].name);
    hub.client = std::make_unique<HubClient>(i, std::move(hubs[i]), loop, executor, *this);
    hubs_.push_back(std::move(hub));
  }
}

HubSet::~HubSet() { stop(); }

void HubSet::start() {
  for (size_t i = 0; i < hubs_.size(); ++i) {
    stats_.hubState(name(i), HubState::kDown);
    stats_.activeHub(name(i), false);
    hubs_[i].client->start();
    hubs_[i].client->subscribe(kProbeTag, hubs_[i].probe_subject, "");
  }
  uv_timer_start(&timer_, onTick, options_.probe_interval_ms, options_.probe_interval_ms);
}

void HubSet::stop() {
  if (stopped_) return;
  stopped_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
  for (Hub& hub : hubs_) hub.client.reset();
}

bool HubSet::publish(const std::string& subject, const std::string& reply, std::string_view data) {
  TWINHUB_ON_LOOP(loop_thread_);
  const std::optional<size_t> active = policy_.active();
  if (!active || stopped_) return false;
  return hubs_[*active].client->publish(subject, reply, data);
}

bool HubSet::publishOn(size_t hub, const std::string& subject, std::string_view data) {
  TWINHUB_ON_LOOP(loop_thread_);
  if (stopped_ || hub >= hubs_.size() || policy_.state(hub) != HubState::kUp) return false;
  return hubs_[hub].client->publish(subject, "", data);
}

void HubSet::subscribeAll(int tag, const std::string& subject, const std::string& queue, bool statuses) {
  for (Hub& hub : hubs_) hub.client->subscribe(tag, subject, queue, statuses);
}

void HubSet::unsubscribeAll(int tag) {
  for (Hub& hub : hubs_) hub.client->unsubscribe(tag);
}

void HubSet::renewConnections() {
  if (stopped_) return;
  const bool idle = renewals_.empty();
  for (size_t i = 0; i < hubs_.size(); ++i) {
    if (std::find(renewals_.begin(), renewals_.end(), i) == renewals_.end()) renewals_.push_back(i);
  }
  if (idle && !renewals_.empty()) startRenewal();
}

void HubSet::startRenewal() {
  const size_t index = renewals_.front();
  renewal_went_down_ = policy_.state(index) != HubState::kUp;
  hubs_[index].client->renewConnection();
}

void HubSet::onHubConnected(size_t index) {
  if (stopped_) return;
  Hub& hub = hubs_[index];
  hub.connected = true;
  // Up only once a probe has come back through it.
  hub.client->publish(hub.probe_subject, "", std::to_string(uv_hrtime()));
}

void HubSet::onHubDisconnected(size_t index) {
  if (stopped_) return;
  Hub& hub = hubs_[index];
  hub.connected = false;
  const uint64_t now = uv_hrtime();
  if (policy_.state(index) == HubState::kUp) stats_.hubDetection(static_cast<double>(now - hub.last_echo_ns) / 1e9);
  setState(index, HubState::kDown, now);
  evaluate(now);
}

void HubSet::onHubRecreating(size_t index, const std::string& why) {
  if (stopped_) return;
  spdlog::error("hub {}: the connection was closed for good ({}): making a new one", name(index), why);
  stats_.hubConnectionRecreated(name(index));
}

void HubSet::onHubMessage(size_t index, HubMessage&& message) {
  if (stopped_) return;
  if (message.tag != kProbeTag) {
    listener_.onHubMessage(index, std::move(message));
    return;
  }
  Hub& hub = hubs_[index];
  const uint64_t now = uv_hrtime();
  hub.last_echo_ns = now;
  if (hub.connected && policy_.state(index) != HubState::kUp) {
    setState(index, HubState::kUp, now);
    evaluate(now);
  }
}

void HubSet::onTick(uv_timer_t* timer) { static_cast<HubSet*>(timer->data)->tick(); }

void HubSet::tick() {
  const uint64_t now = uv_hrtime();
  for (size_t i = 0; i < hubs_.size(); ++i) {
    Hub& hub = hubs_[i];
    if (!hub.connected) continue;
    hub.client->publish(hub.probe_subject, "", std::to_string(now));
    if (policy_.state(i) == HubState::kUp && (now - hub.last_echo_ns) / kNsPerMs >= options_.suspect_after_ms) {
      stats_.hubDetection(static_cast<double>(now - hub.last_echo_ns) / 1e9);
      setState(i, HubState::kSuspect, now);
    }
  }
  evaluate(now);
}

void HubSet::setState(size_t index, HubState state, uint64_t now) {
  const HubState was = policy_.state(index);
  if (was == state) return;
  spdlog::log(state == HubState::kUp ? spdlog::level::info : spdlog::level::warn, "hub {}: {} -> {}", name(index),
              hubStateName(was), hubStateName(state));
  policy_.setState(index, state, now);
  stats_.hubState(name(index), state);
  if (!renewals_.empty() && renewals_.front() == index) {
    if (state != HubState::kUp) {
      renewal_went_down_ = true;
    } else if (renewal_went_down_) {
      renewals_.erase(renewals_.begin());
      if (!renewals_.empty()) startRenewal();
    }
  }
}

void HubSet::evaluate(uint64_t now) {
  const std::optional<FailoverPolicy::Change> change = policy_.evaluate(now);
  if (!change) return;
  const std::string from = change->from ? name(*change->from) : "none";
  const std::string to = change->to ? name(*change->to) : "none";
  spdlog::log(change->start_up ? spdlog::level::info : spdlog::level::warn, "sessions now go through hub {} (was {})",
              to, from);
  if (change->from) stats_.activeHub(from, false);
  if (change->to) stats_.activeHub(to, true);
  if (!change->start_up) stats_.failover(from, to);
  listener_.onActiveHubChanged(change->to);
}

}  // namespace twinhub
