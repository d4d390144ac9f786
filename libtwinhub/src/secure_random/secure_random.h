// Unguessable values from the kernel's CSPRNG (getrandom(2)), for values that act as secrets:
// the sidecar's session ids and inbox run nonce on a shared hub (docs/permissions.md, "Session
// frames"), the hub passwords `twinhubctl hub-users` makes. Blocks only until the kernel's pool
// is initialised at boot; throws std::system_error if getrandom fails for any other reason (never
// falls back to a weak source). Any thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace twinhub {

void secureRandomBytes(void* out, size_t size);
uint64_t secureRandom64();

}  // namespace twinhub
