// twinhubctl: the controller CLI (DESIGN.md, "Interfaces"). Subcommands live in their own files
// (commands.h); this file parses the global options, installs the signal handlers and maps
// errors to the exit statuses listed in --help.
#include <signal.h>

#include <CLI/CLI.hpp>

#include <atomic>
#include <cstdio>

#include <nats/nats.h>

#include "commands.h"
#include "demo/demo_world.h"
#include "migrate/migration.h"
#include "plan_command.h"
#include "status/status_table.h"

namespace twinhub::ctl {

namespace {
// The one piece of process-wide state: a signal handler can reach nothing else.
std::atomic<bool> g_stop{false};
void onSignal(int) { g_stop.store(true); }

constexpr const char* kFooter = R"(
Exit status:
  0  success; for status and health watch --once: every sidecar heard and every agent ok
  1  an agent is down, a sidecar is lost or a machine is partitioned
  2  usage: bad or missing options (no --hub, a malformed NAME=URL, a busy --metrics address)
  3  no hub reachable
  4  hubs reachable, but no heartbeat heard
)";
}  // namespace

const std::atomic<bool>& stopRequested() { return g_stop; }

}  // namespace twinhub::ctl

int main(int argc, char** argv) {
  using namespace twinhub::ctl;
  CLI::App app{"twinhubctl: twinhub's controller (fleet health, status, plan, sidecar configs, migrate, rollback, demo)"};
  app.footer(std::string(kFooter) + "\n" + kPlanExitHelp + "\n" + kMigrateExitHelp);
  app.require_subcommand(1);
  GlobalOptions global;
  app.add_option("--hub", global.hub_args, "A hub as NAME=URL (nats://host:port); repeat, in order of preference");
  // Secrets only from files (docs/security.md): a password on the command line is in ps and history.
  app.add_option("--hub-ca", global.security.tls.ca, "TLS: PEM file of the CA that signed the hubs' certificates")
      ->check(CLI::ExistingFile);
  app.add_option("--hub-cert", global.security.tls.cert, "TLS: this controller's certificate (PEM)")->check(CLI::ExistingFile);
  app.add_option("--hub-key", global.security.tls.key, "TLS: its private key (PEM, mode 0600)")->check(CLI::ExistingFile);
  app.add_option("--hub-user", global.security.auth.user, "The hub user to log in as (e.g. controller)");
  app.add_option("--hub-password-file", global.security.auth.password_file,
                 "File whose first line is the hub user's password (mode 0600)")->check(CLI::ExistingFile);
  app.add_option("--hub-token-file", global.security.auth.token_file, "File whose first line is a hub token (mode 0600)")
      ->check(CLI::ExistingFile);
  int exit_code = kExitOk;
  CLI::App* health = app.add_subcommand("health", "Fleet health");
  health->require_subcommand(1);
  HealthWatchOptions watch;
  addHealthWatch(*health, global, watch, exit_code);
  StatusOptions status;
  addStatus(app, global, status, exit_code);
  PlanOptions plan;
  SidecarConfigOptions sidecar_config;
  addPlanCommands(app, plan, sidecar_config, exit_code);
  MigrateOptions migrate;
  addMigrate(app, global, migrate, exit_code);
  RollbackOptions rollback;
  addRollback(app, global, rollback, exit_code);
  demo::DemoOptions demo_options;
  addDemo(app, demo_options, exit_code);
  addHubUsers(app, exit_code);
  app.parse_complete_callback([&] {
    for (const std::string& arg : global.hub_args) {
      HubAddress hub;
      if (std::string problem = parseHubAddress(arg, &hub); !problem.empty()) throw CLI::ValidationError(problem);
      hub.security = global.security;
      global.hubs.push_back(hub);
    }
  });
  struct sigaction action = {};
  action.sa_handler = onSignal;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kExitUsage;
  }
  nats_CloseAndWait(2000);
  releaseRetiredHubLinks();
  return exit_code;
}
