// Unguessable 64-bit values from the kernel's CSPRNG (getrandom(2)), for values that act as
// secrets on a shared hub: session ids and the run nonce of a sidecar's inbox (docs/permissions.md,
// "Session frames"). Blocks only until the kernel's pool is initialised at boot; throws
// std::system_error if getrandom fails for any other reason (never falls back to a weak source).
// Any thread.
#pragma once

#include <cstdint>

namespace twinhub {

uint64_t secureRandom64();

}  // namespace twinhub
