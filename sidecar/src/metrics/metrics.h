// Metrics: the sidecar's Prometheus registry and, when configured, the /metrics endpoint, with
// /healthz and /readyz beside it (probe_endpoints.h; readiness from readiness()).
// Metric families are declared once here; names start with twinhub_, are in base units, and
// carry only low-cardinality labels (service, direction, result). Counters and histograms are
// thread-safe (prometheus-cpp); the endpoint serves from its own threads.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "common/net_address.h"
#include "config/config.h"
#include "common/status.h"
#include "hub/hub_stats.h"
#include "proxy/buffer_budget.h"
#include "metrics/readiness.h"
#include "proxy/front_stats.h"

namespace prometheus {
class Registry;
class Exposer;
}  // namespace prometheus

namespace twinhub {

class ProbeEndpoints;
class MetricsPusher;

class Metrics {
 public:
  Metrics();
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // Starts serving GET /metrics, /healthz and /readyz on `address` (port 0: any free port). With
  // `auth`, /metrics asks for HTTP basic auth (401 without the right user and password); the
  // probes stay open (kubelet and container probes carry no credentials).
  [[nodiscard]] Status serve(const NetAddress& address, const std::optional<BasicAuthConfig>& auth = std::nullopt);
  // Pushes the registry to a Pushgateway every push.interval_ms from a thread of its own, grouped
  // by instance and machine; stopPush() pushes (or deletes) once more and joins: never call it
  // from the loop. Adds twinhub_metrics_push_failures_total.
  void startPush(const MetricsPushConfig& push, const std::string& instance, const std::string& machine);
  void stopPush();
  // The bound address once serving.
  std::optional<NetAddress> servingAddress() const { return serving_; }

  // Stats for a front of `service`; fronts of the same service share the same series.
  std::shared_ptr<FrontStats> frontStats(const std::string& service);
  void reloadSucceeded();
  void reloadFailed();
  // The sidecar's mode (direct or hub), as twinhub_mode{mode} = 1.
  void setMode(const std::string& mode);
  // Desired state from the controller: a change by action (apply, confirm, revert, expired) and
  // the generation applied now.
  void desiredStateChanged(const std::string& action, uint64_t generation);
  void setAppliedGeneration(uint64_t generation);
  HubStats& hubStats();
  // The process's buffer budget: twinhub_buffer_budget_{used,limit}_bytes and _paused_total.
  BudgetStats& budgetStats();
  // The event loop (common/loop_turn_monitor.h): twinhub_loop_turn_longest_seconds and
  // twinhub_loop_turns_slow_total.
  void loopTurnLongest(double seconds);
  void loopTurnSlow();
  // What /readyz answers from; hub states and the mode are fed in here, the app reports the rest.
  ReadinessState& readiness() { return *readiness_; }

  struct Families;  // defined in the .cc

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<Families> families_;
  std::shared_ptr<ReadinessState> readiness_;
  std::unique_ptr<HubStats> hub_stats_;
  std::unique_ptr<BudgetStats> budget_stats_;
  std::unique_ptr<ProbeEndpoints> probes_;  // outlives exposer_, whose threads call it
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::optional<NetAddress> serving_;
  std::unique_ptr<MetricsPusher> pusher_;
};

}  // namespace twinhub
