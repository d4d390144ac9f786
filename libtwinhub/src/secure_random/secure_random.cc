#include "secure_random/secure_random.h"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace twinhub {

void secureRandomBytes(void* out, size_t size) {
  auto* bytes = static_cast<unsigned char*>(out);
  size_t got = 0;
  while (got < size) {
    const ssize_t n = ::getrandom(bytes + got, size - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    got += static_cast<size_t>(n);
  }
}

uint64_t secureRandom64() {
  uint64_t value = 0;
  secureRandomBytes(&value, sizeof value);
  return value;
}

}  // namespace twinhub
