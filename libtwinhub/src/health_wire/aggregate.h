// Aggregate: the fleet state an aggregator publishes on health.aggregate every second, and
// what `twinhubctl status` prints. Schema version 1, documented in docs/health.md.
// decodeAggregate() treats its input as hostile (size and item caps, typed fields, no throw).
// Plain values; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "health_wire/heartbeat.h"

namespace twinhub::health {

inline constexpr int kAggregateVersion = 1;
inline constexpr size_t kMaxAggregateBytes = 4 * 1024 * 1024;
inline constexpr size_t kMaxAggregateSidecars = 4096;

struct SidecarSummary {
  std::string id;
  std::string machine;
  std::vector<std::string> served;
  std::vector<std::string> fronted;
  std::string mode;
  uint64_t generation = 0;
  std::string hub_in_use;  // the hub the sidecar reports as active, "" when none
  std::string agent;       // none | ok | failing
  std::string state;       // ok | lost
  int64_t age_ms = 0;      // since the last beat was received
  std::optional<double> sync_ms;  // beat timestamp to receipt, the last beat
  std::vector<std::string> heard_via;  // hubs its recent beats were published through
  bool operator==(const SidecarSummary&) const = default;
};

struct HubSummary {
  std::string name;
  std::string state;  // up | down | frozen
  bool operator==(const HubSummary&) const = default;
};

struct Aggregate {
  std::string observer;
  int64_t ts_ms = 0;
  std::vector<HubSummary> hubs;  // the observer's own connections
  std::string leaf;              // up | down | unknown
  std::vector<SidecarSummary> sidecars;
  std::vector<std::string> partitioned;  // machines heard through one hub only
  std::vector<std::string> open_alerts;  // "kind subject"
  bool operator==(const Aggregate&) const = default;
};

std::string encodeAggregate(const Aggregate& aggregate);
Decoded<Aggregate> decodeAggregate(std::string_view data);

}  // namespace twinhub::health
