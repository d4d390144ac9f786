#!/usr/bin/env bash
# The main job, on a local default setup: a simulated MemoryOrchestratorService agent moved to
# 127.0.0.1:17140, a twinhub sidecar on the agent's old public port 7140 in direct mode, and
# ZeroMQ REQ/REP traffic through the sidecar; every request id must come back exactly once.
# Then the sidecar drains on SIGTERM. Ports can be changed: FRONT_PORT, AGENT_PORT, METRICS_PORT.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null
bin=${BUILD_DIR:-build}/bin
front_port=${FRONT_PORT:-7140}
agent_port=${AGENT_PORT:-17140}
metrics_port=${METRICS_PORT:-9140}
work=$(mktemp -d /tmp/twinhub-demo.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

wait_for() {  # wait_for FILE PATTERN: up to 5 s for a line in a log
  for _ in $(seq 1 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "demo: timed out waiting for '$2' in $1" >&2; cat "$1" >&2; exit 1
}

echo "== 1. the agent: MemoryOrchestratorService (simulated) on 127.0.0.1:$agent_port"
"$bin/twinhub-agent-sim" --name MemoryOrchestratorService --port "$agent_port" --health-port $((agent_port + 1000)) \
  >"$work/agent.log" 2>&1 &
pids+=($!); agent_pid=$!
wait_for "$work/agent.log" "serving on"

echo "== 2. the sidecar: 127.0.0.1:$front_port -> 127.0.0.1:$agent_port (direct mode)"
cat >"$work/sidecar.yaml" <<YAML
sidecar: {machine: pc2, state_dir: $work/state}
mode: direct
fronts:
  - {listen: 127.0.0.1:$front_port, service: MemoryOrchestratorService, direct: 127.0.0.1:$agent_port}
metrics: 127.0.0.1:$metrics_port
YAML
"$bin/twinhub-sidecar" --check-config "$work/sidecar.yaml"
"$bin/twinhub-sidecar" --config "$work/sidecar.yaml" >"$work/sidecar.log" 2>&1 &
pids+=($!); sidecar_pid=$!
wait_for "$work/sidecar.log" "listening on"
grep -E "listening on|metrics on" "$work/sidecar.log"

echo "== 3. traffic: 4 ZeroMQ REQ clients x 500 requests through the sidecar"
"$bin/twinhub-zmq-load" --connect "127.0.0.1:$front_port" --clients 4 --requests 500

echo "== 4. what the sidecar counted (http://127.0.0.1:$metrics_port/metrics)"
curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E '^twinhub_(front_connections_total|front_bytes_total|turn_duration_seconds_count|upstream_connect_failures_total)'

echo "== 5. SIGTERM: the sidecar drains and exits; the agent reports what it served"
kill -TERM "$sidecar_pid"; wait "$sidecar_pid"; echo "sidecar exit status $?"
grep -E "draining|exit" "$work/sidecar.log"
kill -TERM "$agent_pid"; wait "$agent_pid" || true
grep '^stats' "$work/agent.log"
grep -q '"duplicates":0' "$work/agent.log" && grep -q '"unique_request_ids":2000' "$work/agent.log" \
  && echo "demo: ok: 2000 requests, each served once" || { echo "demo: FAILED: see $work"; exit 1; }
