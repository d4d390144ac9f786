// Lease: one controller at a time. A key in the desired-state bucket holds who migrates and
// until when; it is taken with compare-and-set (create when absent, update with the revision
// read when expired), renewed while the controller works, and released at the end. A controller
// that dies lets the lease expire. Pure decision and wire format here; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace twinhub::ctl {

constexpr const char* kLeaseKey = "_controller_lease";

struct Lease {
  std::string holder;  // "twinhubctl@host:pid"
  int64_t expires_ms = 0;  // wall clock
  bool operator==(const Lease&) const = default;
};

enum class LeaseAction { kTake, kRenew, kRefuse };

// What a controller `me` does about the lease it read (nullopt: none, or released).
LeaseAction decideLease(const std::optional<Lease>& current, const std::string& me, int64_t now_ms);

std::string encodeLease(const Lease& lease);
// nullopt for anything that is not a lease; an unreadable lease counts as none only once expired
// by the caller's judgement (see lease_client).
std::optional<Lease> decodeLease(std::string_view json);

}  // namespace twinhub::ctl
