#include "plan_command.h"

#include <CLI/CLI.hpp>

#include <filesystem>
#include <fstream>
#include <iostream>

#include "fleet/fleet_loader.h"
#include "fleet/plan_json.h"
#include "fleet/plan_table.h"
#include "fleet/ports.h"
#include "fleet/sidecar_config_gen.h"

namespace twinhub::ctl {

namespace {

using fleet::FleetLoadResult;
using fleet::Severity;

void printProblems(const FleetLoadResult& loaded, std::ostream& err) {
  for (const std::string& line : loaded.problems.formatted(Severity::kError)) err << line << "\n";
  for (const std::string& line : loaded.problems.formatted(Severity::kWarning)) err << line << "\n";
  const size_t errors = loaded.problems.count(Severity::kError);
  if (errors > 0) err << loaded.fleet.source << ": " << errors << " error" << (errors == 1 ? "" : "s") << "\n";
}

// Writes via a temporary file and a rename, so a sidecar reloading on SIGHUP never reads half a file.
bool writeFileAtomically(const std::string& path, const std::string& text, std::string* why) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream file(tmp, std::ios::binary | std::ios::trunc);
    if (!(file << text) || !file.flush()) {
      *why = "cannot write " + tmp;
      return false;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) {
    *why = "cannot rename " + tmp + " to " + path + ": " + ec.message();
    std::filesystem::remove(tmp, ec);
    return false;
  }
  return true;
}

// The machine an agent's config is for: --machine when given (its own or a replica's), else its own.
const fleet::Machine* machineFor(const fleet::Fleet& f, const fleet::Agent& agent, const std::string& wanted,
                                 std::ostream& err) {
  const std::string name = wanted.empty() ? agent.machine.name : wanted;
  bool placed = name == agent.machine.name;
  for (const fleet::NamedRef& r : agent.replicas) placed = placed || r.name == name;
  if (!placed) {
    err << "sidecar-config: agent " << agent.name << " does not run on machine " << name << "\n";
    return nullptr;
  }
  return f.findMachine(name);
}

int writeOne(const fleet::Fleet& f, const SidecarConfigOptions& options, std::ostream& out, std::ostream& err) {
  const fleet::Agent* agent = f.findAgent(options.agent);
  if (!agent) {
    err << "sidecar-config: " << f.source << " has no agent named " << options.agent << "\n";
    return kPlanExitInvalid;
  }
  const fleet::Machine* machine = machineFor(f, *agent, options.machine, err);
  if (!machine) return kPlanExitInvalid;
  const std::string yaml = fleet::sidecarConfigYaml(f, *agent, *machine);
  if (options.out_file.empty()) {
    out << yaml;
    return kPlanExitOk;
  }
  std::string why;
  if (writeFileAtomically(options.out_file, yaml, &why)) return kPlanExitOk;
  err << "sidecar-config: " << why << "\n";
  return kPlanExitWriteFailed;
}

int writeAll(const fleet::Fleet& f, const std::string& dir, std::ostream& out, std::ostream& err) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    err << "sidecar-config: cannot create " << dir << ": " << ec.message() << "\n";
    return kPlanExitWriteFailed;
  }
  size_t written = 0;
  for (const fleet::Agent& agent : f.agents) {
    for (const std::string& name : fleet::placementsOf(agent)) {
      const fleet::Machine* machine = f.findMachine(name);
      const std::string path = (std::filesystem::path(dir) / fleet::sidecarConfigFileName(agent, *machine)).string();
      std::string why;
      if (!writeFileAtomically(path, fleet::sidecarConfigYaml(f, agent, *machine), &why)) {
        err << "sidecar-config: " << why << "\n";
        return kPlanExitWriteFailed;
      }
      ++written;
    }
  }
  out << "sidecar-config: wrote " << written << " sidecar configs to " << dir << "\n";
  return kPlanExitOk;
}

}  // namespace

int runPlan(const PlanOptions& options, std::ostream& out, std::ostream& err) {
  const FleetLoadResult loaded = fleet::loadFleetFile(options.fleet_file);
  printProblems(loaded, err);
  if (options.json) out << fleet::planJsonText(loaded) << "\n";
  else if (loaded.ok()) out << fleet::planTable(loaded.fleet);
  return loaded.ok() ? kPlanExitOk : kPlanExitInvalid;
}

int runSidecarConfig(const SidecarConfigOptions& options, std::ostream& out, std::ostream& err) {
  if (options.all == !options.agent.empty()) {
    err << "sidecar-config: give either --agent NAME or --all\n";
    return kPlanExitInvalid;
  }
  if (options.all && options.out_dir.empty()) {
    err << "sidecar-config: --all needs --out-dir DIR\n";
    return kPlanExitInvalid;
  }
  const FleetLoadResult loaded = fleet::loadFleetFile(options.fleet_file);
  printProblems(loaded, err);
  if (!loaded.ok()) return kPlanExitInvalid;
  return options.all ? writeAll(loaded.fleet, options.out_dir, out, err) : writeOne(loaded.fleet, options, out, err);
}

void addPlanCommands(CLI::App& app, PlanOptions& plan, SidecarConfigOptions& sc, int& exit_code) {
  CLI::App* p = app.add_subcommand("plan", "Validate a fleet file and print its batches (exit 0 valid, 2 invalid)");
  p->add_option("-f,--fleet", plan.fleet_file, "The fleet file (docs/fleet.md)")->required();
  p->add_flag("--json", plan.json, "Print the plan, errors and warnings as one JSON document");
  p->footer(kPlanExitHelp);
  p->callback([&] { exit_code = runPlan(plan, std::cout, std::cerr); });

  CLI::App* s = app.add_subcommand("sidecar-config", "Write the sidecar config of an agent, or of every agent");
  s->add_option("-f,--fleet", sc.fleet_file, "The fleet file (docs/fleet.md)")->required();
  CLI::Option* agent = s->add_option("--agent", sc.agent, "The agent whose sidecar config to write");
  CLI::Option* all = s->add_flag("--all", sc.all, "Every agent, on every machine it runs on (needs --out-dir)");
  agent->excludes(all);
  s->add_option("--machine", sc.machine, "With --agent: the machine (its own by default, or a replica's)")->needs(agent);
  s->add_option("--out", sc.out_file, "With --agent: write to FILE instead of stdout")->needs(agent);
  s->add_option("--out-dir", sc.out_dir, "With --all: write <machine>.<agent>.yaml files into DIR")->needs(all);
  s->footer(kPlanExitHelp);
  s->callback([&] { exit_code = runSidecarConfig(sc, std::cout, std::cerr); });
}

}  // namespace twinhub::ctl
