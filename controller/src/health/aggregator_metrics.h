// AggregatorMetrics: the aggregator's own /metrics (prometheus-cpp pull). Families are declared
// once here and every label set is resolved when the object is made (hubs, alert kinds, reject
// reasons are all known up front). Thread-safe (prometheus-cpp); the endpoint serves from its
// own threads.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "health_wire/alert.h"
#include "health_wire/json_fields.h"

namespace prometheus {
class Registry;
class Exposer;
class Counter;
class Gauge;
class Histogram;
}  // namespace prometheus

namespace twinhub::ctl {

class AggregatorMetrics {
 public:
  explicit AggregatorMetrics(const std::vector<std::string>& hubs);
  ~AggregatorMetrics();
  AggregatorMetrics(const AggregatorMetrics&) = delete;
  AggregatorMetrics& operator=(const AggregatorMetrics&) = delete;

  // Serves GET /metrics on host:port (port 0: any); returns "" or the problem.
  std::string serve(const std::string& address);
  std::string boundAddress() const;

  void beat(size_t hub, double sync_seconds);
  void malformed(health::Reject reason);
  void dropped(const std::string& reason);  // over_capacity | queue_full
  void alert(health::AlertKind kind);
  void sidecars(size_t known, size_t healthy, size_t lost);
  // The hubs' link as the detector judges it: 1 up, 0 down, -1 not judged yet.
  void leaf(const std::string& state);

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  std::unique_ptr<prometheus::Exposer> exposer_;
  std::vector<prometheus::Histogram*> sync_;
  std::vector<prometheus::Counter*> beats_;
  std::map<health::Reject, prometheus::Counter*> malformed_;
  std::map<std::string, prometheus::Counter*> dropped_;
  std::map<health::AlertKind, prometheus::Counter*> alerts_;
  prometheus::Gauge* known_;
  prometheus::Gauge* healthy_;
  prometheus::Gauge* lost_;
  prometheus::Gauge* leaf_;
};

}  // namespace twinhub::ctl
