#include "health/aggregator_metrics.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

namespace twinhub::ctl {

using health::AlertKind;
using health::Reject;

AggregatorMetrics::AggregatorMetrics(const std::vector<std::string>& hubs)
    : registry_(std::make_shared<prometheus::Registry>()) {
  auto& sync = prometheus::BuildHistogram()
                   .Name("twinhub_health_sync_latency_seconds")
                   .Help("Heartbeat timestamp to receipt by the aggregator, per hub it was received through")
                   .Register(*registry_);
  auto& beats = prometheus::BuildCounter()
                    .Name("twinhub_health_beats_total")
                    .Help("Valid heartbeats received, per hub they were received through")
                    .Register(*registry_);
  // Beat timestamps have millisecond resolution; the targets are 50 ms (p99) and 100 ms at 1,000
  // sidecars, so the buckets are finest there.
  const prometheus::Histogram::BucketBoundaries buckets = {0.001, 0.002, 0.003, 0.005, 0.0075, 0.01, 0.015, 0.02,
                                                           0.03,  0.05,  0.075, 0.1,   0.2,    0.5,  1,     2, 5};
  for (const std::string& hub : hubs) {
    sync_.push_back(&sync.Add({{"hub", hub}}, buckets));
    beats_.push_back(&beats.Add({{"hub", hub}}));
  }
  auto& malformed = prometheus::BuildCounter()
                        .Name("twinhub_health_malformed_beats_total")
                        .Help("Heartbeats dropped as malformed, by reason")
                        .Register(*registry_);
  for (Reject r : {Reject::kOversized, Reject::kSyntax, Reject::kVersion, Reject::kField, Reject::kFuture}) {
    malformed_[r] = &malformed.Add({{"reason", health::rejectName(r)}});
  }
  auto& dropped = prometheus::BuildCounter()
                      .Name("twinhub_health_beats_dropped_total")
                      .Help("Valid heartbeats not processed: too many sidecars, or the queue was full")
                      .Register(*registry_);
  for (const char* reason : {"over_capacity", "queue_full"}) dropped_[reason] = &dropped.Add({{"reason", reason}});
  auto& alerts = prometheus::BuildCounter()
                     .Name("twinhub_health_alerts_total")
                     .Help("Alerts raised, by kind")
                     .Register(*registry_);
  for (int k = 0; k <= static_cast<int>(AlertKind::kPartitionHealed); ++k) {
    alerts_[static_cast<AlertKind>(k)] = &alerts.Add({{"kind", health::alertKindName(static_cast<AlertKind>(k))}});
  }
  auto& sidecars =
      prometheus::BuildGauge().Name("twinhub_health_sidecars").Help("Sidecars by state").Register(*registry_);
  known_ = &sidecars.Add({{"state", "known"}});
  healthy_ = &sidecars.Add({{"state", "healthy"}});
  lost_ = &sidecars.Add({{"state", "lost"}});
  leaf_ = &prometheus::BuildGauge()
               .Name("twinhub_health_leaf_up")
               .Help("Beats cross between the hubs: 1 yes, 0 no (leaf_down), -1 not judged yet")
               .Register(*registry_)
               .Add({});
  leaf_->Set(-1);
}

AggregatorMetrics::~AggregatorMetrics() = default;

std::string AggregatorMetrics::serve(const std::string& address) {
  try {
    exposer_ = std::make_unique<prometheus::Exposer>(address);
  } catch (const std::exception& e) {
    return "metrics " + address + ": " + e.what();
  }
  exposer_->RegisterCollectable(registry_);
  return "";
}

std::string AggregatorMetrics::boundAddress() const {
  if (!exposer_) return "";
  const auto ports = exposer_->GetListeningPorts();
  return ports.empty() ? "" : "127.0.0.1:" + std::to_string(ports.front());
}

void AggregatorMetrics::beat(size_t hub, double sync_seconds) {
  if (hub >= sync_.size()) return;
  beats_[hub]->Increment();
  sync_[hub]->Observe(sync_seconds);
}

void AggregatorMetrics::malformed(Reject reason) {
  if (auto it = malformed_.find(reason); it != malformed_.end()) it->second->Increment();
}

void AggregatorMetrics::dropped(const std::string& reason) {
  if (auto it = dropped_.find(reason); it != dropped_.end()) it->second->Increment();
}

void AggregatorMetrics::leaf(const std::string& state) { leaf_->Set(state == "up" ? 1 : state == "down" ? 0 : -1); }

void AggregatorMetrics::alert(AlertKind kind) { alerts_[kind]->Increment(); }

void AggregatorMetrics::sidecars(size_t known, size_t healthy, size_t lost) {
  known_->Set(static_cast<double>(known));
  healthy_->Set(static_cast<double>(healthy));
  lost_->Set(static_cast<double>(lost));
}

}  // namespace twinhub::ctl
