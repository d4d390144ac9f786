#include "support/sidecar_fixture.h"

#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <regex>
#include <sstream>
#include <thread>

#include "support/tcp_client.h"

namespace twinhub::test {

namespace {

std::vector<std::string> sidecarArgs(const std::string& config_path, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"--config", config_path};
  if (const char* level = std::getenv("TWINHUB_TEST_SIDECAR_LOG_LEVEL"); level && *level) {
    args.push_back("--log-level");
    args.push_back(level);
  }
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

const char* const kPrlimit = "/usr/bin/prlimit";  // util-linux

std::string program(unsigned open_file_limit) {
  return open_file_limit ? kPrlimit : binPath("twinhub-sidecar");
}

std::vector<std::string> launchArgs(const std::string& config_path, const std::vector<std::string>& extra,
                                    unsigned open_file_limit) {
  std::vector<std::string> args = sidecarArgs(config_path, extra);
  if (!open_file_limit) return args;
  const std::string limit = std::to_string(open_file_limit);
  args.insert(args.begin(), {"--nofile=" + limit + ":" + limit, "--", binPath("twinhub-sidecar")});
  return args;
}

}  // namespace

SidecarFixture::SidecarFixture(const std::string& yaml, const std::vector<std::string>& extra_args,
                               unsigned open_file_limit)
    : config_path_(dir_.write("sidecar.yaml", yaml)),
      process_(program(open_file_limit), launchArgs(config_path_, extra_args, open_file_limit)) {}

bool SidecarFixture::prlimitAvailable() { return ::access(kPrlimit, X_OK) == 0; }

bool SidecarFixture::waitReady(size_t fronts, bool metrics, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto left = [&] {
    return std::max(std::chrono::milliseconds(1), std::chrono::duration_cast<std::chrono::milliseconds>(
                                                       deadline - std::chrono::steady_clock::now()));
  };
  fronts_.clear();
  for (size_t i = 0; i < fronts; ++i) {
    std::string address = process_.waitForOutput(R"(front \S+ listening on (\S+))", left(), static_cast<int>(i));
    if (address.empty()) return false;
    fronts_.push_back(address);
  }
  if (metrics) {
    metrics_ = process_.waitForOutput(R"(metrics on http://(\S+)/metrics)", left());
    if (metrics_.empty()) return false;
  }
  return true;
}

int SidecarFixture::countLog(const std::string& pattern) const {
  const std::regex re(pattern, std::regex::ECMAScript);
  std::istringstream in(process_.output());
  std::string line;
  int count = 0;
  while (std::getline(in, line)) {
    if (std::regex_search(line, re)) ++count;
  }
  return count;
}

bool SidecarFixture::reload(const std::string& yaml, std::chrono::milliseconds timeout) {
  const char* const kOutcome = R"(reload (ok|failed))";
  const int before = countLog(kOutcome);
  dir_.write("sidecar.yaml", yaml);
  process_.signal(SIGHUP);
  return process_.waitForOutput(kOutcome, timeout, before) == "ok";
}

std::string SidecarFixture::scrape() const {
  if (metrics_.empty()) return "";
  return httpGet(metrics_, "/metrics");
}

double SidecarFixture::metric(const std::string& name, const std::string& labels) const {
  const std::string exposition = scrape();
  if (exposition.empty()) return -1;
  return metricValue(exposition, name, labels);
}

double SidecarFixture::waitMetric(const std::string& name, const std::string& labels,
                                  const std::function<bool(double)>& ok, std::chrono::milliseconds timeout) const {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  double value = metric(name, labels);
  while (!ok(value) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    value = metric(name, labels);
  }
  return value;
}

}  // namespace twinhub::test
