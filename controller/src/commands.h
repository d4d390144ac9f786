// twinhubctl's subcommands, one file each; main.cc wires them to CLI11. Each returns the
// process exit status (status/status_table.h lists them).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "nats/hub_link.h"

namespace CLI {
class App;
}

namespace twinhub::ctl {

// Options every subcommand shares.
struct GlobalOptions {
  std::vector<std::string> hub_args;  // --hub NAME=URL, in order of preference
  std::vector<HubAddress> hubs;       // parsed
  // --hub-ca, --hub-cert, --hub-key, --hub-user, --hub-password-file, --hub-token-file: this
  // controller's TLS files and credentials, the same for every hub (docs/security.md).
  nats_security::HubSecurity security;
  std::string fleet_file;             // -f FLEET of status and health watch: its hubs when no --hub
};

// Set by SIGINT/SIGTERM: long-running commands finish their current step and return.
const std::atomic<bool>& stopRequested();

struct HealthWatchOptions {
  bool once = false;
  bool json = false;
  int window_ms = 1500;  // --once: how long to listen before the snapshot
  std::string metrics;   // address for /metrics, "" = none
  std::string observer;
  int lost_beats_x10 = 30;
  bool no_history = false;
  double retention_hours = 24;
};
void addHealthWatch(CLI::App& health, GlobalOptions& global, HealthWatchOptions& options, int& exit_code);

struct StatusOptions {
  bool json = false;
  bool watch = false;
  int window_ms = 1500;
};
void addStatus(CLI::App& app, GlobalOptions& global, StatusOptions& options, int& exit_code);

struct MigrateOptions;
struct RollbackOptions;
void addMigrate(CLI::App& app, GlobalOptions& global, MigrateOptions& options, int& exit_code);
void addRollback(CLI::App& app, GlobalOptions& global, RollbackOptions& options, int& exit_code);

namespace demo {
struct DemoOptions;
}
void addDemo(CLI::App& app, demo::DemoOptions& options, int& exit_code);

// hub-users: the hubs' authorization block for a fleet (hub_users_cmd.cc).
void addHubUsers(CLI::App& app, int& exit_code);

}  // namespace twinhub::ctl
