#include "health_wire/alert.h"

namespace twinhub::health {

using nlohmann::json;

const char* alertKindName(AlertKind kind) {
  switch (kind) {
    case AlertKind::kAgentDown: return "agent_down";
    case AlertKind::kAgentUp: return "agent_up";
    case AlertKind::kSidecarLost: return "sidecar_lost";
    case AlertKind::kSidecarBack: return "sidecar_back";
    case AlertKind::kHubDown: return "hub_down";
    case AlertKind::kHubUp: return "hub_up";
    case AlertKind::kHubFrozen: return "hub_frozen";
    case AlertKind::kLeafDown: return "leaf_down";
    case AlertKind::kLeafUp: return "leaf_up";
    case AlertKind::kPartition: return "partition";
    case AlertKind::kPartitionHealed: return "partition_healed";
  }
  return "?";
}

bool alertKindFromName(const std::string& name, AlertKind* kind) {
  for (int k = 0; k <= static_cast<int>(AlertKind::kPartitionHealed); ++k) {
    if (name == alertKindName(static_cast<AlertKind>(k))) {
      *kind = static_cast<AlertKind>(k);
      return true;
    }
  }
  return false;
}

bool isRecoveryKind(AlertKind kind) {
  return kind == AlertKind::kAgentUp || kind == AlertKind::kSidecarBack || kind == AlertKind::kHubUp ||
         kind == AlertKind::kLeafUp || kind == AlertKind::kPartitionHealed;
}

namespace {
json alertJson(const Alert& alert, const std::string& id) {
  json out = {{"v", kAlertVersion},
              {"id", id},
              {"kind", alertKindName(alert.kind)},
              {"subject", alert.subject},
              {"observer", alert.observer},
              {"detected_at", alert.detected_at_ms},
              {"summary", alert.summary},
              {"evidence", alert.evidence}};
  if (!alert.machine.empty()) out["machine"] = alert.machine;
  return out;
}
}  // namespace

std::string encodeAlert(const Alert& alert, const std::string& id) {
  return alertJson(alert, id).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string encodeRecovery(const Alert& recovery, int64_t opened_at_ms, const std::string& id) {
  json out = alertJson(recovery, id);
  out["opened_at"] = opened_at_ms;
  out["duration_ms"] = recovery.detected_at_ms - opened_at_ms;
  // The aggregator observes and reports; automatic actions (rollback) belong to migrate.
  out["action"] = "observed";
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

}  // namespace twinhub::health
