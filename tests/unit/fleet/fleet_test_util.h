// Helpers for the fleet tests: load a fleet from text and look for a problem line.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fleet/fleet_loader.h"

namespace twinhub::fleet::test {

// Two machines and their hubs, five lines; agents and batches follow from line 6.
inline const std::string kMachines = R"(machines:
  - name: pc2
    hub: {name: edge, url: nats://127.0.0.1:4223}
  - name: mainpc
    hub: {name: central, url: nats://127.0.0.1:4222}
)";

inline FleetLoadResult load(const std::string& text) { return loadFleetText(text, "fleet.yaml"); }

inline std::vector<std::string> errorsOf(const FleetLoadResult& r) { return r.problems.formatted(Severity::kError); }
inline std::vector<std::string> warningsOf(const FleetLoadResult& r) {
  return r.problems.formatted(Severity::kWarning);
}

// True when a line starts with `prefix` (e.g. "fleet.yaml:7:5: ") and contains every one of `parts`.
inline bool hasLine(const std::vector<std::string>& lines, const std::string& prefix,
                    const std::vector<std::string>& parts = {}) {
  for (const std::string& line : lines) {
    if (line.rfind(prefix, 0) != 0) continue;
    bool all = true;
    for (const std::string& part : parts) all = all && line.find(part) != std::string::npos;
    if (all) return true;
  }
  return false;
}

// "fleet.yaml:LINE:COL" of the `nth` (0-based) occurrence of `needle` in `text`: where the
// loader must report a problem with the value written there, or name it as the other place.
inline std::string place(const std::string& text, const std::string& needle, int nth = 0) {
  size_t offset = text.find(needle);
  for (int i = 0; i < nth && offset != std::string::npos; ++i) offset = text.find(needle, offset + 1);
  REQUIRE(offset != std::string::npos);
  int line = 1, column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return "fleet.yaml:" + std::to_string(line) + ":" + std::to_string(column);
}

// place() as the prefix of a problem line.
inline std::string at(const std::string& text, const std::string& needle, int nth = 0) {
  return place(text, needle, nth) + ": ";
}

// Prints the lines when an expectation fails.
inline std::string dump(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  return out;
}

}  // namespace twinhub::fleet::test
