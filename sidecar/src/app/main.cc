// twinhub-sidecar: a sidecar in front of an agent's port. See DESIGN.md, "Interfaces".
#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include "app/sidecar_app.h"
#include "common/log.h"
#include "common/memory_trimmer.h"
#include "common/problem_list.h"
#include "common/rlimit.h"
#include "config/config_loader.h"
#include "hub/hub_client.h"
#include "nats_security/default_trust.h"

namespace {

constexpr int kExitConfigInvalid = 2;

// Loads `path` for --config and --check-config alike, so both refuse a file for the same
// reasons with the same words; prints its warnings, and the problems (the first 50: a generated
// file may have thousands), and returns nullopt when the file is not a valid config.
std::optional<twinhub::SidecarConfig> loadOrReport(const std::string& path) {
  twinhub::ConfigLoadResult loaded = twinhub::loadConfigFile(path);
  for (const std::string& line : loaded.warnings) std::cerr << "warning: " << line << "\n";
  if (loaded.ok()) return loaded.config;
  for (const std::string& line : twinhub::listedProblems(loaded.errors)) std::cerr << line << "\n";
  std::cerr << path << ": " << loaded.errors.size() << " problem(s)\n";
  return std::nullopt;
}

int checkConfig(const std::string& path) {
  std::optional<twinhub::SidecarConfig> config = loadOrReport(path);
  if (!config) return kExitConfigInvalid;
  std::cout << path << ": ok (" << config->fronts.size() << " front(s), mode " << twinhub::modeName(config->mode)
            << ")\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  twinhub::limitMallocArenas();  // before any thread (common/memory_trimmer.h)
  CLI::App cli{"twinhub-sidecar: carries an agent's TCP traffic directly or through the twinhub hubs.\n"
               "Run from a config file (--config), or as one direct-mode front (--listen and --direct)."};
  std::string config_path, check_path, listen, direct, service = "default", metrics, log_level;
  uint32_t drain_timeout_ms = 0;
  bool version = false;
  // No CLI::ExistingFile check: its exit status (105) and words differ from --check-config's.
  cli.add_option("--config", config_path, "Run from this YAML config file");
  cli.add_option("--check-config", check_path, "Validate this config file and exit (0 valid; 2 with every problem as FILE:LINE:COL)");
  cli.add_option("--listen", listen, "Without --config: address of the one front, e.g. 0.0.0.0:7140 or [::]:7140 (port 0: any)");
  cli.add_option("--direct", direct, "Without --config: the agent address the front connects to, e.g. 127.0.0.1:17140");
  cli.add_option("--service", service, "Without --config: service name used in logs and metric labels")->capture_default_str();
  cli.add_option("--metrics", metrics, "Without --config: serve Prometheus /metrics on this address");
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error or off (default: the config's, else info)");
  cli.add_option("--drain-timeout-ms", drain_timeout_ms, "On SIGTERM, how long open connections may finish (default 30000)");
  cli.add_flag("--version", version, "Print the version and exit");
  CLI11_PARSE(cli, argc, argv);

  if (version) {
    std::cout << "twinhub-sidecar " << TWINHUB_VERSION << "\n";
    return 0;
  }
  if (!check_path.empty()) return checkConfig(check_path);

  twinhub::SidecarConfig config;
  if (!config_path.empty()) {
    if (!listen.empty() || !direct.empty()) {
      std::cerr << "--config cannot be combined with --listen/--direct\n";
      return kExitConfigInvalid;
    }
    std::optional<twinhub::SidecarConfig> loaded = loadOrReport(config_path);
    if (!loaded) return kExitConfigInvalid;
    config = *loaded;
  } else if (!listen.empty() && !direct.empty()) {
    std::string error;
    auto listen_addr = twinhub::NetAddress::parse(listen, &error);
    auto direct_addr = listen_addr ? twinhub::NetAddress::parse(direct, &error) : std::nullopt;
    std::optional<twinhub::NetAddress> metrics_addr;
    if (direct_addr && !metrics.empty()) metrics_addr = twinhub::NetAddress::parse(metrics, &error);
    if (metrics_addr) error = twinhub::metricsAddressProblem(*metrics_addr);
    if (!listen_addr || !direct_addr || (!metrics.empty() && (!metrics_addr || !error.empty()))) {
      std::cerr << error << "\n";
      return kExitConfigInvalid;
    }
    twinhub::FrontConfig front;
    front.listen = *listen_addr;
    front.service = service;
    front.direct = *direct_addr;
    front.max_connections = config.proxy.max_connections;
    front.connect_timeout_ms = config.proxy.connect_timeout_ms;
    config.fronts.push_back(front);
    config.metrics = metrics_addr;
    config.id = "sidecar." + service;
  } else {
    std::cerr << "give --config FILE, or both --listen and --direct (see --help)\n";
    return kExitConfigInvalid;
  }
  twinhub::ConfigOverrides overrides;
  if (drain_timeout_ms) overrides.drain_timeout_ms = drain_timeout_ms;
  if (!log_level.empty()) overrides.log_level = log_level;
  overrides.applyTo(config);
  if (!twinhub::initLogging(config.log_level, "twinhub-sidecar")) {
    std::cerr << "unknown log level '" << config.log_level << "'\n";
    return kExitConfigInvalid;
  }

  // Before any thread: it may set SSL_CERT_FILE and SSL_CERT_DIR (nats_security/default_trust.h).
  std::vector<twinhub::nats_security::HubSecurity> hub_security;
  for (const twinhub::HubConfig& hub : config.hubs) hub_security.push_back(hub.security);
  if (std::string ca = twinhub::nats_security::trustOnlyNamedCas(hub_security); !ca.empty()) {
    spdlog::debug("hub TLS: OpenSSL's default trust narrowed to the named CA {}", ca);
  }

  std::signal(SIGPIPE, SIG_IGN);  // a peer that went away is an error code, not a signal
  uint64_t files = twinhub::raiseOpenFileLimit();
  spdlog::debug("open file limit {}", files);

  int status = 0;
  {
    twinhub::SidecarApp app(config, config_path, overrides);
    status = app.run();
  }
  twinhub::shutdownHubLibrary();
  return status;
}
