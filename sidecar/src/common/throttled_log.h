// ThrottledLog: one log line per interval at most for an event that can come in floods (refused
// connections, forged frames), with the count of what was not logged. Not thread-safe: one owner.
#pragma once

#include <spdlog/spdlog.h>

#include <cstdint>
#include <string_view>

namespace twinhub {

class ThrottledLog {
 public:
  explicit ThrottledLog(uint64_t interval_ns = 1000000000ull) : interval_ns_(interval_ns) {}

  // Logs `message` (with how many were held back since the last line) unless a line went out
  // less than an interval ago; `now_ns` is any monotonic clock.
  void log(spdlog::level::level_enum level, uint64_t now_ns, std::string_view message) {
    ++held_;
    if (logged_once_ && now_ns - last_ns_ < interval_ns_) return;
    if (held_ > 1) {
      spdlog::log(level, "{} ({} like it since the last such line)", message, held_ - 1);
    } else {
      spdlog::log(level, "{}", message);
    }
    held_ = 0;
    last_ns_ = now_ns;
    logged_once_ = true;
  }

 private:
  const uint64_t interval_ns_;
  uint64_t last_ns_ = 0;
  uint64_t held_ = 0;
  bool logged_once_ = false;
};

}  // namespace twinhub
