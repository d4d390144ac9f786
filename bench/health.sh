#!/usr/bin/env bash
# bench/health.sh: fleet health at the reference fleet's size. 26 agent-sims on machine pc2, each
# behind a serving sidecar (heartbeats at the default 500 ms through both hubs), one aggregator
# (twinhubctl health watch) on both hubs. Measures:
#   - sync latency: heartbeat timestamp to receipt by the aggregator, p50/p99 over SYNC_SECONDS,
#     from the aggregator's histogram (bounds of its buckets: 1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50 ms..)
#   - detection delays, TRIALS each: fault (wall clock, ms) to the alert's detected_at:
#       agent    an agent stops answering health checks (sim_set health_answer=false) -> agent_down
#       sidecar  a sidecar is killed (-9)                                                -> sidecar_lost
#       kill     hub edge is killed (-9)                                                  -> hub_down
#       freeze   hub central is stopped (SIGSTOP)                                          -> hub_frozen
#       leaf     the leaf link edge->central is cut (its relay, socat, is SIGSTOPped)      -> leaf_down
#     after each fault the fleet is restored and the matching recovery awaited.
# Targets (issue 8): sync p99 < 50 ms; agent < 1500 ms; sidecar < 2000 ms; kill < 1000 ms;
#   freeze < 1500 ms; leaf < 2000 ms.
#
#   bench/health.sh            10 trials per fault (~5 minutes)
#   QUICK=1 bench/health.sh    3 trials per fault
# Environment: BUILD_DIR (default <repo>/build), SIDECARS (26), TRIALS, FAULTS ("agent sidecar kill
#   freeze leaf"), SYNC_SECONDS (10), OUT=file.json, KEEP_TMP=1. Needs socat for the leaf cut
#   (./scripts/install-deps.sh --bench) and /usr/bin/python3 with python3-zmq.
# Exit status: 0 when every trial detected its fault within 10 s, 1 otherwise, 2 when it cannot run.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/hubs.sh
source "$ROOT/bench/hubs.sh"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BIN=$BUILD_DIR/bin
CLIENT=$BIN/bench_client
SIDECARS=${SIDECARS:-26}
if [[ ${QUICK:-0} == 1 ]]; then TRIALS=${TRIALS:-3}; else TRIALS=${TRIALS:-10}; fi
FAULTS=${FAULTS:-agent sidecar kill freeze leaf}
SYNC_SECONDS=${SYNC_SECONDS:-10}
PY=/usr/bin/python3

bench_init health
for b in twinhub-sidecar twinhub-agent-sim twinhubctl bench_client; do
  [[ -x $BIN/$b ]] || { log "$BIN/$b missing: build first (./scripts/build.sh)"; exit 2; }
done
command -v socat >/dev/null || { log "socat missing (./scripts/install-deps.sh --bench)"; exit 2; }
now_ms() { date +%s%3N; }

# ---- the fleet ---------------------------------------------------------------------------------
hubs_setup "$TMP/hubs" || { log "$HUB_ERR"; exit 2; }
RELAY_PORT=$("$CLIENT" freeport 1)
# Edge joins central through a relay that the leaf trial can freeze (a dead link, sockets open).
sed -i "s|nats-leaf://127.0.0.1:$HUB_L_PORT|nats-leaf://127.0.0.1:$RELAY_PORT|" "$TMP/hubs/edge.conf"
hub_start central || { log "$HUB_ERR"; exit 2; }
spawn "$TMP/relay.log" socat "TCP-LISTEN:$RELAY_PORT,bind=127.0.0.1,fork,reuseaddr" "TCP:127.0.0.1:$HUB_L_PORT"
RELAY_PID=$SPAWNED_PID
hub_start edge && hubs_wait_leaf 10 || { log "$HUB_ERR"; exit 2; }

declare -a AGENT_HEALTH=() SIDECAR_PID=()
start_sidecar() {  # INDEX
  spawn "$TMP/sidecar$1.log" "$BIN/twinhub-sidecar" --config "$TMP/sidecar$1.yaml" --log-level warn
  SIDECAR_PID[$1]=$SPAWNED_PID
}
for ((i = 0; i < SIDECARS; i++)); do
  spawn "$TMP/agent$i.log" "$BIN/twinhub-agent-sim" --name "Agent$i" --port 0
  for _ in $(seq 100); do grep -q "serving on" "$TMP/agent$i.log" && break; sleep 0.05; done
  read -r addr health < <(sed -n 's/.*serving on \(\S*\) health \(\S*\).*/\1 \2/p' "$TMP/agent$i.log")
  [[ -n ${health:-} ]] || { log "agent $i did not start"; exit 2; }
  AGENT_HEALTH[$i]=$health
  cat >"$TMP/sidecar$i.yaml" <<EOF
