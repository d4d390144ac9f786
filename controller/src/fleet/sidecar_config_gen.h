// Generates the sidecar config (DESIGN.md "Interfaces", config/examples/sidecar-hub.yaml) for one
// agent on one machine of a validated fleet: id <machine>.<agent>, mode direct (the controller
// flips it later), the machine's hubs in order of preference, serve with the moved agent and its
// health probe, one front on the agent's original port, /metrics on the derived port.
// Pure; any thread.
#pragma once

#include <string>

#include "fleet/fleet.h"

namespace twinhub::fleet {

// `machine` is the agent's own machine or one of its replicas'. Expects a fleet without errors.
std::string sidecarConfigYaml(const Fleet& fleet, const Agent& agent, const Machine& machine);

// "<sidecars.state_dir>/<machine>.<agent>": one directory per sidecar, because a sidecar keeps
// its applied desired state in <state_dir>/applied-state.json; sidecars of one machine sharing
// a directory would restore each other's mode after a restart.
std::string stateDirOf(const SidecarLayout& layout, const Machine& machine, const Agent& agent);

// "<machine>.<agent>.yaml": the file name `sidecar-config --all --out-dir` writes.
std::string sidecarConfigFileName(const Agent& agent, const Machine& machine);

}  // namespace twinhub::fleet
