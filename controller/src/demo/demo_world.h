// Everything a demo run has started and measures, shared by the steps of demo_run.cc and the
// fault script. Main thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "demo/caller_load.h"
#include "demo/demo_fleet.h"
#include "demo/demo_result.h"
#include "demo/local_hubs.h"
#include "demo/supervisor.h"

namespace twinhub::ctl::demo {

struct DemoOptions {
  bool short_run = false;
  bool json = false;
  std::string report_path;  // "" = <run dir>/report.html
  std::string fleet_dir;    // where reference.yaml and reference-as-planned.yaml are
  std::string run_dir;      // "" = a new /tmp/twinhub-demo-XXXXXX
  int port_shift = 0;       // added to every agent port of the reference fleet
  int hub_port_base = 4222;  // central; edge +1; monitors +4000/+4001; central's leaf port +3200
  bool plain_hubs = false;   // hubs without TLS and users (a quick look)
  std::string gen_certs;     // scripts/gen-certs.sh: the secured hubs' CA, certificates, passwords
};

// One agent-sim (or the replica) and its sidecar.
struct PlacedAgent {
  DemoAgent ports;
  std::string sidecar_id;
  Child* agent = nullptr;
  Child* sidecar = nullptr;
  int incarnation = 1;  // the agent-sim's; each writes its own ledger file
  std::vector<std::string> args;  // to start the agent-sim again
};

struct DemoWorld {
  DemoOptions options;
  std::string bin_dir, self, run_dir;
  std::chrono::steady_clock::time_point zero;
  int64_t zero_epoch_ms = 0;
  std::unique_ptr<Supervisor> supervisor;
  std::unique_ptr<LocalHubs> hubs;
  Child* aggregator = nullptr;
  std::string fleet_path;
  DemoFleet fleet;
  std::vector<PlacedAgent> agents;  // the fleet's, in fleet order, then the replica
  std::unique_ptr<CallerLoad> load;
  DemoResult result;
  bool quiet_progress = false;  // --json: progress goes to stderr

  double nowMs() const;
  static int64_t epochMs();
  double toDemoMs(int64_t epoch_ms) const { return static_cast<double>(epoch_ms - zero_epoch_ms); }
  // A progress line, "[  12.3 s] text  (load: sent N, failed M)".
  void say(const std::string& text) const;
  std::vector<std::string> hubArgs() const;
  PlacedAgent* find(const std::string& name);
  // Waits (up to 2 s) for a moment when at least two requests are in flight, so that the fault
  // injected next lands in the middle of traffic.
  void awaitInFlight() const;
  // Starts the agent-sim of `a` again (after a crash), as a new incarnation. "" or the problem.
  std::string restartAgent(PlacedAgent& a);
};

// Runs the faults under load after the migration; fills result.faults.
void runFaultScript(DemoWorld& world);

}  // namespace twinhub::ctl::demo
