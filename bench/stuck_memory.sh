#!/usr/bin/env bash
# bench/stuck_memory.sh: what a stuck connection costs a proxy in memory, and whether the proxy
# gives it back once the clients leave (issue 7). For each proxy and each case, COUNT clients
# connect through the proxy to an agent and send, never reading, until nothing moves any more:
#
#   echo    the agent (bench_echo_server) answers everything; the clients never read the answers,
#           so both directions fill: answers queue toward the clients, then the echo server stops
#           reading and the requests queue toward it.
#   silent  the agent (bench_echo_server --silent) accepts and never reads: one direction fills.
#
# The proxy's VmRSS and RssAnon (/proc/PID/status) are taken before (idle), during (all stuck),
# AFTER_EARLY s after the clients have closed and again AFTER_LATE s after (twinhub gives idle
# buffers back after 5 s quiet); "per conn" is (during - before) / COUNT. Kernel socket buffers
# are not in a process's RSS: this is what the proxy holds in user space.
#
#   bench/stuck_memory.sh                                   twinhub (build/bin) and haproxy, both cases
#   COUNT=100 CASES="echo" bench/stuck_memory.sh
#   SIDECARS="before=/tmp/old-sidecar after=build/bin/twinhub-sidecar" bench/stuck_memory.sh
#   SIDECARS="wm64k=build/bin/twinhub-sidecar" PROXY_wm64k="{high_watermark: 65536, low_watermark: 16384}" bench/stuck_memory.sh
#   HUB_WINDOWS="2097152 262144" bench/stuck_memory.sh      also hub mode, one row per window_bytes
#
# Environment: BUILD_DIR (bench_client, bench_echo_server and twinhub-sidecar are built there if
# missing; SKIP_BUILD=1 to only use them), COUNT (100), MB_PER_CONN (64: the most a client sends),
# CASES ("echo silent"), SIDECARS (NAME=BINARY ..., default twinhub=$BUILD_DIR/bin/twinhub-sidecar),
# PROXY_<NAME> (YAML flow map for that sidecar's proxy section; NAME must be a shell identifier),
# HUB_WINDOWS (window_bytes values: rows hub-w<KiB>k, front sidecar -> nats-server edge -> serving
# sidecar -> agent as bench/hubs.sh lays them out, memory of both sidecars; needs nats-server;
# HUB_SIDECAR_BIN picks their binary),
# HAPROXY=0 to skip haproxy,
# AFTER_EARLY (1), AFTER_LATE (8), KEEP_TMP=1. Prints a markdown table; OUT=file.tsv also writes
# the figures as tab-separated values (kB).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/hubs.sh
source "$ROOT/bench/hubs.sh"
COUNT=${COUNT:-100}
MB_PER_CONN=${MB_PER_CONN:-64}
CASES=${CASES:-echo silent}
AFTER_EARLY=${AFTER_EARLY:-1}
AFTER_LATE=${AFTER_LATE:-8}
HAPROXY=${HAPROXY:-1}
HUB_SIDECAR_BIN=${HUB_SIDECAR_BIN:-$BUILD_DIR/bin/twinhub-sidecar}
OUT=${OUT:-}
bench_init stuck

ensure_built() {
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    bench_configure 1
    log "building bench_client, bench_echo_server, twinhub-sidecar in $BUILD_DIR"
    cmake --build "$BUILD_DIR" -j1 --target bench_client bench_echo_server twinhub-sidecar >"$TMP/build.log" 2>&1 ||
      { tail_log "$TMP/build.log" 20; log "build failed"; exit 1; }
  fi
  CLIENT=$BUILD_DIR/bin/bench_client ECHO_BIN=$BUILD_DIR/bin/bench_echo_server
  [[ -x $CLIENT && -x $ECHO_BIN ]] || { log "missing $CLIENT or $ECHO_BIN"; exit 1; }
}