sidecar: {machine: pc2, id: pc2.Agent$i}
mode: hub
hubs: [{name: edge, url: $HUB_E_URL}, {name: central, url: $HUB_C_URL}]
serve: {service: Agent$i, address: $addr, probe: {type: zmq, address: $health, interval_ms: 250, timeout_ms: 200, rise: 1, fall: 2}}
EOF
  start_sidecar "$i"
done
spawn "$TMP/agg.out" "$BIN/twinhubctl" --hub "edge=$HUB_E_URL" --hub "central=$HUB_C_URL" health watch \
  --observer bench --metrics 127.0.0.1:0
AGG_PID=$SPAWNED_PID
for _ in $(seq 100); do grep -q "metrics on" "$TMP/agg.out" && break; sleep 0.05; done
AGG_METRICS=$(sed -n 's|.*metrics on http://\(\S*\)/metrics.*|\1|p' "$TMP/agg.out")
[[ -n $AGG_METRICS ]] || { log "aggregator did not start"; tail_log "$TMP/agg.out"; exit 2; }

scrape() { metrics_get "$AGG_METRICS" "$TMP/m.txt"; }
gauge() { scrape; metric "$TMP/m.txt" "$1"; }
wait_gauge() {  # NAME_WITH_LABELS VALUE SECONDS
  local deadline=$((SECONDS + $3))
  until [[ $(gauge "$1") == "$2" ]]; do ((SECONDS < deadline)) || return 1; sleep 0.1; done
}
wait_gauge 'twinhub_health_sidecars{state="healthy"}' "$SIDECARS" 30 || { log "not every sidecar heard"; exit 2; }
log "$SIDECARS sidecars heard through both hubs"

# ---- sync latency --------------------------------------------------------------------------------
scrape && cp "$TMP/m.txt" "$TMP/sync0.txt"
sleep "$SYNC_SECONDS"
scrape
SYNC_N=$(awk '$1 ~ /^twinhub_health_sync_latency_seconds_count/ { s += $2 } END { print s }' "$TMP/m.txt")
SYNC_N0=$(awk '$1 ~ /^twinhub_health_sync_latency_seconds_count/ { s += $2 } END { print s }' "$TMP/sync0.txt")
SYNC_P50=$(histogram_quantile 0.5 twinhub_health_sync_latency_seconds "$TMP/sync0.txt" "$TMP/m.txt")
SYNC_P99=$(histogram_quantile 0.99 twinhub_health_sync_latency_seconds "$TMP/sync0.txt" "$TMP/m.txt")
log "sync latency over ${SYNC_SECONDS}s ($((SYNC_N - SYNC_N0)) beats): p50 <= $SYNC_P50 ms, p99 <= $SYNC_P99 ms"

# ---- detection trials ----------------------------------------------------------------------------
# wait_alert MARK KIND SUBJECT SECONDS: detected_at of the first alert of KIND about SUBJECT after
# line MARK of the aggregator's output; empty on timeout.
wait_alert() {
  local deadline=$((SECONDS + $4)) line
  while ((SECONDS < deadline)); do
    line=$(tail -n "+$(($1 + 1))" "$TMP/agg.out" | grep -m1 "^alert .*\"kind\":\"$2\".*\"subject\":\"$3\"")
    [[ -n $line ]] && { sed 's/.*"detected_at":\([0-9]*\).*/\1/' <<<"$line"; return 0; }
    sleep 0.02
  done
}
mark() { wc -l <"$TMP/agg.out"; }
# sim_set HEALTH_ADDR JSON: prints the wall clock (ms) at which the agent-sim acknowledged the
# change (the fault's start; Python's start-up time is not counted).
sim_set() { "$PY" -c 'import sys,time,zmq; s=zmq.Context().socket(zmq.REQ); s.setsockopt(zmq.LINGER,0); s.setsockopt(zmq.RCVTIMEO,2000); s.connect("tcp://"+sys.argv[1]); s.send_string(sys.argv[2]); s.recv(); print(int(time.time()*1000))' "$@"; }
relay_pids() { echo "$RELAY_PID" $(pgrep -P "$RELAY_PID" 2>/dev/null); }
declare -A DELAYS=() FAILED=()
record() {  # FAULT T0 DETECTED_AT
  if [[ -z $3 ]]; then FAILED[$1]=$((${FAILED[$1]:-0} + 1)); log "$1: NOT detected within 10 s"; return; fi
  DELAYS[$1]+="$(($3 - $2)) "
  log "$1: detected in $(($3 - $2)) ms"
}

