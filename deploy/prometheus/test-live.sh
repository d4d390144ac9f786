#!/usr/bin/env bash
# A real Prometheus (Debian's) scraping a real sidecar and a real aggregator, all on 127.0.0.1:
# both hubs (deploy/nats/run-local.sh: central and edge, a leaf node of it), a simulated agent,
# a sidecar serving it through the hubs, the aggregator (twinhubctl health watch --metrics) and
# Prometheus with twinhub-rules.yml. Requires: both targets up, the rules loaded and healthy,
# twinhub metrics queried back (the sidecar's mode, the aggregator's count of healthy sidecars,
# which proves a heartbeat went sidecar -> hub -> aggregator -> Prometheus, and the leaf link as
# the aggregator judged it). Then runs check-metric-names.sh against the two live /metrics pages.
#
# usage: deploy/prometheus/test-live.sh [BIN_DIR]     (default: build/bin)
# Environment: KEEP_WORK=1 keeps the work directory (configs, logs, the TSDB).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
bin="$(cd "${1:-$root/build/bin}" && pwd)"
for b in twinhub-sidecar twinhubctl twinhub-agent-sim; do
  [[ -x $bin/$b ]] || { echo "test-live: $bin/$b missing (build first)" >&2; exit 1; }
done
command -v prometheus >/dev/null || { echo "test-live: prometheus missing (apt-get install prometheus)" >&2; exit 1; }

