// Aggregator: the NATS plumbing around FleetDetector. It holds a HubLink per hub, subscribes
// health.status.* on each, validates every beat (hostile input: counted and dropped when
// malformed), feeds the detector, and publishes its alerts on health.alerts, recoveries on
// health.recovery and the fleet state on health.aggregate, through every hub it can reach (each
// message carries an id, so a reader that hears both copies can drop one).
//
// Runs on the calling thread (run()); cnats's threads only fill the Inbox.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "health/aggregator_metrics.h"
#include "health/fleet_detector.h"
#include "health/history.h"
#include "nats/hub_link.h"

namespace twinhub::ctl {

struct AggregatorOptions {
  std::vector<HubAddress> hubs;
  std::string observer;
  DetectorOptions detector;  // observer and hubs are filled in from above
  bool publish = true;       // false: observe only (status, --once)
  bool read_aggregates = false;  // keep the last health.aggregate another aggregator published
  int aggregate_interval_ms = 1000;
  int evaluate_interval_ms = 50;
  std::string metrics_address;  // "" = no /metrics
  health::HeartbeatLimits limits;
  HistoryOptions history;  // used only when publishing
};

class Aggregator {
 public:
  // Each alert and recovery, as published, goes to on_alert (e.g. a line on stdout).
  using AlertSink = std::function<void(const std::string& subject, const std::string& json)>;
  // Every valid beat, each copy (one per hub it came through), as the detector takes it.
  using BeatSink = std::function<void(const health::Heartbeat& beat)>;
  void setBeatSink(BeatSink sink) { on_beat_ = std::move(sink); }

  Aggregator(AggregatorOptions options, AlertSink on_alert);
  ~Aggregator();

  // Starts the hub links and /metrics; "" or the problem.
  [[nodiscard]] std::string start();
  // Processes beats and timers until `stop` is set or `duration_ms` passed (< 0: no limit).
  void run(const std::atomic<bool>& stop, int64_t duration_ms);

  health::Aggregate snapshot() const { return detector_.aggregate(health::wallClockMs()); }
  const std::optional<health::Aggregate>& remoteAggregate() const { return remote_; }
  void forgetRemoteAggregate() { remote_.reset(); }
  bool anyHubUp() const;
  std::string metricsAddress() const { return metrics_ ? metrics_->boundAddress() : ""; }
  uint64_t malformed() const { return malformed_; }

 private:
  void handle(Received& message);
  void handleBeat(Received& message);
  void tick(int64_t now_ms);
  void publishAll(const std::string& subject, const std::string& data, const std::string& msg_id);
  void restoreFromHistory();

  AggregatorOptions options_;
  AlertSink on_alert_;
  BeatSink on_beat_;
  FleetDetector detector_;
  Inbox inbox_;
  std::vector<std::unique_ptr<HubLink>> links_;
  std::unique_ptr<AggregatorMetrics> metrics_;
  std::optional<health::Aggregate> remote_;
  uint64_t alert_seq_ = 0;
  int64_t run_id_ = 0;  // start time: alert ids stay unique across restarts of one observer
  uint64_t malformed_ = 0;
  uint64_t queue_dropped_seen_ = 0;
  int64_t next_evaluate_ms_ = 0;
  int64_t next_aggregate_ms_ = 0;
};

// The host name (as a valid name): one aggregator per machine is the normal deployment, and the
// name must survive a restart so that the history it reads back is its own.
std::string defaultObserverName();

}  // namespace twinhub::ctl
