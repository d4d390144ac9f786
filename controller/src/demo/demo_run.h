// `twinhubctl demo`: the whole migration as a demo that is also the acceptance run (issue 10,
// docs/demo.md). Starts the hubs, every agent of the reference fleet behind its sidecar, a
// replica, the aggregator and the callers' load; plan; migrate batch by batch (one batch's soak
// breached by a slowed agent, rolled back by itself and migrated again); the fault script; then
// the summary, the HTML report and the exit status. Main thread only.
#pragma once

#include "demo/demo_world.h"

namespace twinhub::ctl::demo {

// 0 pass; 1 a request lost or served twice, a fault not detected, or a step failed; 2 usage or
// setup (missing binaries, a port in use); 130 interrupted.
int runDemo(const DemoOptions& options);

}  // namespace twinhub::ctl::demo
