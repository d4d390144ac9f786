// Health subjects (DESIGN.md, "Names"): the health.* family keeps the plan's names and takes no
// subject prefix. A machine name becomes one subject token, so it is restricted to
// [A-Za-z0-9_-] (see validMachineName). Header-only; any thread.
#pragma once

#include <string>
#include <string_view>

namespace twinhub::health {

inline constexpr const char* kStatusWildcard = "health.status.*";
inline constexpr const char* kAlertsSubject = "health.alerts";
inline constexpr const char* kRecoverySubject = "health.recovery";
inline constexpr const char* kAggregateSubject = "health.aggregate";

inline std::string statusSubject(std::string_view machine) { return "health.status." + std::string(machine); }

// A non-empty token of at most 64 characters from [A-Za-z0-9_-]: no dots, wildcards or spaces,
// which would change the subject's meaning.
bool validMachineName(std::string_view name);
// Ids and service names: at most 128 characters from [A-Za-z0-9._:-].
bool validName(std::string_view name);

}  // namespace twinhub::health
