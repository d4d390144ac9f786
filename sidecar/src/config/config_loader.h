// Loads and validates a sidecar config file. The only code that includes yaml-cpp.
// Every problem is reported at once, each as "FILE:LINE:COL: message". Any thread.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "config/config.h"

namespace twinhub {

struct ConfigLoadResult {
  SidecarConfig config;
  std::vector<std::string> errors;  // empty when the config is valid
  bool ok() const { return errors.empty(); }
};

ConfigLoadResult loadConfigFile(const std::string& path);
// `source_name` is what error messages call the text (normally its file name).
ConfigLoadResult loadConfigText(const std::string& text, const std::string& source_name);

}  // namespace twinhub
