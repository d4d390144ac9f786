#include "migrate/lease.h"

#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <nlohmann/json.hpp>

namespace twinhub::ctl {

LeaseAction decideLease(const std::optional<Lease>& current, const std::string& me, int64_t now_ms,
                        bool holder_gone) {
  if (!current || current->holder.empty()) return LeaseAction::kTake;
  if (current->holder == me) return LeaseAction::kRenew;
  if (now_ms >= current->expires_ms || holder_gone) return LeaseAction::kTake;
  return LeaseAction::kRefuse;
}

bool holderGone(const Lease& lease, const std::string& my_scope) {
  if (lease.scope.empty() || my_scope.empty() || lease.scope != my_scope || lease.pid <= 1) return false;
  return ::kill(lease.pid, 0) != 0 && errno == ESRCH;
}

std::string processScope() {
  std::string boot;
  std::ifstream("/proc/sys/kernel/random/boot_id") >> boot;
  char ns[128] = {};
  const ssize_t n = ::readlink("/proc/self/ns/pid", ns, sizeof ns - 1);
  if (boot.empty() || n <= 0) return "";
  return boot + "/" + std::string(ns, static_cast<size_t>(n));
}

std::string encodeLease(const Lease& lease) {
  nlohmann::json doc = {{"v", 1}, {"holder", lease.holder}, {"expires_ms", lease.expires_ms}};
  if (!lease.scope.empty()) {
    doc["scope"] = lease.scope;
    doc["pid"] = lease.pid;
  }
  return doc.dump();
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
  Lease lease;
  lease.holder = holder->get<std::string>();
  lease.expires_ms = expires->get<int64_t>();
  auto scope = doc.find("scope");
  auto pid = doc.find("pid");
  // A pid means something only within a known scope; encodeLease writes neither without one.
  if (scope != doc.end() && scope->is_string() && !scope->get_ref<const std::string&>().empty() && pid != doc.end() &&
      pid->is_number_integer()) {
    const int64_t value = pid->get<int64_t>();
    if (value > 0 && value < (int64_t{1} << 30)) {
      lease.scope = scope->get<std::string>();
      lease.pid = static_cast<pid_t>(value);
    }
  }
  return lease;
}

}  // namespace twinhub::ctl
