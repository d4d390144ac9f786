// The fleet the demo migrates: the reference fleet (config/fleet/reference.yaml) rewritten for
// one host: both machines at 127.0.0.1 with the demo's hub ports, every port shifted by
// `port_shift` (0 = the agents' real ports), fronts on 127.0.0.1 only, sidecar state under the
// run directory, probes every 300 ms, and the migration's windows shortened and its latency ratio
// loosened (below). `--short` keeps the first
// `agents_per_batch` agents of the first `batches` batches; dependencies on agents left out are
// dropped. Pure; any thread.
#pragma once

#include <string>
#include <vector>

#include "fleet/fleet.h"

namespace twinhub::ctl::demo {

struct HubPorts {
  int central = 4222, edge = 4223;
  int central_monitor = 8222, edge_monitor = 8223;
  int leaf = 7422;  // central's leafnode listener (edge reaches it through the link relay)
};

struct DemoFleetOptions {
  int port_shift = 0;
  size_t batches = 0;           // 0 = all
  size_t agents_per_batch = 0;  // 0 = all
  std::string state_dir;
  double soak_s = 4, baseline_window_s = 2;
  unsigned min_samples = 20;
  // The reference's 1.5 breaches on noise when this 2-core machine is shared with builds (a
  // short soak measured hub mode's p99 at 9.3 ms against a 2.3 ms direct baseline: 4x); the
  // slowed agent (150 ms against a few ms) is far above 5.
  double max_latency_ratio_p99 = 5;
};

// One placed agent, with the ports its agent-sim and sidecar use.
struct DemoAgent {
  std::string name;
  size_t batch;  // 0-based
  int front, agent, health, metrics;
};

struct DemoFleet {
  std::string yaml;
  std::vector<DemoAgent> agents;
  std::vector<std::string> batch_names;
};

DemoFleet makeDemoFleet(const fleet::Fleet& reference, const HubPorts& hubs, const DemoFleetOptions& options);

}  // namespace twinhub::ctl::demo
