#include "common/rlimit.h"

#include <sys/resource.h>

#include <algorithm>

namespace twinhub {

uint64_t raiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

uint64_t openFileLimit() {
  rlimit limit{};
  return getrlimit(RLIMIT_NOFILE, &limit) == 0 ? limit.rlim_cur : 0;
}

uint32_t servedSessionCap(uint64_t fd_limit) {
  constexpr uint64_t kReserve = 128, kMin = 16, kMax = 65536;
  if (fd_limit <= kReserve + 2 * kMin) return static_cast<uint32_t>(kMin);
  return static_cast<uint32_t>(std::clamp((fd_limit - kReserve) / 2, kMin, kMax));
}

}  // namespace twinhub
