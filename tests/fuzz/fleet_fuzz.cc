// The fleet file (fleet/fleet_loader.h): loadFleetText() on any text, never throwing. Every
// error is a "FILE:LINE:COL: message" line (or the "... and N more" tail), and a fleet that loads
// can be planned (the JSON `twinhubctl plan` prints). tests/unit/fleet/fleet_fuzz_test.cc
// mutates the reference fleet with YAML tokens; this harness lets libFuzzer find its own.
#include <cstdint>
#include <cstdio>
#include <regex>
#include <string>

#include "fleet/fleet_loader.h"
#include "fleet/plan_json.h"
#include "fuzz_check.h"

using namespace twinhub::fleet;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::regex kProblem(R"(^fleet\.yaml:[0-9]+:[0-9]+: .+|^\.\.\. and [0-9]+ more (problem|warning)s?$)");
  const std::string text(reinterpret_cast<const char*>(data), size);
  const FleetLoadResult result = loadFleetText(text, "fleet.yaml");
  for (const std::string& problem : result.problems.formatted(Severity::kError)) {
    if (!std::regex_search(problem, kProblem)) {
      std::fprintf(stderr, "badly formed problem: %s\n", problem.c_str());
      FUZZ_CHECK(false);
    }
  }
  FUZZ_CHECK(result.ok() || !result.problems.formatted(Severity::kError).empty());
  (void)planJsonText(result);
  return 0;
}
