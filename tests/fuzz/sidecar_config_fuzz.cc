// The sidecar config (config/config_loader.h): loadConfigText() on any text, never throwing.
// A config either loads with no problems, or every problem is a "FILE:LINE:COL: message" line.
#include <cstdint>
#include <cstdio>
#include <regex>
#include <string>

#include "config/config_loader.h"
#include "fuzz_check.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::regex kProblem(R"(^sidecar\.yaml:[0-9]+:[0-9]+: .+)");
  const std::string text(reinterpret_cast<const char*>(data), size);
  const twinhub::ConfigLoadResult result = twinhub::loadConfigText(text, "sidecar.yaml");
  for (const std::string& problem : result.errors) {
    if (!std::regex_search(problem, kProblem)) {
      std::fprintf(stderr, "badly formed problem: %s\n", problem.c_str());
      FUZZ_CHECK(false);
    }
  }
  return 0;
}
