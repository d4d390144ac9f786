// History: the health.* messages an aggregator publishes (alerts, recoveries, aggregates) are
// kept in a JetStream stream in each hub's domain (each hub is its own domain, so each side keeps
// its history while the other is gone). Every message carries a Nats-Msg-Id, so the two copies an
// aggregator publishes (one per hub, both crossing the leaf link) are stored once per stream.
//
// On start, a restarted aggregator reads the newest aggregate back (FleetDetector::restore) and
// so does not raise again the alerts that are still open.
//
// Blocking calls (stream creation, reads): run on a HubLink's prober thread or before the
// aggregator's loop starts, never on a path that must not wait.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "health_wire/aggregate.h"

typedef struct __natsConnection natsConnection;

namespace twinhub::ctl {

inline constexpr const char* kHistoryStream = "TWINHUB_HEALTH";

struct HistoryOptions {
  bool enabled = true;
  int64_t retention_ms = 24LL * 3600 * 1000;
  int timeout_ms = 1000;
};

// Creates the stream on the connection's JetStream domain, or updates its retention; "" or the
// problem.
std::string ensureHistoryStream(natsConnection* connection, const HistoryOptions& options);

// The newest aggregate stored in the stream of the connection's domain; nullopt when none, or on
// any error (described in *problem).
std::optional<health::Aggregate> lastStoredAggregate(natsConnection* connection, const HistoryOptions& options,
                                                     std::string* problem);

}  // namespace twinhub::ctl
