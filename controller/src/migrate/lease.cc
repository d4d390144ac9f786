#include "migrate/lease.h"

#include <nlohmann/json.hpp>

namespace twinhub::ctl {

LeaseAction decideLease(const std::optional<Lease>& current, const std::string& me, int64_t now_ms) {
  if (!current || current->holder.empty()) return LeaseAction::kTake;
  if (current->holder == me) return LeaseAction::kRenew;
  if (now_ms >= current->expires_ms) return LeaseAction::kTake;
  return LeaseAction::kRefuse;
}

std::string encodeLease(const Lease& lease) {
  return nlohmann::json{{"v", 1}, {"holder", lease.holder}, {"expires_ms", lease.expires_ms}}.dump();
}

std::optional<Lease> decodeLease(std::string_view json) {
  if (json.size() > 4096) return std::nullopt;
  auto doc = nlohmann::json::parse(json, nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) return std::nullopt;
  auto holder = doc.find("holder");
  auto expires = doc.find("expires_ms");
  if (holder == doc.end() || !holder->is_string() || expires == doc.end() || !expires->is_number_integer()) {
    return std::nullopt;
  }
  return Lease{holder->get<std::string>(), expires->get<int64_t>()};
}

}  // namespace twinhub::ctl