# start_agent CASE: sets AGENT_ADDR and AGENT_PID.
start_agent() {
  local args=(--listen 127.0.0.1:0) i
  [[ $1 == silent ]] && args+=(--silent)
  spawn "$TMP/agent-$1.log" "$ECHO_BIN" "${args[@]}"
  AGENT_PID=$SPAWNED_PID AGENT_ADDR=""
  for ((i = 0; i < 100; i++)); do
    AGENT_ADDR=$(sed -n 's/^listening on //p' "$TMP/agent-$1.log")
    [[ -n $AGENT_ADDR ]] && return 0
    sleep 0.05
  done
  log "agent ($1) did not start"; exit 1
}

# start_hub_pair NAME UPSTREAM PORT: the two hub-mode sidecars of a session, window_bytes from
# HUB_WINDOW_OF[NAME]; sets PROXY_PID to both.
HUBS_UP=""
start_hub_pair() {
  local name=$1 upstream=$2 port=$3 fm sm serve i
  if [[ -z $HUBS_UP ]]; then
    hubs_start "$TMP/hubs" || { log "$HUB_ERR"; return 1; }
    HUBS_UP=1
  fi
  read -r fm sm <<<"$("$CLIENT" freeport 2 | tr '\n' ' ')"
  hub_serve_yaml "$TMP/$name-serve.yaml" "$upstream" "127.0.0.1:$sm" "{window_bytes: ${HUB_WINDOW_OF[$name]}}"
  hub_front_yaml "$TMP/$name-front.yaml" "127.0.0.1:$port" "127.0.0.1:$fm" "{window_bytes: ${HUB_WINDOW_OF[$name]}}"
  spawn "$TMP/$name-serve.log" "$HUB_SIDECAR_BIN" --config "$TMP/$name-serve.yaml" --log-level info
  serve=$SPAWNED_PID
  spawn "$TMP/$name.log" "$HUB_SIDECAR_BIN" --config "$TMP/$name-front.yaml" --log-level warn
  PROXY_PID="$SPAWNED_PID $serve"
  for ((i = 0; i < 200; i++)); do
    grep -q 'serving Echo through the hubs' "$TMP/$name-serve.log" && break
    sleep 0.05
  done
  sleep 1  # the queue group subscription reaches the front's hub
}

# start_proxy NAME UPSTREAM: sets PROXY_ADDR and PROXY_PID (returns 1 if it cannot start).
start_proxy() {
  local name=$1 upstream=$2 port mport bin yaml_var
  port=$("$CLIENT" freeport 1)
  if [[ $name == hub-* ]]; then
    start_hub_pair "$name" "$upstream" "$port" || return 1
  elif [[ $name == haproxy ]]; then
    bin=$(command -v haproxy || echo /usr/sbin/haproxy)
    [[ -x $bin ]] || { log "haproxy not installed (scripts/install-deps.sh --bench)"; return 1; }
    write_haproxy_cfg "$TMP/haproxy.cfg" "$port" "$upstream"
    spawn "$TMP/haproxy.log" "$bin" -db -f "$TMP/haproxy.cfg"
  else
    bin=${SIDECAR_OF[$name]}
    [[ -x $bin ]] || { log "$bin missing"; return 1; }
    mport=$("$CLIENT" freeport 1)
    yaml_var=PROXY_$name
    write_sidecar_yaml "$TMP/$name.yaml" "127.0.0.1:$port" "$upstream" "127.0.0.1:$mport" "${!yaml_var:-}"
    spawn "$TMP/$name.log" "$bin" --config "$TMP/$name.yaml" --log-level warn
  fi
  [[ $name == hub-* ]] || PROXY_PID=$SPAWNED_PID
  PROXY_ADDR=127.0.0.1:$port
  "$CLIENT" wait --connect "$PROXY_ADDR" --timeout-ms 10000 || { tail_log "$TMP/$name.log"; return 1; }
}

mem() { echo "$(sum_status_kb VmRSS "$@") $(sum_status_kb RssAnon "$@")"; }

