// Raises the soft open-file limit to the hard limit, as proxies do: every proxied connection
// costs two descriptors. Call once at start-up.
#pragma once

#include <cstdint>

namespace twinhub {

// Returns the soft limit in force afterwards.
uint64_t raiseOpenFileLimit();

}  // namespace twinhub
