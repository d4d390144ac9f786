#include "health/aggregator.h"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "health_wire/health_subjects.h"

namespace twinhub::ctl {

namespace {
constexpr const char* kStatusPrefix = "health.status.";
constexpr int kBatchMs = 5;
}

std::string defaultObserverName() {
  char host[256] = {};
  gethostname(host, sizeof(host) - 1);
  std::string name;
  for (const char* p = host; *p; ++p) name += health::validName(std::string(1, *p)) ? *p : '_';
  if (name.empty()) name = "twinhubctl";
  return name.substr(0, 100);
}

Aggregator::Aggregator(AggregatorOptions options, AlertSink on_alert)
    : options_(std::move(options)), on_alert_(std::move(on_alert)), detector_([&] {
        DetectorOptions d = options_.detector;
        d.observer = options_.observer;
        d.hubs.clear();
        for (const HubAddress& hub : options_.hubs) d.hubs.push_back(hub.name);
        return d;
      }()) {}

Aggregator::~Aggregator() = default;

std::string Aggregator::start() {
  std::vector<std::string> names;
  for (const HubAddress& hub : options_.hubs) names.push_back(hub.name);
  metrics_ = std::make_unique<AggregatorMetrics>(names);
  if (!options_.metrics_address.empty()) {
    if (std::string problem = metrics_->serve(options_.metrics_address); !problem.empty()) return problem;
  }
  std::vector<std::string> subjects = {health::kStatusWildcard};
  if (options_.read_aggregates) subjects.push_back(health::kAggregateSubject);
  const bool history = options_.publish && options_.history.enabled;
  for (size_t i = 0; i < options_.hubs.size(); ++i) {
    links_.push_back(std::make_unique<HubLink>(i, options_.hubs[i], inbox_));
    if (history) {
      links_.back()->setOnUp([name = options_.hubs[i].name, h = options_.history](natsConnection* c) {
        const std::string problem = ensureHistoryStream(c, h);
        if (!problem.empty()) std::fprintf(stderr, "twinhubctl: hub %s: %s\n", name.c_str(), problem.c_str());
        return problem.empty();
      });
    }
    links_.back()->start(subjects);
  }
  run_id_ = health::wallClockMs();
  if (history) restoreFromHistory();
  return "";
}

// The newest aggregate in the first reachable hub's stream (in order of preference). Waits a
// moment for a hub: a restarted aggregator that starts from nothing would raise again every
// alert that is open.
void Aggregator::restoreFromHistory() {
  constexpr int64_t kWaitMs = 2000;
  const int64_t deadline = health::wallClockMs() + kWaitMs;
  while (!anyHubUp() && health::wallClockMs() < deadline) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (const auto& link : links_) {
    if (link->state() != LinkState::kUp) continue;
    std::string problem;
    std::optional<health::Aggregate> stored = lastStoredAggregate(link->connection(), options_.history, &problem);
    if (!stored) {
      std::fprintf(stderr, "twinhubctl: no state from history on hub %s: %s\n", link->address().name.c_str(),
                   problem.c_str());
      continue;
    }
    detector_.restore(*stored, health::wallClockMs());
    std::fprintf(stderr, "twinhubctl: state restored from history on hub %s: aggregate of %s, %zu sidecar(s), %zu open alert(s)\n",
                 link->address().name.c_str(), stored->observer.c_str(), stored->sidecars.size(),
                 stored->open_alerts.size());
    return;
  }
}

bool Aggregator::anyHubUp() const {
  for (const auto& link : links_) {
    if (link->state() == LinkState::kUp) return true;
  }
  return false;
}

void Aggregator::run(const std::atomic<bool>& stop, int64_t duration_ms) {
  const int64_t end = duration_ms < 0 ? INT64_MAX : health::wallClockMs() + duration_ms;
  std::vector<Received> batch;
  while (!stop.load()) {
    const int64_t now = health::wallClockMs();
    if (now >= end) break;
    inbox_.take(&batch, static_cast<int>(std::min<int64_t>(options_.evaluate_interval_ms, end - now)));
    for (Received& message : batch) handle(message);
    const bool busy = !batch.empty();
    batch.clear();
    tick(health::wallClockMs());
    // Under load, let a batch gather instead of waking once per beat (two thread switches
    // each): at 4,000 beats/s that halved the aggregator's CPU, for at most kBatchMs of latency.
    if (busy) std::this_thread::sleep_for(std::chrono::milliseconds(kBatchMs));
  }
}

void Aggregator::handle(Received& message) {
  if (message.subject.rfind(kStatusPrefix, 0) == 0) {
    handleBeat(message);
  } else if (message.subject == health::kAggregateSubject) {
    health::Decoded<health::Aggregate> decoded = health::decodeAggregate(message.data);
    if (decoded.value && decoded.value->observer != options_.observer) remote_ = std::move(decoded.value);
  }
}

void Aggregator::handleBeat(Received& message) {
  health::Decoded<health::Heartbeat> decoded =
      health::decodeHeartbeat(message.data, message.received_at_ms, options_.limits);
  // The subject must name the machine the beat claims: a beat cannot speak for another machine.
  if (decoded.value && message.subject != health::statusSubject(decoded.value->machine)) {
    decoded.value.reset();
    decoded.reject = health::Reject::kField;
  }
  if (!decoded.value) {
    ++malformed_;
    metrics_->malformed(decoded.reject);
    return;
  }
  const BeatOutcome outcome = detector_.onBeat(*decoded.value, message.hub, message.received_at_ms);
  if (outcome == BeatOutcome::kOverCapacity) {
    metrics_->dropped("over_capacity");
    return;
  }
  metrics_->beat(message.hub, std::max<double>(0, message.received_at_ms - decoded.value->ts_ms) / 1000.0);
  if (on_beat_) on_beat_(*decoded.value);
}

void Aggregator::tick(int64_t now_ms) {
  if (now_ms < next_evaluate_ms_) return;
  for (size_t i = 0; i < links_.size(); ++i) detector_.setLink(i, links_[i]->state(), links_[i]->detail(), now_ms);
  if (const uint64_t dropped = inbox_.dropped(); dropped > queue_dropped_seen_) {
    for (; queue_dropped_seen_ < dropped; ++queue_dropped_seen_) metrics_->dropped("queue_full");
  }
  if (now_ms >= next_evaluate_ms_) {
    next_evaluate_ms_ = now_ms + options_.evaluate_interval_ms;
    for (const Transition& t : detector_.evaluate(now_ms)) {
      metrics_->alert(t.alert.kind);
      const std::string id = options_.observer + "#" + std::to_string(run_id_) + "." + std::to_string(++alert_seq_);
      const std::string alert = health::encodeAlert(t.alert, id);
      on_alert_(health::kAlertsSubject, alert);
      publishAll(health::kAlertsSubject, alert, id);
      if (t.opened_at_ms) {
        const std::string recovery = health::encodeRecovery(t.alert, *t.opened_at_ms, id);
        on_alert_(health::kRecoverySubject, recovery);
        publishAll(health::kRecoverySubject, recovery, id + ".recovery");
      }
    }
    metrics_->sidecars(detector_.known(), detector_.healthy(), detector_.lost());
  }
  if (now_ms >= next_aggregate_ms_) {
    next_aggregate_ms_ = now_ms + options_.aggregate_interval_ms;
    const health::Aggregate aggregate = detector_.aggregate(now_ms);
    metrics_->leaf(aggregate.leaf);
    publishAll(health::kAggregateSubject, health::encodeAggregate(aggregate),
               options_.observer + "@" + std::to_string(aggregate.ts_ms));
  }
}

void Aggregator::publishAll(const std::string& subject, const std::string& data, const std::string& msg_id) {
  if (!options_.publish) return;
  for (const auto& link : links_) link->publish(subject, data, msg_id);
}

}  // namespace twinhub::ctl
