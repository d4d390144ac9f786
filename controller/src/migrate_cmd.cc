// `twinhubctl migrate` and `twinhubctl rollback`: the CLI side of migrate/migration.h.
#include <CLI/CLI.hpp>

#include "commands.h"
#include "migrate/migration.h"

namespace twinhub::ctl {

void addMigrate(CLI::App& app, GlobalOptions& global, MigrateOptions& options, int& exit_code) {
  CLI::App* migrate = app.add_subcommand("migrate", "Move the fleet's batches onto the hubs, each gated, soaked and confirmed or rolled back");
  migrate->add_option("-f,--fleet", options.fleet_file, "The fleet file (docs/fleet.md)")->required();
  migrate->add_option("--batch", options.batch, "Only this batch (1-based); default: every batch in order");
  migrate->add_flag("--all", [&](int64_t) { options.batch = 0; }, "Every batch in order (the default)");
  migrate->add_flag("--dry-run", options.dry_run, "Check every batch's gate, change nothing");
  migrate->add_flag("--json", options.json, "One JSON event per line on stdout (the ledger's events)");
  migrate->add_flag("--accept-one-hub", options.accept_one_hub, "Pass the gate with one hub down");
  migrate->add_option("--soak-s", options.soak_s, "Soak time per batch in seconds (default: the fleet's)");
  migrate->footer(kMigrateExitHelp);
  migrate->callback([&] { exit_code = runMigrate(global.hubs, options, global.security); });
}

void addRollback(CLI::App& app, GlobalOptions& global, RollbackOptions& options, int& exit_code) {
  CLI::App* rollback = app.add_subcommand("rollback", "Put a batch, one sidecar or every sidecar back in direct mode");
  rollback->add_option("-f,--fleet", options.fleet_file, "The fleet file (docs/fleet.md)")->required();
  auto* batch = rollback->add_option("--batch", options.batch, "This batch (1-based)");
  auto* sidecar = rollback->add_option("--sidecar", options.sidecar, "This sidecar id (<machine>.<agent>)");
  auto* all = rollback->add_flag("--all", options.all, "Every sidecar of every batch");
  batch->excludes(sidecar)->excludes(all);
  sidecar->excludes(all);
  rollback->add_flag("--json", options.json, "One JSON event per line on stdout");
  rollback->footer(kMigrateExitHelp);
  rollback->callback([&] { exit_code = runRollback(global.hubs, options, global.security); });
}

}  // namespace twinhub::ctl
