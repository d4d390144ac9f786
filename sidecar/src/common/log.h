// Logging set-up: one spdlog logger for the process, writing to stderr. Call initLogging once
// from main before any thread starts; afterwards spdlog's functions are safe from any thread.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace twinhub {

// level: trace, debug, info, warn, error, off. Returns false for an unknown level name.
bool initLogging(const std::string& level, const std::string& program);

}  // namespace twinhub