trial() {  # FAULT N
  local m t0 at i=$(($2 % SIDECARS))
  m=$(mark)
  case $1 in
    agent)
      t0=$(sim_set "${AGENT_HEALTH[$i]}" '{"action":"sim_set","health_answer":false}')
      at=$(wait_alert "$m" agent_down "pc2.Agent$i" 10); record agent "$t0" "$at"
      sim_set "${AGENT_HEALTH[$i]}" '{"action":"sim_set","health_answer":true}' >/dev/null
      wait_alert "$m" agent_up "pc2.Agent$i" 10 >/dev/null ;;
    sidecar)
      t0=$(now_ms); kill -9 "${SIDECAR_PID[$i]}"
      at=$(wait_alert "$m" sidecar_lost "pc2.Agent$i" 10); record sidecar "$t0" "$at"
      wait "${SIDECAR_PID[$i]}" 2>/dev/null; forget "${SIDECAR_PID[$i]}"  # reaped quietly
      start_sidecar "$i"; wait_alert "$m" sidecar_back "pc2.Agent$i" 15 >/dev/null ;;
    kill)
      t0=$(now_ms); kill -9 "${HUB_PID[edge]}"
      at=$(wait_alert "$m" hub_down edge 10); record kill "$t0" "$at"
      wait "${HUB_PID[edge]}" 2>/dev/null; forget "${HUB_PID[edge]}"
      hub_start edge; wait_alert "$m" hub_up edge 15 >/dev/null; hubs_wait_leaf 10 ;;
    freeze)
      t0=$(now_ms); kill -STOP "${HUB_PID[central]}"
      at=$(wait_alert "$m" hub_frozen central 10); record freeze "$t0" "$at"
      kill -CONT "${HUB_PID[central]}"; wait_alert "$m" hub_up central 15 >/dev/null ;;
    leaf)
      wait_gauge twinhub_health_leaf_up 1 20 || log "leaf: not judged up before the trial"
      t0=$(now_ms); kill -STOP $(relay_pids)
      at=$(wait_alert "$m" leaf_down leaf 10); record leaf "$t0" "$at"
      kill -CONT $(relay_pids); wait_alert "$m" leaf_up leaf 20 >/dev/null ;;
  esac
  # Every sidecar back, and the hubs settled (the aggregator's grace after a hub returns is 3 s).
  wait_gauge 'twinhub_health_sidecars{state="healthy"}' "$SIDECARS" 20 || log "$1: fleet not healthy after the trial"
  [[ $1 == kill || $1 == freeze ]] && sleep 3.2
}

for fault in $FAULTS; do
  for ((n = 0; n < TRIALS; n++)); do trial "$fault" "$n"; done
done

# ---- report --------------------------------------------------------------------------------------
stats() { tr ' ' '\n' <<<"$1" | grep . | sort -n | awk '{ v[NR] = $1 } END { if (NR) printf "%d %d %d %d", NR, v[1], v[int((NR + 1) / 2)], v[NR] }'; }
declare -A TARGET=([agent]=1500 [sidecar]=2000 [kill]=1000 [freeze]=1500 [leaf]=2000)
echo
echo "| measure | n | min ms | median ms | max ms | target ms | missed |"
echo "| --- | --- | --- | --- | --- | --- | --- |"
echo "| sync latency (histogram bounds) | $((SYNC_N - SYNC_N0)) beats | | p50 <= $SYNC_P50 | p99 <= $SYNC_P99 | p99 < 50 | |"
status=0
json_rows=()
for fault in $FAULTS; do
  read -r n lo med hi <<<"$(stats "${DELAYS[$fault]:-}")"
  echo "| $fault | ${n:-0} | ${lo:-} | ${med:-} | ${hi:-} | ${TARGET[$fault]} | ${FAILED[$fault]:-0} |"
  ((${FAILED[$fault]:-0} == 0)) || status=1
  json_rows+=("{\"fault\":$(jstr "$fault"),\"delays_ms\":[$(tr ' ' ',' <<<"${DELAYS[$fault]:-}" | sed 's/,$//')],\"missed\":${FAILED[$fault]:-0},\"target_ms\":${TARGET[$fault]}}")
done
if [[ -n ${OUT:-} ]]; then
  printf '{"sidecars":%d,"sync":{"beats":%d,"p50_ms_le":"%s","p99_ms_le":"%s"},"detection":[%s]}\n' \
    "$SIDECARS" "$((SYNC_N - SYNC_N0))" "$SYNC_P50" "$SYNC_P99" "$(IFS=,; echo "${json_rows[*]}")" >"$OUT"
fi
alive "$AGG_PID" || { log "the aggregator died"; status=1; }
exit "$status"