log() { echo "[$(date +%T)] test-live: $*" >&2; }
die() { log "FAIL: $*"; for f in "$work"/*.log; do echo "--- $f" >&2; tail -n 15 "$f" >&2; done; exit 1; }
work=$(mktemp -d /tmp/twinhub-prom.XXXXXX)
pids=()
cleanup() {
  local rc=$? p
  trap - EXIT
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[i]}" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  if [[ ${KEEP_WORK:-0} == 1 ]]; then log "work directory kept: $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Free ports on 127.0.0.1, chosen by the kernel (other engineers' tests run on this machine too).
read -r p_central p_cmon p_leaf p_edge p_emon p_agent p_health p_front p_sidecar p_agg p_prom < <(
  /usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(11)]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
PY
)
wait_for() {  # FILE PATTERN SECONDS
  local i
  for ((i = 0; i < $3 * 10; i++)); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
  die "no '$2' in $1 after $3 s"
}

CENTRAL_PORT=$p_central CENTRAL_MONITOR_PORT=$p_cmon LEAF_PORT=$p_leaf EDGE_PORT=$p_edge EDGE_MONITOR_PORT=$p_emon \
  "$root/deploy/nats/run-local.sh" "$work/hubs" >"$work/hubs.log" 2>&1 &
pids+=($!)
wait_for "$work/hubs.log" "hubs ready" 30

"$bin/twinhub-agent-sim" --name MemoryOrchestratorService --port "$p_agent" --health-port "$p_health" >"$work/agent.log" 2>&1 &
pids+=($!)
wait_for "$work/agent.log" "serving on" 10

cat >"$work/sidecar.yaml" <<YAML
sidecar: {id: pc2.MemoryOrchestratorService, machine: pc2, state_dir: $work/state}
mode: direct
hubs:
  - {name: edge,    url: nats://127.0.0.1:$p_edge}
  - {name: central, url: nats://127.0.0.1:$p_central}
serve:
  service: MemoryOrchestratorService
  address: 127.0.0.1:$p_agent
  probe: {type: zmq, address: 127.0.0.1:$p_health, interval_ms: 500, timeout_ms: 300}
fronts:
  - {listen: 127.0.0.1:$p_front, service: MemoryOrchestratorService, direct: 127.0.0.1:$p_agent}
metrics: 127.0.0.1:$p_sidecar
YAML
"$bin/twinhub-sidecar" --config "$work/sidecar.yaml" >"$work/sidecar.log" 2>&1 &
pids+=($!)
"$bin/twinhubctl" --hub "edge=nats://127.0.0.1:$p_edge" --hub "central=nats://127.0.0.1:$p_central" \
  health watch --observer test-live --metrics "127.0.0.1:$p_agg" >"$work/aggregator.log" 2>&1 &
pids+=($!)
wait_for "$work/aggregator.log" "metrics on" 15

cp "$here/twinhub-rules.yml" "$work/"
cat >"$work/prometheus.yml" <<YAML
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["twinhub-rules.yml"]
scrape_configs:
  - job_name: twinhub-sidecar
    static_configs: [{targets: ["127.0.0.1:$p_sidecar"], labels: {machine: pc2}}]
  - job_name: twinhub-aggregator
    static_configs: [{targets: ["127.0.0.1:$p_agg"]}]
YAML
promtool check config "$work/prometheus.yml" >/dev/null || die "promtool check config"
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/tsdb" \
  --web.listen-address="127.0.0.1:$p_prom" >"$work/prometheus.log" 2>&1 &
pids+=($!)
t0=$SECONDS

api() { curl -s -m 3 "http://127.0.0.1:$p_prom/api/v1/$1" "${@:2}"; }
query() {  # the first result's value of an instant query, or nothing
  api query --data-urlencode "query=$1" | /usr/bin/python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(r[0]["value"][1] if r else "")' 2>/dev/null || true
}
wait_value() {  # QUERY EXPECTED SECONDS
  local v i
  for ((i = 0; i < $3 * 2; i++)); do
    v=$(query "$1")
    [[ $v == "$2" ]] && { log "$1 = $v ($((SECONDS - t0)) s after Prometheus started)"; return 0; }
    sleep 0.5
  done
  die "$1 = '${v}', expected $2 within $3 s"
}
wait_value 'up{job="twinhub-sidecar"}' 1 30
wait_value 'up{job="twinhub-aggregator"}' 1 30
wait_value 'twinhub_mode{job="twinhub-sidecar", mode="direct"}' 1 30
# The sidecar's heartbeats reached the aggregator through the hubs, and Prometheus scraped that.
wait_value 'twinhub_health_sidecars{job="twinhub-aggregator", state="healthy"}' 1 60
wait_value 'sum(twinhub_health_beats_total{job="twinhub-aggregator"}) > bool 0' 1 30
wait_value 'twinhub_health_leaf_up{job="twinhub-aggregator"}' 1 60
# The rules are loaded and evaluate without error.
rules=$(api rules | /usr/bin/python3 -c '
import json, sys
g = json.load(sys.stdin)["data"]["groups"]
rules = [r for x in g for r in x["rules"]]
bad = [r["name"] for r in rules if r.get("health") != "ok"]
print(len(rules), ",".join(bad) or "-")')
read -r n_rules bad_rules <<<"$rules"
expected=$(grep -c '^ *- alert:' "$here/twinhub-rules.yml")
[[ $n_rules == "$expected" && $bad_rules == - ]] || die "rules loaded: $n_rules of $expected, unhealthy: $bad_rules"
log "Prometheus evaluates all $n_rules rules (health ok)"
firing=$(api alerts | /usr/bin/python3 -c '
import json, sys
print(",".join(sorted(a["labels"]["alertname"] for a in json.load(sys.stdin)["data"]["alerts"])) or "none")')
log "alerts pending or firing on the healthy setup: $firing"
[[ $firing == none ]] || die "alerts on a healthy setup: $firing"

curl -s -m 3 "http://127.0.0.1:$p_sidecar/metrics" >"$work/sidecar.metrics"
curl -s -m 3 "http://127.0.0.1:$p_agg/metrics" >"$work/aggregator.metrics"
"$here/check-metric-names.sh" "$work/sidecar.metrics" "$work/aggregator.metrics"
log "PASS ($((SECONDS - t0)) s after Prometheus started)"
