// Raises the soft open-file limit to the hard limit, as proxies do: every proxied connection
// costs two descriptors. Call once at start-up.
#pragma once

#include <cstdint>

namespace twinhub {

// Returns the soft limit in force afterwards.
uint64_t raiseOpenFileLimit();
// The soft open-file limit now (0 if unknown).
uint64_t openFileLimit();
// A default cap on sessions a sidecar serves (one descriptor each), sized from the fd limit: half
// of what is left after a reserve for hubs, listeners and metrics, so that a flood of OPENs
// cannot take the descriptors that fronts and hub connections need.
uint32_t servedSessionCap(uint64_t fd_limit);

}  // namespace twinhub
