// Heartbeat: what a sidecar publishes on health.status.<machine> through every hub it is
// connected to, every health.interval_ms (docs/health.md has the JSON, schema version 1).
//
// decodeHeartbeat() treats its input as hostile: it never throws, caps the size, checks every
// field's type and range, and rejects other schema versions and timestamps from the future
// (beyond the allowed clock skew). Plain values; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "health_wire/json_fields.h"

namespace twinhub::health {

inline constexpr int kHeartbeatVersion = 1;
// Limits on what a peer can make a reader allocate.
inline constexpr size_t kMaxHeartbeatBytes = 64 * 1024;
inline constexpr size_t kMaxServices = 64;
inline constexpr size_t kMaxHubs = 16;
inline constexpr size_t kMaxErrorText = 256;

enum class AgentState { kNone, kOk, kFailing };  // none: the sidecar serves no agent
const char* agentStateName(AgentState state);

struct AgentReport {
  AgentState state = AgentState::kNone;
  std::optional<double> latency_ms;  // the last probe's duration
  std::string error;                 // the last failure, "" when none
  bool operator==(const AgentReport&) const = default;
};

// The sidecar's view of one hub: up, suspect (connected, echoes stopped) or down.
struct HubReport {
  std::string name;
  std::string state;
  bool active = false;  // carries this sidecar's new sessions
  bool operator==(const HubReport&) const = default;
};

// Since the previous beat, except sessions_active (now).
struct BeatStats {
  uint64_t sessions_opened = 0;
  uint64_t sessions_active = 0;
  uint64_t connect_failures = 0;
  uint64_t errors = 0;
  uint64_t turns = 0;  // requests answered (a request's first byte to its answer's first byte)
  std::optional<double> turn_p50_ms;  // absent when no turn completed
  std::optional<double> turn_p99_ms;
  bool operator==(const BeatStats&) const = default;
};

struct Heartbeat {
  std::string id;       // sidecar id
  std::string machine;  // also the last token of the subject
  std::vector<std::string> served;
  std::vector<std::string> fronted;
  std::string via;  // the hub this copy was published through
  uint64_t seq = 0;  // the same for the copies of one beat on every hub
  int64_t ts_ms = 0;  // wall clock (ms since the Unix epoch) when the beat was made
  uint32_t interval_ms = 500;
  AgentReport agent;
  std::string mode;  // direct | hub
  uint64_t generation = 0;  // applied desired-state generation
  std::vector<HubReport> hubs;
  BeatStats stats;
  bool operator==(const Heartbeat&) const = default;
};

std::string encodeHeartbeat(const Heartbeat& beat);

template <typename T>
struct Decoded {
  std::optional<T> value;
  Reject reject = Reject::kNone;
  std::string detail;  // why it was rejected
};

struct HeartbeatLimits {
  size_t max_bytes = kMaxHeartbeatBytes;
  int64_t max_future_ms = 5000;  // clock skew tolerated between machines
};

// `now_ms`: the reader's wall clock, for the future-timestamp check.
Decoded<Heartbeat> decodeHeartbeat(std::string_view data, int64_t now_ms, const HeartbeatLimits& limits = {});

// Wall clock in ms since the Unix epoch.
int64_t wallClockMs();

}  // namespace twinhub::health
