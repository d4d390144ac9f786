#!/usr/bin/env bash
# The main job: installs what is missing (Debian 12, as root), builds, and runs the whole demo,
# `build/bin/twinhubctl demo` (docs/demo.md): two hubs, the 26 agents of the reference fleet each
# behind its sidecar, callers under continuous ZeroMQ load, plan, the migration batch by batch
# (one batch rolled back by itself and migrated again), hub, agent and link faults, a summary
# table and an HTML report. Arguments go to `twinhubctl demo` (--short, --report PATH, --json).
# Exit status: the demo's (0 only when nothing was lost or served twice and every fault was seen).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null
exec "${BUILD_DIR:-build}/bin/twinhubctl" demo "$@"
