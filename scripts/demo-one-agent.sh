#!/usr/bin/env bash
# The one-agent walk-through (the demo before issue 10; ./scripts/demo.sh runs the whole fleet
# now), on a local default setup (everything on 127.0.0.1):
#   - two hubs: "central" (mainpc) and "edge" (pc2, a leaf node of central), deploy/nats/;
#   - a simulated MemoryOrchestratorService agent moved to 127.0.0.1:17140 (health 18140);
#   - pc2's sidecar serving that agent through both hubs while its ZeroMQ health check passes;
#   - a caller-side sidecar on the agent's old public port 7140, first in direct mode, then
#     flipped to hub mode by a config reload;
#   - ZeroMQ REQ/REP traffic throughout, while hub edge is killed (-9) and hub central frozen
#     (SIGSTOP). Every request id must come back, and the agent must serve each exactly once.
# Ports can be moved with FRONT_PORT, AGENT_PORT, METRICS_PORT and the hub ports of
# deploy/nats/run-local.sh (CENTRAL_PORT, EDGE_PORT, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
./scripts/build.sh >/dev/null
bin=${BUILD_DIR:-build}/bin
front_port=${FRONT_PORT:-7140}
agent_port=${AGENT_PORT:-17140}
metrics_port=${METRICS_PORT:-9140}
central_port=${CENTRAL_PORT:-4222}
edge_port=${EDGE_PORT:-4223}
work=$(mktemp -d /tmp/twinhub-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

wait_for() {  # wait_for FILE PATTERN [SECONDS]
  for _ in $(seq 1 $((${3:-10} * 20))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
  echo "demo: timed out waiting for '$2' in $1" >&2; tail -n 20 "$1" >&2; exit 1
}
load() {  # load LABEL REQUESTS_PER_CLIENT: 4 REQ clients through the front, 1 ms between requests
  "$bin/twinhub-zmq-load" --connect "127.0.0.1:$front_port" --clients 4 --requests "$2" --pause-ms 1 \
    --run-id "$1" | sed "s/^/   $1: /"
}
metric() { curl -s "http://127.0.0.1:$metrics_port/metrics" | grep -E "^$1" || true; }

echo "== 1. hubs: central on :$central_port, edge on :$edge_port (a leaf node of central)"
deploy/nats/run-local.sh "$work/hubs" >"$work/hubs.out" 2>&1 &
pids+=($!)
wait_for "$work/hubs.out" "hubs ready" 15
sed 's/^/   /' "$work/hubs.out"

echo "== 2. the agent: MemoryOrchestratorService (simulated) on 127.0.0.1:$agent_port"
"$bin/twinhub-agent-sim" --name MemoryOrchestratorService --port "$agent_port" --health-port $((agent_port + 1000)) \
  >"$work/agent.log" 2>&1 &
pids+=($!); agent_pid=$!
wait_for "$work/agent.log" "serving on"

echo "== 3. pc2's sidecar offers the agent to both hubs while its health check passes"
cat >"$work/pc2.yaml" <<YAML
sidecar: {id: pc2.MemoryOrchestratorService, machine: pc2, state_dir: $work/state-pc2}
mode: hub
hubs:
  - {name: edge,    url: nats://127.0.0.1:$edge_port}
  - {name: central, url: nats://127.0.0.1:$central_port}
serve:
  service: MemoryOrchestratorService
  address: 127.0.0.1:$agent_port
  probe: {type: zmq, address: 127.0.0.1:$((agent_port + 1000)), interval_ms: 500, timeout_ms: 300}
YAML
"$bin/twinhub-sidecar" --config "$work/pc2.yaml" >"$work/pc2.log" 2>&1 &
pids+=($!)
wait_for "$work/pc2.log" "serving MemoryOrchestratorService through the hubs"

echo "== 4. the caller's sidecar on :$front_port, direct mode"
front_config() {
  cat >"$work/front.yaml" <<YAML
sidecar: {id: mainpc.front, machine: mainpc, state_dir: $work/state-mainpc}
mode: $1
hubs:
  - {name: central, url: nats://127.0.0.1:$central_port}
  - {name: edge,    url: nats://127.0.0.1:$edge_port}
hub_options: {failback_hold_ms: 2000}
fronts:
  - {listen: 127.0.0.1:$front_port, service: MemoryOrchestratorService, direct: 127.0.0.1:$agent_port}
metrics: 127.0.0.1:$metrics_port
YAML
}
front_config direct
"$bin/twinhub-sidecar" --check-config "$work/front.yaml" | sed 's/^/   /'
"$bin/twinhub-sidecar" --config "$work/front.yaml" >"$work/front.log" 2>&1 &
pids+=($!); front_pid=$!
wait_for "$work/front.log" "listening on"
load direct 100

echo "== 5. flip the caller's sidecar to hub mode (SIGHUP with the changed file)"
front_config hub
kill -HUP "$front_pid"
wait_for "$work/front.log" "reload ok"
grep -E "mode direct -> hub" "$work/front.log" | sed 's/^/   /'
load hub 100

echo "== 6. kill -9 hub edge in the middle of traffic"
load kill 400 & loader=$!
sleep 0.6
kill -9 "$(cat "$work/hubs/edge.pid")"
wait "$loader"
nats-server -c "$work/hubs/edge.conf" >>"$work/hubs/edge.log" 2>&1 &
pids+=($!)

echo "== 7. freeze hub central (SIGSTOP) in the middle of traffic, then let it run again"
sleep 1
load freeze 400 & loader=$!
sleep 0.6
central_pid=$(cat "$work/hubs/central.pid")
kill -STOP "$central_pid"
wait "$loader"
kill -CONT "$central_pid"

echo "== 8. what the sidecars saw"
grep -hE "hub (edge|central): (up|down|suspect)|sessions now go through" "$work/front.log" "$work/pc2.log" \
  | sed 's/^/   /'
metric 'twinhub_(hub_failovers_total|session_resent_frames_total|sessions_total|frames_dropped_total)' | sed 's/^/   /'

echo "== 9. SIGTERM: the caller's sidecar drains and exits; the agent reports what it served"
kill -TERM "$front_pid"; wait "$front_pid"; echo "   sidecar exit status $?"
kill -TERM "$agent_pid"; wait "$agent_pid" || true
grep '^stats' "$work/agent.log" | sed 's/^/   /'
expected=$(( 4 * (100 + 100 + 400 + 400) ))
if grep -q '"duplicates":0' "$work/agent.log" && grep -q "\"unique_request_ids\":$expected" "$work/agent.log" &&
  grep -q "\"served\":$expected" "$work/agent.log"; then
  echo "demo: ok: $expected requests through a hub kill and a hub freeze, each served exactly once"
else
  echo "demo: FAILED: expected $expected requests served once each; logs in $work"
  exit 1
fi
