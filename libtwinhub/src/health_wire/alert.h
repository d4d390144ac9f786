// Alert and Recovery: what an aggregator publishes on health.alerts (one message per transition)
// and health.recovery (a condition that ended, and what was done). Schema version 1, documented
// in docs/health.md. Plain values; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace twinhub::health {

inline constexpr int kAlertVersion = 1;

// The kinds DESIGN.md names; the strings stay.
enum class AlertKind {
  kAgentDown, kAgentUp, kSidecarLost, kSidecarBack, kHubDown, kHubUp, kHubFrozen,
  kLeafDown, kLeafUp, kPartition, kPartitionHealed,
};
const char* alertKindName(AlertKind kind);
// True for the kinds that end a condition (agent_up, sidecar_back, hub_up, leaf_up,
// partition_healed).
bool isRecoveryKind(AlertKind kind);

struct Alert {
  AlertKind kind = AlertKind::kAgentDown;
  std::string subject;     // what it is about: a sidecar id, a hub, "edge->central", a machine
  std::string machine;     // the machine concerned, "" when none
  std::string observer;    // the aggregator that saw it
  int64_t detected_at_ms = 0;
  std::string summary;     // one line for people
  nlohmann::json evidence = nlohmann::json::object();  // what the decision was based on
};

// `id`: unique per alert across the observer's restarts, e.g. "mainpc#1796048599379.7".
std::string encodeAlert(const Alert& alert, const std::string& id);

// A condition that ended: the recovery alert plus when the condition began.
std::string encodeRecovery(const Alert& recovery, int64_t opened_at_ms, const std::string& id);

// The kind named `name` ("hub_down"); false when there is none.
bool alertKindFromName(const std::string& name, AlertKind* kind);

}  // namespace twinhub::health
