#include "common/secure_random.h"

#include <sys/random.h>

#include <cerrno>
#include <system_error>

namespace twinhub {

uint64_t secureRandom64() {
  uint64_t value = 0;
  auto* out = reinterpret_cast<unsigned char*>(&value);
  size_t got = 0;
  while (got < sizeof value) {
    const ssize_t n = ::getrandom(out + got, sizeof value - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::system_error(errno, std::generic_category(), "getrandom");
    }
    got += static_cast<size_t>(n);
  }
  return value;
}

}  // namespace twinhub
