// Loads and validates a sidecar config file. The only code that includes yaml-cpp.
// Every problem is reported at once, each as "FILE:LINE:COL: message"; a key given twice in a
// mapping and a second YAML document are problems too. A key kept only so that older files load
// (hub_options.direct_writes) is checked as before and reported as a warning. Any thread.
#pragma once

#include <string>
#include <variant>
#include <vector>

#include "config/config.h"

namespace twinhub {

struct ConfigLoadResult {
  SidecarConfig config;
  std::vector<std::string> errors;    // empty when the config is valid
  std::vector<std::string> warnings;  // accepted but worth saying (an ignored key), as errors are
  bool ok() const { return errors.empty(); }
};

// A missing file, a directory or an unreadable one is one problem at "PATH:1:1".
ConfigLoadResult loadConfigFile(const std::string& path);
// `source_name` is what error messages call the text (normally its file name).
ConfigLoadResult loadConfigText(const std::string& text, const std::string& source_name);

// Why `address` cannot serve /metrics, or "" when it can. The config file and --metrics both
// check it, so that an address --check-config accepts also starts.
std::string metricsAddressProblem(const NetAddress& address);

}  // namespace twinhub
