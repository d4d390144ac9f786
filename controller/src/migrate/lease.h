// Lease: one controller at a time. A key in the desired-state bucket holds who migrates and
// until when; it is taken with compare-and-set (create when absent, update with the revision
// read when expired), renewed while the controller works, and released at the end. A controller
// that dies lets the lease expire; one that died on this very machine (same boot, same pid
// namespace, its pid gone) is taken over at once, so a rerun after a crash need not wait out the
// TTL. Pure decision and wire format here; any thread.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace twinhub::ctl {

constexpr const char* kLeaseKey = "_controller_lease";

struct Lease {
  std::string holder;      // "twinhubctl@host:pid", for people
  int64_t expires_ms = 0;  // wall clock
  std::string scope;       // the holder's process scope (boot id and pid namespace); "" unknown
  pid_t pid = 0;           // the holder's pid within `scope`
  bool operator==(const Lease&) const = default;
};

enum class LeaseAction { kTake, kRenew, kRefuse };

// What a controller `me` does about the lease it read (nullopt: none, or released).
// `holder_gone`: the holder is known to be dead (see holderGone).
LeaseAction decideLease(const std::optional<Lease>& current, const std::string& me, int64_t now_ms,
                        bool holder_gone = false);

// Whether `lease`'s holder ran in `my_scope` and its process no longer exists. False whenever
// that cannot be known (another machine or container, or no scope recorded).
bool holderGone(const Lease& lease, const std::string& my_scope);

// This process's scope: the kernel's boot id and the pid namespace, "" when unreadable.
std::string processScope();

std::string encodeLease(const Lease& lease);
// nullopt for anything that is not a lease.
std::optional<Lease> decodeLease(std::string_view json);

}  // namespace twinhub::ctl
