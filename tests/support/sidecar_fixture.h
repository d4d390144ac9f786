// Test support: a twinhub-sidecar process run from a YAML text, with the addresses it announced
// (fronts, /metrics), its log, SIGHUP reloads and /metrics scraping. The YAML is written to a
// TempDir owned by the fixture, so it can be rewritten for a reload.
//
// Set TWINHUB_TEST_SIDECAR_LOG_LEVEL (trace, debug, ...) to pass --log-level to every sidecar a
// test starts (the command line's level wins over the file's, also after a reload). TWINHUB_KEEP_TEST_LOGS keeps
// the logs (see Process).
//
// Used from the test thread only.
#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "support/process.h"

namespace twinhub::test {

class SidecarFixture {
 public:
  // Writes `yaml` to a fresh directory and starts twinhub-sidecar --config on it (plus
  // `extra_args`). Does not wait: see waitReady(). A non-zero `open_file_limit` runs it under
  // prlimit with that soft and hard RLIMIT_NOFILE (the sidecar raises its soft limit to the hard
  // one, so both must be set); see prlimitAvailable().
  explicit SidecarFixture(const std::string& yaml, const std::vector<std::string>& extra_args = {},
                          unsigned open_file_limit = 0);
  static bool prlimitAvailable();
  SidecarFixture(const SidecarFixture&) = delete;
  SidecarFixture& operator=(const SidecarFixture&) = delete;

  // Waits for `fronts` "front ... listening on ADDR" lines and, when `metrics`, for the /metrics
  // line. False (with the addresses found so far) on timeout or exit.
  [[nodiscard]] bool waitReady(size_t fronts, bool metrics, std::chrono::milliseconds timeout);

  Process& process() { return process_; }
  std::string output() const { return process_.output(); }
  const std::string& configPath() const { return config_path_; }
  // The bound address of the i-th front announced (in config order at start).
  const std::string& front(size_t i = 0) const { return fronts_.at(i); }
  const std::string& metricsAddress() const { return metrics_; }

  // Waits for the nth line (0 = first) matching `pattern`; returns its first group or the whole
  // match, "" on timeout.
  std::string waitLog(const std::string& pattern, std::chrono::milliseconds timeout, int nth = 0) {
    return process_.waitForOutput(pattern, timeout, nth);
  }
  // Lines of the output matching `pattern` so far.
  int countLog(const std::string& pattern) const;

  // Replaces the config file with `yaml`, sends SIGHUP and waits for the reload's outcome line.
  // True on "reload ok".
  [[nodiscard]] bool reload(const std::string& yaml, std::chrono::milliseconds timeout);

  // GET /metrics now; "" when unreachable.
  std::string scrape() const;
  // The sum of the metric's samples whose labels contain every pair of `labels` (see
  // metricValue); -1 when no sample matches or /metrics is unreachable.
  double metric(const std::string& name, const std::string& labels = "") const;
  // Polls /metrics every 20 ms until `ok(value)` or `timeout`; returns the last value seen.
  double waitMetric(const std::string& name, const std::string& labels, const std::function<bool(double)>& ok,
                    std::chrono::milliseconds timeout) const;

 private:
  TempDir dir_;
  std::string config_path_;
  Process process_;
  std::vector<std::string> fronts_;
  std::string metrics_;
};

}  // namespace twinhub::test