# run_case NAME CASE: one proxy, one agent, COUNT stuck clients; appends a row to ROWS.
run_case() {
  local name=$1 kase=$2 out=$TMP/client-$1-$2.out client i before during early late sent
  start_agent "$kase"
  start_proxy "$name" "$AGENT_ADDR" || { ROWS+=("$name|$kase|skipped"); return 0; }
  sleep 0.3
  before=$(mem $PROXY_PID)
  spawn "$out" "$CLIENT" stuck --connect "$PROXY_ADDR" --count "$COUNT" --size 65536 --mb "$MB_PER_CONN" \
    --ignore-stdin --max-seconds 300
  client=$SPAWNED_PID
  for ((i = 0; i < 1200; i++)); do
    grep -q '^stuck' "$out" && break
    alive "$client" || break
    sleep 0.1
  done
  if ! grep -q '^stuck' "$out"; then
    log "$name/$kase: the clients did not get stuck: $(tail -n1 "$out")"
    ROWS+=("$name|$kase|failed")
  else
    sent=$(sed -n 's/^stuck .*sent_mb=\([0-9.]*\).*/\1/p' "$out")
    during=$(mem $PROXY_PID)
    kill -TERM "$client"; wait "$client" 2>/dev/null; forget "$client"
    sleep "$AFTER_EARLY"; early=$(mem $PROXY_PID)
    sleep "$((AFTER_LATE - AFTER_EARLY))"; late=$(mem $PROXY_PID)
    ROWS+=("$name|$kase|$before|$during|$early|$late|$sent|$(grep -o 'lost=[0-9]*' "$out")")
    log "$name/$kase: RSS/anon kB before $before, during $during, +${AFTER_EARLY}s $early, +${AFTER_LATE}s $late; clients sent $sent MiB"
  fi
  local pid
  for pid in $PROXY_PID $AGENT_PID; do kill -TERM "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; forget "$pid"; done
}

mib() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
per_conn() { awk -v a="$1" -v b="$2" -v n="$COUNT" 'BEGIN { printf "%.0f", (b - a) / n }'; }

print_table() {
  local row name kase before during early late sent lost rb ab rd ad re ae rl al
  echo
  echo "### stuck connections: $(date -u +%Y-%m-%dT%H:%M:%SZ), $COUNT clients x up to $MB_PER_CONN MiB, $(nproc) cores"
  echo
  echo "| proxy | case | RSS before MiB | RSS stuck MiB | RSS +${AFTER_EARLY}s MiB | RSS +${AFTER_LATE}s MiB | RSS per conn KiB | RssAnon per conn KiB | clients sent MiB | closed by proxy |"
  echo "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for row in "${ROWS[@]}"; do
    IFS='|' read -r name kase before during early late sent lost <<<"$row"
    if [[ -z $during ]]; then echo "| $name | $kase | $before | | | | | | | |"; continue; fi
    read -r rb ab <<<"$before"; read -r rd ad <<<"$during"; read -r re ae <<<"$early"; read -r rl al <<<"$late"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$name" "$kase" "$(mib "$rb")" "$(mib "$rd")" \
      "$(mib "$re")" "$(mib "$rl")" "$(per_conn "$rb" "$rd")" "$(per_conn "$ab" "$ad")" "$sent" "${lost#lost=}"
    [[ -z $OUT ]] || printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name" "$kase" "$rb" "$ab" "$rd" "$ad" "$re" "$ae" \
      "$rl" "$al" "$sent" >>"$OUT"
  done
}

main() {
  local spec name kase
  ensure_built
  ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
  declare -gA SIDECAR_OF=()
  NAMES=()
  for spec in ${SIDECARS:-twinhub=$BUILD_DIR/bin/twinhub-sidecar}; do
    SIDECAR_OF[${spec%%=*}]=${spec#*=}
    NAMES+=("${spec%%=*}")
  done
  declare -gA HUB_WINDOW_OF=()
  for spec in ${HUB_WINDOWS:-}; do
    HUB_WINDOW_OF[hub-w$((spec / 1024))k]=$spec
    NAMES+=("hub-w$((spec / 1024))k")
  done
  [[ $HAPROXY == 1 ]] && NAMES+=(haproxy)
  ROWS=()
  [[ -z $OUT ]] || printf 'proxy\tcase\trss_before\tanon_before\trss_stuck\tanon_stuck\trss_early\tanon_early\trss_late\tanon_late\tsent_mib\n' >"$OUT"
  for kase in $CASES; do
    for name in "${NAMES[@]}"; do run_case "$name" "$kase"; done
  done
  print_table
}

main "$@"
