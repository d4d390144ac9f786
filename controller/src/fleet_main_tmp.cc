// TEMPORARY scaffolding (wip-fleet): twinhubctl with only `plan` and `sidecar-config`, so the
// fleet work can be built and tested before the real controller main lands. To merge: call
// addPlanCommands() from controller/src/main.cc, add plan_command.cc and twinhub_fleet to the
// twinhubctl target, and delete this file and controller/fleet_tmp.cmake.
#include <CLI/CLI.hpp>

#include "plan_command.h"

int main(int argc, char** argv) {
  using namespace twinhub::ctl;
  CLI::App app{"twinhubctl: twinhub's controller (fleet plan and sidecar configs)"};
  app.footer(kPlanExitHelp);
  app.require_subcommand(1);
  int exit_code = kPlanExitOk;
  PlanOptions plan;
  SidecarConfigOptions sidecar_config;
  addPlanCommands(app, plan, sidecar_config, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return kPlanExitInvalid;
  }
  return exit_code;
}
