// The sidecar's tuning defaults, each defined once. The config's fields (config/config.h) and the
// option structs of the modules that use them (proxy, hub) take them from here, so a default
// cannot drift between what a config file gets and what a test or a tool gets.
#pragma once

#include <cstdint>

namespace twinhub::defaults {

// Both modes.
inline constexpr uint32_t kConnectTimeoutMs = 2000;  // to the agent (or upstream)
inline constexpr uint32_t kIdleTimeoutMs = 600000;   // no byte either way: close (0: never)
inline constexpr uint32_t kFinTimeoutMs = 30000;     // half-closed and quiet: close (0: never)

// Hub connections (mode hub).
inline constexpr uint32_t kPingIntervalMs = 100;  // NATS pings; a frozen hub shows after ~max_pings_out of them
inline constexpr uint32_t kMaxPingsOut = 2;
inline constexpr uint32_t kProbeIntervalMs = 100;   // the sidecar's echo probe through each hub
inline constexpr uint32_t kSuspectAfterMs = 350;    // no echo for this long: stop using the hub
inline constexpr uint32_t kFailbackHoldMs = 5000;   // a recovered preferred hub must stay up this long

// Hub sessions. Window: unacknowledged bytes per session and direction. 512 KiB: a stuck session
// costs ~2.2 MB (front and server together) instead of ~9.8 MB at 2 MiB, for bulk within noise
// (bench/stuck_memory.sh).
inline constexpr uint32_t kWindowBytes = 512 * 1024;
inline constexpr uint32_t kOpenTimeoutMs = 900;  // a session that gets no answer to OPEN is closed

}  // namespace twinhub::defaults
