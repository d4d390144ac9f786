// `twinhubctl plan` and `twinhubctl sidecar-config`: validate a fleet file and print its batches,
// and generate the sidecar configs it implies (docs/fleet.md). Each run function returns the
// process exit status (kPlanExitHelp lists them for --help); output goes to the given streams so
// tests can call them in-process. addPlanCommands() wires both into a CLI11 app.
#pragma once

#include <iosfwd>
#include <string>

namespace CLI {
class App;
}

namespace twinhub::ctl {

constexpr int kPlanExitOk = 0;
constexpr int kPlanExitWriteFailed = 1;  // sidecar-config could not write a file
constexpr int kPlanExitInvalid = 2;      // bad options, or a fleet file that is unreadable or has errors

constexpr const char* kPlanExitHelp = R"(plan / sidecar-config exit status:
  0  the fleet file is valid (warnings may be printed); configs written
  1  sidecar-config could not write a file
  2  invalid input: bad options, an unreadable fleet file, a fleet file with errors (all listed on
     stderr as FILE:LINE:COL: message), or an agent or machine the fleet does not have
)";

struct PlanOptions {
  std::string fleet_file;
  bool json = false;  // the plan as one JSON document on stdout instead of the table
};
int runPlan(const PlanOptions& options, std::ostream& out, std::ostream& err);

struct SidecarConfigOptions {
  std::string fleet_file;
  std::string agent;    // one agent ...
  std::string machine;  // ... on this machine (default: its own; or one of its replicas)
  bool all = false;     // or every agent on every machine it runs on
  std::string out_file;  // --agent: write here instead of stdout
  std::string out_dir;   // --all: write <machine>.<agent>.yaml files here
};
int runSidecarConfig(const SidecarConfigOptions& options, std::ostream& out, std::ostream& err);

// Adds `plan` and `sidecar-config` to `app`; the chosen one's status lands in `exit_code`.
void addPlanCommands(CLI::App& app, PlanOptions& plan, SidecarConfigOptions& sidecar_config, int& exit_code);

}  // namespace twinhub::ctl
