#!/usr/bin/env bash
# bench/run.sh: twinhub's benchmark. One command runs every path side by side against one echo
# server and prints markdown tables: absolute figures, then ratios to haproxy.
#
#   bench/run.sh                      full run, ~3-5 minutes with the paths below
#   QUICK=1 bench/run.sh              smaller run, < 1 minute (smoke test, not for publishing)
#   OUT=results.json bench/run.sh     also write every figure (and each round) as JSON
#
# Paths (each a TCP echo round trip on 127.0.0.1, free ports picked at start):
#   direct   client -> bench_echo_server (the baseline; no proxy)
#   twinhub  client -> twinhub-sidecar --listen --direct --metrics, --log-level warn -> echo
#   haproxy  client -> haproxy 2.6, mode tcp, nbthread 1, maxconn 4000, foreground (-db) -> echo
#   nginx    client -> nginx stream, 1 worker, master on, daemon off -> echo
#            (worker_connections 4096: the default 512 cannot proxy 1,000 held connections)
#   twinhub-hub  client -> front sidecar (mode hub) -> NATS hub -> serving sidecar (mode hub) -> echo,
#            the answer back the same way: two twinhub-sidecar processes (--log-level warn, /metrics
#            on) and two nats-servers, central and edge (a leaf of central), as deploy/nats/*.conf
#            on free ports (bench/hubs.sh). Both sidecars list the hubs edge, central: every
#            session goes through edge (the "same hub" layout). Its memory columns are the sum of
#            the two sidecars; the nats-servers' memory is given in a note.
#   twinhub-hub-tls  the same on a second, separate hub pair with TLS, client certificates and
#            users (deploy/nats/*-secure.conf; certificates from scripts/gen-certs.sh, made once per
#            run) and two sidecars of its own with the matching tls/auth keys. Measured in the same
#            interleaved rounds as twinhub-hub, so the "TLS in hub mode" table compares the two
#            within one run: TLS/plain for p50, p99, MB/s and conn/s, per round too, against the
#            targets of issue 12 (p50 at most +15 %, bulk at most -30 %). Needs nats-server and
#            openssl; skipped cleanly without them. The sidecars' hub state losses (up -> suspect,
#            disconnected, from their warn-level logs) are counted per phase for both hub rows.
#   cnats-floor        bare cnats request/reply (bench/cnats_floor.cc), requester and
#            responder processes both on the edge hub, SendAsap on both: what a round trip through
#            a hub costs without twinhub. Measured in the same interleaved rounds as the paths.
#            Its MB/s is the bulk floor: one-way 16 KiB pub/sub (the sidecars' DATA frame size)
#            between two bare connections on edge (cnats_floor stream), while the paths' MB/s is
#            an echo, which crosses the hub twice.
#   cnats-floor-cross  the same with the requester on edge and the responder on central (leaf link).
#   The hub rows need nats-server (apt-get install nats-server) and are skipped cleanly without it.
#   HUB_TLS=1 puts the twinhub-hub row (the first pair) on TLS hubs as well (the cnats-floor rows
#   are then skipped: cnats_floor has no TLS options); without it twinhub-hub is the plain row.
# A path whose program is missing or fails to start is skipped with a note; the others still run.
#
# Measurements (bench_client, see bench/bench_client.cc):
#   p50/p99 µs  64-byte sequential round trips on one connection (RTT_COUNT, after a warm-up);
#               RTT_ROUNDS rounds interleaved across paths, medians reported.
#   MB/s        BULK_MB MiB sent and echoed concurrently on one connection, MB = 10^6 bytes;
#               BULK_ROUNDS rounds interleaved, median.
#   conn/s      connect, send 64 B, receive them, close, for CONN_SECONDS with CONN_CONCURRENCY in
#               flight; CONN_ROUNDS rounds interleaved, median.
#   RSS         VmRSS and RssAnon (/proc/PID/status, MB = MiB) of the proxy just after start
#               ("idle") and while HOLD_COUNT idle connections are open ("1k"; each did one round
#               trip first). nginx: RSS = master + worker, RssAnon = worker only.
#   Ratios      latency: added latency, (path - direct) / (haproxy - direct); all else path/haproxy.
#   Floor       twinhub-hub p50 (and p99) / cnats-floor p50 (p99): the target is <= 1.5; also
#               the p50 ratio of every round, and the bulk echo (twice through the hub) against
#               the one-way floor.
#
# Environment: BUILD_DIR (default <repo>/build; expects bin/twinhub-sidecar, bin/bench_echo_server,
#   bin/bench_client, bin/cnats_floor and builds what is missing or stale with cmake --build),
#   NATS_BIN (default: nats-server on PATH), SKIP_BUILD=1, JOBS (cmake --build -j, default 2), QUICK=1,
#   OUT=file.json, PATHS_ONLY="direct haproxy" (subset), KEEP_TMP=1 (keep configs and logs),
#   SIDECAR_BIN (another twinhub-sidecar binary, e.g. to compare two builds), WATERMARKS (e.g.
#   "1048576/262144 262144/65536": one more twinhub row per HIGH/LOW pair, named twinhub-wm<HIGH KiB>k,
#   with that proxy.high_watermark/low_watermark; PATHS_ONLY must then name them), HUB_OPTIONS (YAML
#   flow map given to every hub-mode sidecar, plain and TLS, as hub_options, e.g.
#   "{window_bytes: 1048576}"), and
#   RTT_COUNT RTT_ROUNDS BULK_MB BULK_ROUNDS CONN_SECONDS CONN_ROUNDS CONN_CONCURRENCY HOLD_COUNT.
# Packages for the peers: scripts/install-deps.sh --bench (haproxy, nginx, libnginx-mod-stream).
#
# Adding a path = one add_path call in main() plus a start_<name> function that launches the proxy
# in front of $ECHO_ADDR and sets P_ADDR, P_RSS_PIDS, P_ANON_PIDS (see start_haproxy).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/hubs.sh
source "$ROOT/bench/hubs.sh"
HUB_TLS_MAIN=$HUB_TLS  # HUB_TLS follows the current hub pair (hubs_pair); this is the main pair's
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then
  RTT_COUNT=${RTT_COUNT:-5000}; RTT_ROUNDS=${RTT_ROUNDS:-3}
  BULK_MB=${BULK_MB:-256}; BULK_ROUNDS=${BULK_ROUNDS:-1}
  CONN_SECONDS=${CONN_SECONDS:-2}; CONN_ROUNDS=${CONN_ROUNDS:-1}
else
  RTT_COUNT=${RTT_COUNT:-20000}; RTT_ROUNDS=${RTT_ROUNDS:-5}
  BULK_MB=${BULK_MB:-1024}; BULK_ROUNDS=${BULK_ROUNDS:-3}
  CONN_SECONDS=${CONN_SECONDS:-5}; CONN_ROUNDS=${CONN_ROUNDS:-3}
fi
CONN_CONCURRENCY=${CONN_CONCURRENCY:-1}
HOLD_COUNT=${HOLD_COUNT:-1000}
OUT=${OUT:-}
PATHS_ONLY=${PATHS_ONLY:-}

# ------------------------------------------------------------------------------ processes, cleanup
bench_init bench

free_port() { "$CLIENT" freeport 1; }
median() {
  printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
    awk '{ a[NR] = $1 } END { if (NR == 0) print ""; else if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# ------------------------------------------------------------------------------------------ build
ensure_built() {
  local bin=$BUILD_DIR/bin
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    bench_configure 1
    log "building bench tools in $BUILD_DIR"
    cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target bench_client bench_echo_server >"$TMP/build-bench.log" 2>&1 ||
      { tail -n 30 "$TMP/build-bench.log" >&2; log "building the bench tools failed"; exit 1; }
    log "building twinhub-sidecar"
    cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target twinhub-sidecar >"$TMP/build-sidecar.log" 2>&1 ||
      note "twinhub-sidecar did not build (see below); its row uses the existing binary if any"$'\n'"$(grep -m3 -E 'error|Error' "$TMP/build-sidecar.log")"
    if [[ -x $NATS_BIN ]]; then
      cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target cnats_floor >"$TMP/build-floor.log" 2>&1 ||
        note "cnats_floor did not build; the cnats-floor rows use the existing binary if any"$'\n'"$(grep -m3 -E 'error|Error' "$TMP/build-floor.log")"
    fi
  fi
  CLIENT=$bin/bench_client ECHO_BIN=$bin/bench_echo_server SIDECAR_BIN=${SIDECAR_BIN:-$bin/twinhub-sidecar}
  FLOOR_BIN=$bin/cnats_floor
  [[ -x $CLIENT && -x $ECHO_BIN ]] || { log "missing $CLIENT or $ECHO_BIN"; exit 1; }
  local cache=$BUILD_DIR/CMakeCache.txt
  if [[ -f $cache ]]; then
    grep -q '^TWINHUB_SANITIZE:BOOL=ON' "$cache" && note "$BUILD_DIR is a sanitizer build: figures are not representative"
    grep -q '^CMAKE_BUILD_TYPE:STRING=Debug' "$cache" && note "$BUILD_DIR is a Debug build: figures are not representative"
  fi
}

# ------------------------------------------------------------------------------------ echo server
start_echo() {
  spawn "$TMP/echo.log" "$ECHO_BIN" --listen 127.0.0.1:0
  ECHO_PID=$SPAWNED_PID
  local i
  for ((i = 0; i < 100; i++)); do
    ECHO_ADDR=$(sed -n 's/^listening on //p' "$TMP/echo.log")
    [[ -n $ECHO_ADDR ]] && break
    sleep 0.05
  done
  [[ -n $ECHO_ADDR ]] || { tail_log "$TMP/echo.log"; log "echo server did not start"; exit 1; }
  log "echo server $ECHO_ADDR (pid $ECHO_PID)"
}

# ------------------------------------------------------------------------------------------ paths
# A start function gets the path name and a work dir, launches the proxy in front of $ECHO_ADDR and
# sets P_ADDR (where clients connect), P_RSS_PIDS (processes whose VmRSS is summed), P_ANON_PIDS
# (processes whose RssAnon is summed), optionally P_VERSION. It returns 1 with P_SKIP set to skip,
# else 0 explicitly (a last `P_VERSION=$(prog -v | head -n1)` can fail with SIGPIPE under pipefail).
start_direct() {
  P_ADDR=$ECHO_ADDR P_RSS_PIDS="" P_ANON_PIDS="" P_VERSION="bench_echo_server"
}

start_twinhub() {
  local dir=$2 port mport
  [[ -x $SIDECAR_BIN ]] || { P_SKIP="$SIDECAR_BIN not built"; return 1; }
  port=$(free_port) mport=$(free_port)
  spawn "$dir/sidecar.log" "$SIDECAR_BIN" --listen "127.0.0.1:$port" --direct "$ECHO_ADDR" \
    --metrics "127.0.0.1:$mport" --log-level warn
  P_ADDR=127.0.0.1:$port P_RSS_PIDS=$SPAWNED_PID P_ANON_PIDS=$SPAWNED_PID
  P_METRICS=127.0.0.1:$mport
  P_VERSION=$("$SIDECAR_BIN" --version 2>&1 | head -n1)
  return 0
}

# twinhub-wmNk (one per WATERMARKS entry HIGH/LOW): twinhub direct mode from a config file whose
# proxy section sets those watermarks; the bulk trade-off of the memory a stuck connection may hold.
declare -A WM_OF=()
start_twinhub_wm() {
  local name=$1 dir=$2 port mport hw lw
  [[ -x $SIDECAR_BIN ]] || { P_SKIP="$SIDECAR_BIN not built"; return 1; }
  IFS=/ read -r hw lw <<<"${WM_OF[$name]}"
  port=$(free_port) mport=$(free_port)
  write_sidecar_yaml "$dir/sidecar.yaml" "127.0.0.1:$port" "$ECHO_ADDR" "127.0.0.1:$mport" \
    "{high_watermark: $hw, low_watermark: $lw}"
  spawn "$dir/sidecar.log" "$SIDECAR_BIN" --config "$dir/sidecar.yaml" --log-level warn
  P_ADDR=127.0.0.1:$port P_RSS_PIDS=$SPAWNED_PID P_ANON_PIDS=$SPAWNED_PID
  P_METRICS=127.0.0.1:$mport
  P_VERSION="$("$SIDECAR_BIN" --version 2>&1 | head -n1), watermarks $hw/$lw"
  return 0
}

start_haproxy() {
  local dir=$2 port bin
  bin=$(command -v haproxy || echo /usr/sbin/haproxy)
  [[ -x $bin ]] || { P_SKIP="haproxy not installed (scripts/install-deps.sh --bench)"; return 1; }
  port=$(free_port)
  write_haproxy_cfg "$dir/haproxy.cfg" "$port" "$ECHO_ADDR"
  spawn "$dir/haproxy.log" "$bin" -db -f "$dir/haproxy.cfg"
  P_ADDR=127.0.0.1:$port P_RSS_PIDS=$SPAWNED_PID P_ANON_PIDS=$SPAWNED_PID
  P_VERSION=$("$bin" -v 2>&1 | head -n1)
  return 0
}

start_nginx() {
  local dir=$2 port bin module=/usr/lib/nginx/modules/ngx_stream_module.so master worker="" i
  bin=$(command -v nginx || echo /usr/sbin/nginx)
  [[ -x $bin ]] || { P_SKIP="nginx not installed (scripts/install-deps.sh --bench)"; return 1; }
  [[ -f $module ]] || { P_SKIP="$module missing (libnginx-mod-stream)"; return 1; }
  port=$(free_port)
  mkdir -p "$dir/logs"
  cat >"$dir/nginx.conf" <<EOF
load_module $module;
daemon off;
master_process on;
worker_processes 1;
worker_rlimit_nofile 8192;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
events { worker_connections 4096; }
stream {
    server {
        listen 127.0.0.1:$port;
        proxy_pass $ECHO_ADDR;
        proxy_timeout 1h;
    }
}
EOF
  spawn "$dir/nginx.log" "$bin" -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log"
  master=$SPAWNED_PID
  for ((i = 0; i < 100; i++)); do
    worker=$(cat "/proc/$master/task/$master/children" 2>/dev/null | awk '{ print $1 }')
    [[ -n $worker ]] && break
    alive "$master" || break
    sleep 0.05
  done
  [[ -n $worker ]] || { P_SKIP="nginx worker did not start"; tail_log "$dir/logs/error.log"; return 1; }
  P_ADDR=127.0.0.1:$port P_RSS_PIDS="$master $worker" P_ANON_PIDS=$worker
  P_VERSION=$("$bin" -v 2>&1 | head -n1)
  return 0
}

# Hub pairs (bench/hubs.sh), each started once when a row first needs it: "main" for twinhub-hub
# and the cnats-floor rows (TLS only with HUB_TLS=1), "tls" for twinhub-hub-tls (always TLS with
# client certificates and users, certificates from scripts/gen-certs.sh). Each pair is two
# nats-servers of its own, on ports of its own; nothing is shared between the pairs.
# ensure_hubs PAIR TLS: makes PAIR the current pair and starts it if needed (P_SKIP on failure).
declare -A HUBS_OK=() HUBS_ERR=() HUBS_PIDS=()
ensure_hubs() {
  local pair=$1 tls=$2
  hubs_pair "$pair" "$tls"
  if [[ -z ${HUBS_OK[$pair]:-} ]]; then
    HUBS_OK[$pair]=0
    if [[ $HUB_TLS == 1 ]] && ! command -v openssl >/dev/null; then
      HUBS_ERR[$pair]="openssl not installed (scripts/gen-certs.sh needs it)"
    elif hubs_start "$TMP/hubs-$pair"; then
      HUBS_OK[$pair]=1
      HUBS_VERSION=$(hubs_version)
      HUBS_PIDS[$pair]="${HUB_PID[central]} ${HUB_PID[edge]}"
      log "hubs $pair$([[ $HUB_TLS == 1 ]] && echo ' (TLS)'): central $HUB_C_URL (pid ${HUB_PID[central]}), edge $HUB_E_URL (pid ${HUB_PID[edge]}, leaf of central)"
    else
      HUBS_ERR[$pair]=$HUB_ERR
      local f; for f in "$TMP/hubs-$pair"/*.log; do [[ -f $f ]] && tail_log "$f"; done
    fi
  fi
  ((HUBS_OK[$pair])) || { P_SKIP=${HUBS_ERR[$pair]}; return 1; }
}

# twinhub-hub on pair main, twinhub-hub-tls on pair tls: the same two sidecars, each row its own.
start_twinhub_hub() {
  local name=$1 dir=$2 port fm sm pair=main tls=$HUB_TLS_MAIN
  [[ $name == twinhub-hub-tls ]] && pair=tls tls=1
  [[ -x $SIDECAR_BIN ]] || { P_SKIP="$SIDECAR_BIN not built"; return 1; }
  ensure_hubs "$pair" "$tls" || return 1
  [[ -n ${HUB_OPTIONS:-} ]] && note "$name: both sidecars run with hub_options $HUB_OPTIONS"
  read -r port fm sm <<<"$("$CLIENT" freeport 3 | tr '\n' ' ')"
  hub_serve_yaml "$dir/serve.yaml" "$ECHO_ADDR" "127.0.0.1:$sm" "${HUB_OPTIONS:-}"
  hub_front_yaml "$dir/front.yaml" "127.0.0.1:$port" "127.0.0.1:$fm" "${HUB_OPTIONS:-}"
  spawn "$dir/serve.log" "$SIDECAR_BIN" --config "$dir/serve.yaml" --log-level warn
  local serve=$SPAWNED_PID
  spawn "$dir/front.log" "$SIDECAR_BIN" --config "$dir/front.yaml" --log-level warn
  local front=$SPAWNED_PID
  # The front accepts at once; wait until a session gets through to the echo server.
  if ! hub_wait_roundtrip "127.0.0.1:$port" 15 || ! alive "$front" "$serve"; then
    P_SKIP="no round trip through the hubs within 15 s"
    tail_log "$dir/serve.log"; tail_log "$dir/front.log"
    return 1
  fi
  P_ADDR=127.0.0.1:$port P_RSS_PIDS="$front $serve" P_ANON_PIDS="$front $serve"
  P_METRICS=127.0.0.1:$fm P_METRICS_SERVE=127.0.0.1:$sm
  P_EXTRA_PIDS=${HUBS_PIDS[$pair]}
  P_VERSION="$("$SIDECAR_BIN" --version 2>&1 | head -n1) x2, $HUBS_VERSION x2$([[ $HUB_TLS == 1 ]] && echo ', TLS with client certificates and users')"
  return 0
}

PATHS=()
declare -A R=()  # R[name:key] = value

# add_floor NAME DESCRIPTION VARIANT: a latency-only row, bare cnats request/reply through the hubs
# (VARIANT same: both on edge; cross: requester on edge, responder on central). Measured in the rtt
# rounds; no proxy process, so no other figures.
add_floor() {
  local name=$1 desc=$2 variant=$3
  if [[ -n $PATHS_ONLY && " $PATHS_ONLY " != *" $name "* ]]; then return 0; fi
  mkdir -p "$TMP/$name"
  PATHS+=("$name")
  R[$name:desc]=$desc R[$name:floor]=$variant R[$name:rss_pids]="" R[$name:anon_pids]=""
  log "starting $name: $desc"
  if [[ ! -x $FLOOR_BIN ]]; then
    R[$name:skip]="$FLOOR_BIN not built (needs libnats-dev)"
  elif ! ensure_hubs main "$HUB_TLS_MAIN"; then
    R[$name:skip]=$P_SKIP
  elif [[ $HUB_TLS == 1 ]]; then
    R[$name:skip]="HUB_TLS=1: cnats_floor has no TLS options"
  else
    R[$name:hub_pids]=${HUBS_PIDS[main]}
    R[$name:req_url]=$HUB_E_URL
    [[ $variant == cross ]] && R[$name:resp_url]=$HUB_C_URL || R[$name:resp_url]=$HUB_E_URL
    R[$name:version]="cnats $(pkg-config --modversion libnats 2>/dev/null || echo '?'), $HUBS_VERSION"
    return 0
  fi
  note "$name skipped: ${R[$name:skip]}"
}
floor_rows() { local n; for n in "${PATHS[@]}"; do [[ -n ${R[$n:floor]:-} && -z ${R[$n:skip]:-} ]] && echo "$n"; done; }

# add_path NAME DESCRIPTION START_FUNCTION: start the path now, wait until it accepts, record its
# idle memory. Every later phase runs on every path that started.
add_path() {
  local name=$1 desc=$2 fn=$3 dir=$TMP/$1
  if [[ -n $PATHS_ONLY && " $PATHS_ONLY " != *" $name "* ]]; then return 0; fi
  mkdir -p "$dir"
  PATHS+=("$name")
  R[$name:desc]=$desc
  P_ADDR="" P_RSS_PIDS="" P_ANON_PIDS="" P_SKIP="" P_VERSION="" P_METRICS="" P_METRICS_SERVE="" P_EXTRA_PIDS=""
  log "starting $name: $desc"
  if ! "$fn" "$name" "$dir"; then
    R[$name:skip]=${P_SKIP:-start failed}
    note "$name skipped: ${R[$name:skip]}"
    return 0
  fi
  if ! "$CLIENT" wait --connect "$P_ADDR" --timeout-ms 10000 2>"$dir/wait.err" || ! alive $P_RSS_PIDS; then
    R[$name:skip]="did not accept connections on $P_ADDR within 10 s"
    note "$name skipped: ${R[$name:skip]}"
    local f; for f in "$dir"/*.log "$dir"/logs/*.log; do [[ -f $f ]] && tail_log "$f"; done
    return 0
  fi
  R[$name:addr]=$P_ADDR R[$name:rss_pids]=$P_RSS_PIDS R[$name:anon_pids]=$P_ANON_PIDS
  R[$name:version]=$P_VERSION R[$name:metrics]=$P_METRICS R[$name:extra_pids]=$P_EXTRA_PIDS
  R[$name:metrics_serve]=$P_METRICS_SERVE
  sleep 0.3
  measure_mem "$name" idle
  log "$name ready on $P_ADDR${P_RSS_PIDS:+ (pids $P_RSS_PIDS)}"
}

active_paths() { local n; for n in "${PATHS[@]}"; do [[ -z ${R[$n:skip]:-} && -z ${R[$n:floor]:-} ]] && echo "$n"; done; }

# check_alive NAME: false (and the path is marked failed) once its proxy has died.
check_alive() {
  local name=$1
  [[ -z ${R[$name:skip]:-} ]] || return 1
  if [[ -n ${R[$name:rss_pids]} ]] && ! alive ${R[$name:rss_pids]}; then
    R[$name:skip]="proxy process exited during the run"
    note "$name: proxy process exited during the run; its remaining figures are missing"
    local f; for f in "$TMP/$name"/*.log "$TMP/$name"/logs/*.log; do [[ -f $f ]] && tail_log "$f"; done
    return 1
  fi
}

# ------------------------------------------------------------------------------------ measurements
measure_mem() {  # measure_mem NAME LABEL
  local name=$1 label=$2
  [[ -n ${R[$name:rss_pids]} ]] || return 0
  R[$name:rss_$label]=$(sum_status_kb VmRSS ${R[$name:rss_pids]})
  R[$name:anon_$label]=$(sum_status_kb RssAnon ${R[$name:anon_pids]})
  # Processes a path needs but does not own (twinhub-hub: the nats-servers): reported in a note.
  [[ -z ${R[$name:extra_pids]:-} ]] || R[$name:xrss_$label]=$(sum_status_kb VmRSS ${R[$name:extra_pids]})
}

run_client() {  # run_client NAME TIMEOUT ARGS... -> result line on stdout; errors in client.err
  local name=$1 limit=$2; shift 2
  timeout "$limit" "$CLIENT" "$@" --connect "${R[$name:addr]}" 2>>"$TMP/$name/client.err"
}
client_failed() {  # client_failed NAME PHASE EXIT_STATUS
  note "$1: $2 failed (exit $3): $(tail -n1 "$TMP/$1/client.err" 2>/dev/null)"
}

measure_rtt() {
  local name=$1 line
  check_alive "$name" || return 0
  line=$(run_client "$name" 120 rtt --count "$RTT_COUNT" --warmup $((RTT_COUNT / 10 + 100)) --size 64) ||
    { client_failed "$name" rtt $?; return 0; }
  R[$name:p50_rounds]+="$(kv "$line" p50_us) " R[$name:p99_rounds]+="$(kv "$line" p99_us) "
}

measure_floor() {
  local name=$1 line
  if ! alive ${R[$name:hub_pids]}; then
    note "$name: a nats-server exited during the run; its remaining rounds are missing"
    R[$name:skip]="a nats-server exited during the run"
    return 0
  fi
  line=$(timeout 120 "$FLOOR_BIN" pair --requester-url "${R[$name:req_url]}" --responder-url "${R[$name:resp_url]}" \
    --count "$RTT_COUNT" --warmup $((RTT_COUNT / 10 + 100)) --size 64 --max-seconds 110 2>>"$TMP/$name/client.err") ||
    { client_failed "$name" rtt $?; return 0; }
  R[$name:p50_rounds]+="$(kv "$line" p50_us) " R[$name:p99_rounds]+="$(kv "$line" p99_us) "
}

# The bulk floor: one-way pub/sub of 16 KiB messages (the sidecars' frame size, see
# wire::kDataFramePayload) between two bare cnats connections on the edge hub (hub mode's bulk row
# is an echo: each byte crosses the hub twice, once each way).
measure_floor_bulk() {
  local name=$1 line
  [[ ${R[$name:floor]} == same && -z ${R[$name:skip]:-} ]] || return 0
  alive ${R[$name:hub_pids]} || return 0
  line=$(timeout 180 "$FLOOR_BIN" stream --url "${R[$name:req_url]}" --mb "$BULK_MB" --size 16384 --max-seconds 170 \
    2>>"$TMP/$name/client.err") || { client_failed "$name" bulk $?; return 0; }
  R[$name:mbps_rounds]+="$(kv "$line" mb_per_s) "
}

measure_bulk() {
  local name=$1 line
  check_alive "$name" || return 0
  line=$(run_client "$name" 180 bulk --mb "$BULK_MB") || { client_failed "$name" bulk $?; return 0; }
  R[$name:mbps_rounds]+="$(kv "$line" mb_per_s) "
}

measure_connrate() {
  local name=$1 line errors
  check_alive "$name" || return 0
  line=$(run_client "$name" $((${CONN_SECONDS%.*} + 30)) connrate --seconds "$CONN_SECONDS" \
    --concurrency "$CONN_CONCURRENCY" --size 64) || { client_failed "$name" connrate $?; return 0; }
  R[$name:cps_rounds]+="$(kv "$line" conn_per_s) "
  errors=$(kv "$line" errors)
  R[$name:conn_errors]=$((${R[$name:conn_errors]:-0} + errors))
  ((errors == 0)) || note "$name: connrate had $errors failed connections ($(grep 'connrate error' "$TMP/$name/client.err" | tail -n2 | tr '\n' ' '))"
}

measure_hold() {
  local name=$1 pid i out=$TMP/$1/hold.out
  check_alive "$name" || return 0
  [[ -n ${R[$name:rss_pids]} ]] || return 0  # nothing to measure without a proxy process
  spawn "$out" timeout 120 "$CLIENT" hold --connect "${R[$name:addr]}" --count "$HOLD_COUNT" --ignore-stdin --max-seconds 110
  pid=$SPAWNED_PID
  for ((i = 0; i < 600; i++)); do
    grep -q '^holding' "$out" && break
    alive "$pid" || break
    sleep 0.05
  done
  if grep -q '^holding' "$out"; then
    sleep 0.5
    measure_mem "$name" hold
  else
    note "$name: could not open $HOLD_COUNT connections: $(tail -n1 "$out")"
  fi
  kill -TERM "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  local lost; lost=$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' "$out")
  [[ -z $lost || $lost == 0 ]] || note "$name: $lost of $HOLD_COUNT held connections were closed by the proxy"
  sleep 0.3
}

# Hub trouble seen by the hub-mode sidecars (log level warn logs every hub state change and every
# lost hub connection): counted per phase, so a row whose hubs went suspect under load says so.
HUB_EVENT_RE='hub [a-z]+: (up -> suspect|up -> down|suspect -> down|disconnected)'
hub_rows() { local n; for n in "${PATHS[@]}"; do [[ -n ${R[$n:metrics_serve]:-} ]] && echo "$n"; done; }
hub_events_count() {  # hub_events_count NAME SIDE(front|serve)
  grep -cE "$HUB_EVENT_RE" "$TMP/$1/$2.log" 2>/dev/null || true
}
HUB_PHASES=()
hub_events_mark() {  # hub_events_mark PHASE: the counts as PHASE starts (and the previous one ends)
  local n side
  HUB_PHASES+=("$1")
  for n in $(hub_rows); do
    for side in front serve; do R[$n:ev_$side:$1]=$(hub_events_count "$n" "$side"); done
  done
}
hub_events_note() {
  local n side i p next c detail total
  for n in $(hub_rows); do
    detail="" total=0
    for side in front serve; do
      for ((i = 0; i + 1 < ${#HUB_PHASES[@]}; i++)); do
        p=${HUB_PHASES[i]} next=${HUB_PHASES[i + 1]}
        c=$((${R[$n:ev_$side:$next]:-0} - ${R[$n:ev_$side:$p]:-0}))
        ((c > 0)) || continue
        total=$((total + c))
        detail+="${detail:+; }$([[ $side == front ]] && echo front || echo serving) $c in $p"
      done
    done
    R[$n:hub_events]=$total
    R[$n:failovers_front]=$(metric_sum "$TMP/$n/metrics.txt" twinhub_hub_failovers_total | awk '{ printf "%d", $1 }')
    R[$n:failovers_serve]=$(metric_sum "$TMP/$n/metrics-serve.txt" twinhub_hub_failovers_total | awk '{ printf "%d", $1 }')
    ((total == 0)) && continue
    note "$n: the sidecars logged $total hub state losses (up -> suspect/down, disconnected): $detail; failovers (twinhub_hub_failovers_total) front ${R[$n:failovers_front]}, serving ${R[$n:failovers_serve]}; first lines: $(grep -hE "$HUB_EVENT_RE" "$TMP/$n/front.log" "$TMP/$n/serve.log" | head -n 3 | tr '\n' ' ')"
  done
}

# -------------------------------------------------------------------------------------- reporting
mb() { [[ -n ${1:-} ]] && awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }' || printf -- '-'; }
ratio() {  # ratio VALUE BASE -> VALUE/BASE with 2 decimals, "-" if unknown
  [[ -n ${1:-} && -n ${2:-} ]] || { printf -- '-'; return; }
  awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 == 0) printf "-"; else printf "%.2f", a / b }'
}
added_ratio() {  # added_ratio PATH_US DIRECT_US HAPROXY_US
  [[ -n ${1:-} && -n ${2:-} && -n ${3:-} ]] || { printf -- '-'; return; }
  awk -v p="$1" -v d="$2" -v h="$3" 'BEGIN { if (h - d <= 0) printf "-"; else printf "%.2f", (p - d) / (h - d) }'
}
val() { local v=${R[$1]:-}; printf '%s' "${v:--}"; }

summarize() {
  local n
  for n in "${PATHS[@]}"; do
    R[$n:p50]=$(median ${R[$n:p50_rounds]:-}) R[$n:p99]=$(median ${R[$n:p99_rounds]:-})
    R[$n:mbps]=$(median ${R[$n:mbps_rounds]:-}) R[$n:cps]=$(median ${R[$n:cps_rounds]:-})
  done
}

print_tables() {
  local n h=haproxy d=direct k
  k=$([[ $HOLD_COUNT == 1000 ]] && echo 1k || echo "${HOLD_COUNT}c")
  echo
  echo "### twinhub bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load at start $LOAD_START$([[ $QUICK == 1 ]] && echo ', QUICK')"
  echo
  echo "RTT ${RTT_COUNT} x 64 B x ${RTT_ROUNDS} rounds (median), bulk ${BULK_MB} MiB x ${BULK_ROUNDS}, conn/s ${CONN_SECONDS} s x ${CONN_ROUNDS} (concurrency ${CONN_CONCURRENCY}), ${HOLD_COUNT} held connections; MB/s in 10^6 B, memory in MiB."
  echo
  echo "| path | p50 µs | p99 µs | MB/s | conn/s | RSS idle MB | RssAnon idle MB | RSS $k MB | RssAnon $k MB |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for n in "${PATHS[@]}"; do
    if [[ -n ${R[$n:skip]:-} && -z ${R[$n:p50]:-} ]]; then
      echo "| $n | skipped: ${R[$n:skip]} | | | | | | | |"
      continue
    fi
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n${R[$n:skip]:+ (incomplete, see notes)}" "$(val "$n:p50")" "$(val "$n:p99")" \
      "$(val "$n:mbps")" "$(val "$n:cps")" "$(mb "${R[$n:rss_idle]:-}")" "$(mb "${R[$n:anon_idle]:-}")" \
      "$(mb "${R[$n:rss_hold]:-}")" "$(mb "${R[$n:anon_hold]:-}")"
  done
  echo
  if [[ -z ${R[$h:p50]:-} ]]; then
    echo "(no ratio table: haproxy did not run)"
  else
    echo "Ratios to haproxy (latency: added latency over direct, (path - direct) / (haproxy - direct); lower is better for latency and memory, higher for MB/s and conn/s)"
    echo
    echo "| path | added p50 | added p99 | MB/s | conn/s | RSS idle | RssAnon idle | RSS $k | RssAnon $k |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
    for n in "${PATHS[@]}"; do
      [[ -n ${R[$n:p50]:-} || -n ${R[$n:mbps]:-} ]] || continue
      printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$n" \
        "$(added_ratio "${R[$n:p50]:-}" "${R[$d:p50]:-}" "${R[$h:p50]:-}")" \
        "$(added_ratio "${R[$n:p99]:-}" "${R[$d:p99]:-}" "${R[$h:p99]:-}")" \
        "$(ratio "${R[$n:mbps]:-}" "${R[$h:mbps]:-}")" "$(ratio "${R[$n:cps]:-}" "${R[$h:cps]:-}")" \
        "$(ratio "${R[$n:rss_idle]:-}" "${R[$h:rss_idle]:-}")" "$(ratio "${R[$n:anon_idle]:-}" "${R[$h:anon_idle]:-}")" \
        "$(ratio "${R[$n:rss_hold]:-}" "${R[$h:rss_hold]:-}")" "$(ratio "${R[$n:anon_hold]:-}" "${R[$h:anon_hold]:-}")"
    done
  fi
  local hh=twinhub-hub f=cnats-floor fx=cnats-floor-cross
  if [[ -n ${R[$hh:p50]:-} && ( -n ${R[$f:p50]:-} || -n ${R[$fx:p50]:-} ) ]]; then
    echo
    echo "Hub mode against its floor (bare cnats request/reply through the same hubs; target: twinhub-hub p50 <= 1.5 x cnats-floor p50)"
    echo
    echo "| twinhub-hub / floor | p50 | p99 | p50 target <= 1.5 |"
    echo "| --- | ---: | ---: | --- |"
    local x r50
    for x in $f $fx; do
      [[ -n ${R[$x:p50]:-} ]] || continue
      r50=$(ratio "${R[$hh:p50]}" "${R[$x:p50]}")
      printf '| / %s (%s / %s µs) | %s | %s | %s |\n' "$x" "${R[$hh:p50]}" "${R[$x:p50]}" "$r50" \
        "$(ratio "${R[$hh:p99]:-}" "${R[$x:p99]:-}")" \
        "$([[ $x != "$f" ]] && echo "(reference)" || awk -v r="$r50" 'BEGIN { print (r + 0 <= 1.5 ? "met" : "not met") }')"
    done
    if [[ -n ${R[$f:p50_rounds]:-} ]]; then
      # Each round measures both back to back: the spread shows how much of a ratio is noise.
      echo
      echo "p50 ratio per round (twinhub-hub / cnats-floor): $(paste -d' ' <(tr ' ' '\n' <<<"${R[$hh:p50_rounds]}") \
        <(tr ' ' '\n' <<<"${R[$f:p50_rounds]}") | awk 'NF == 2 && $2 > 0 { printf "%s%.2f", sep, $1 / $2; sep = " " }')"
    fi
    if [[ -n ${R[$hh:mbps]:-} && -n ${R[$f:mbps]:-} ]]; then
      echo "Bulk: the twinhub-hub echo (${R[$hh:mbps]} MB/s) crosses the hub twice: $(awk -v a="${R[$hh:mbps]}" \
        'BEGIN { printf "%.1f", 2 * a }') MB/s through edge, $(ratio "$(awk -v a="${R[$hh:mbps]}" 'BEGIN { print 2 * a }')" \
        "${R[$f:mbps]}") of the one-way floor (${R[$f:mbps]} MB/s)."
    fi
  fi
  print_tls_table
  if ((${#NOTES[@]})); then
    echo
    echo "Notes:"
    local x; for x in "${NOTES[@]}"; do echo "- ${x//$'\n'/ }"; done
  fi
  echo
  echo "Versions: $(for n in "${PATHS[@]}"; do [[ -n ${R[$n:version]:-} ]] && printf '%s: %s; ' "$n" "${R[$n:version]}"; done)"
}

# The cost of TLS in hub mode (issue 12): twinhub-hub-tls against twinhub-hub, measured in the
# same interleaved rounds. Targets: p50 at most 15 % more (TLS/plain <= 1.15), bulk at most 30 %
# less (TLS/plain >= 0.70); p99 and conn/s are given without a target.
TLS_P50_MAX=1.15 TLS_BULK_MIN=0.70
per_round_ratio() {  # per_round_ratio "A ROUNDS" "B ROUNDS" -> A/B per round, space-separated
  paste -d' ' <(tr ' ' '\n' <<<"$1") <(tr ' ' '\n' <<<"$2") |
    awk 'NF == 2 && $2 > 0 { printf "%s%.2f", sep, $1 / $2; sep = " " }'
}
tls_verdict() {  # tls_verdict RATIO LIMIT max|min
  [[ $1 =~ ^[0-9.]+$ ]] || { printf -- '-'; return; }
  awk -v r="$1" -v l="$2" -v k="$3" 'BEGIN { ok = (k == "max" ? r <= l : r >= l); print (ok ? "met" : "not met") }'
}
pct_change() { [[ $1 =~ ^[0-9.]+$ ]] && awk -v r="$1" 'BEGIN { printf "%+.0f %%", (r - 1) * 100 }' || printf -- '-'; }
tls_ratios() {
  local p=twinhub-hub t=twinhub-hub-tls
  R[tls:p50]=$(ratio "${R[$t:p50]:-}" "${R[$p:p50]:-}") R[tls:p99]=$(ratio "${R[$t:p99]:-}" "${R[$p:p99]:-}")
  R[tls:mbps]=$(ratio "${R[$t:mbps]:-}" "${R[$p:mbps]:-}") R[tls:cps]=$(ratio "${R[$t:cps]:-}" "${R[$p:cps]:-}")
  R[tls:p50_rounds]=$(per_round_ratio "${R[$t:p50_rounds]:-}" "${R[$p:p50_rounds]:-}")
  R[tls:p99_rounds]=$(per_round_ratio "${R[$t:p99_rounds]:-}" "${R[$p:p99_rounds]:-}")
  R[tls:mbps_rounds]=$(per_round_ratio "${R[$t:mbps_rounds]:-}" "${R[$p:mbps_rounds]:-}")
}
print_tls_table() {
  local p=twinhub-hub t=twinhub-hub-tls
  [[ -n ${R[$p:p50]:-} && -n ${R[$t:p50]:-} ]] || return 0
  echo
  echo "TLS in hub mode: $t (hubs with TLS, client certificates and users) against $p (plain hubs), same interleaved rounds; targets from issue 12"
  [[ $HUB_TLS_MAIN == 1 ]] && echo "(HUB_TLS=1: $p ran on TLS hubs too, so this compares TLS with TLS)"
  echo
  echo "| figure | $p | $t | TLS / plain | change | target | |"
  echo "| --- | ---: | ---: | ---: | ---: | --- | --- |"
  printf '| p50 µs | %s | %s | %s | %s | <= %s | %s |\n' "$(val $p:p50)" "$(val $t:p50)" "${R[tls:p50]}" \
    "$(pct_change "${R[tls:p50]}")" "$TLS_P50_MAX" "$(tls_verdict "${R[tls:p50]}" "$TLS_P50_MAX" max)"
  printf '| p99 µs | %s | %s | %s | %s | (none) | |\n' "$(val $p:p99)" "$(val $t:p99)" "${R[tls:p99]}" "$(pct_change "${R[tls:p99]}")"
  printf '| bulk MB/s | %s | %s | %s | %s | >= %s | %s |\n' "$(val $p:mbps)" "$(val $t:mbps)" "${R[tls:mbps]}" \
    "$(pct_change "${R[tls:mbps]}")" "$TLS_BULK_MIN" "$(tls_verdict "${R[tls:mbps]}" "$TLS_BULK_MIN" min)"
  printf '| conn/s | %s | %s | %s | %s | (none) | |\n' "$(val $p:cps)" "$(val $t:cps)" "${R[tls:cps]}" "$(pct_change "${R[tls:cps]}")"
  echo
  echo "TLS / plain per round: p50 ${R[tls:p50_rounds]:--}; p99 ${R[tls:p99_rounds]:--}; bulk ${R[tls:mbps_rounds]:--}."
  echo "Hub state losses logged by the sidecars (up -> suspect/down, disconnected; see notes): $p ${R[$p:hub_events]:--}, $t ${R[$t:hub_events]:--}."
}

# JSON arrays of numbers (jnum, jstr: lib.sh).
jarr() { local out="" v; for v in $1; do out+="${out:+, }$(jnum "$v")"; done; printf '[%s]' "$out"; }

write_json() {
  local f=$1 n first=1 x
  {
    printf '{\n  "meta": {"date": %s, "host": %s, "cores": %s, "kernel": %s, "load_at_start": %s, "quick": %s,\n' \
      "$(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(jstr "$(hostname)")" "$(nproc)" "$(jstr "$(uname -r)")" \
      "$(jstr "$LOAD_START")" "$([[ $QUICK == 1 ]] && echo true || echo false)"
    printf '    "params": {"rtt_count": %s, "rtt_rounds": %s, "rtt_size": 64, "bulk_mib": %s, "bulk_rounds": %s, "conn_seconds": %s, "conn_rounds": %s, "conn_concurrency": %s, "hold_count": %s},\n' \
      "$RTT_COUNT" "$RTT_ROUNDS" "$BULK_MB" "$BULK_ROUNDS" "$CONN_SECONDS" "$CONN_ROUNDS" "$CONN_CONCURRENCY" "$HOLD_COUNT"
    printf '    "units": {"latency": "us", "throughput": "MB/s, MB = 1e6 bytes", "memory": "kB from /proc/PID/status"},\n'
    printf '    "notes": ['
    first=1; for x in "${NOTES[@]}"; do ((first)) || printf ', '; first=0; jstr "$x"; done
    printf ']},\n  "paths": [\n'
    first=1
    for n in "${PATHS[@]}"; do
      ((first)) || printf ',\n'; first=0
      printf '    {"name": %s, "description": %s, "version": %s, "skipped": %s,\n' "$(jstr "$n")" \
        "$(jstr "${R[$n:desc]}")" "$(jstr "${R[$n:version]:-}")" \
        "$([[ -n ${R[$n:skip]:-} ]] && jstr "${R[$n:skip]}" || echo null)"
      printf '     "rtt": {"p50_us": %s, "p99_us": %s, "p50_rounds": %s, "p99_rounds": %s},\n' \
        "$(jnum "${R[$n:p50]:-}")" "$(jnum "${R[$n:p99]:-}")" "$(jarr "${R[$n:p50_rounds]:-}")" "$(jarr "${R[$n:p99_rounds]:-}")"
      printf '     "bulk": {"mb_per_s": %s, "rounds": %s},\n' "$(jnum "${R[$n:mbps]:-}")" "$(jarr "${R[$n:mbps_rounds]:-}")"
      printf '     "connrate": {"conn_per_s": %s, "rounds": %s, "errors": %s},\n' "$(jnum "${R[$n:cps]:-}")" \
        "$(jarr "${R[$n:cps_rounds]:-}")" "$(jnum "${R[$n:conn_errors]:-}")"
      [[ -z ${R[$n:floor]:-} ]] || printf '     "floor": {"variant": %s, "requester_url": %s, "responder_url": %s},\n' \
        "$(jstr "${R[$n:floor]}")" "$(jstr "${R[$n:req_url]:-}")" "$(jstr "${R[$n:resp_url]:-}")"
      [[ -z ${R[$n:extra_pids]:-} ]] || printf '     "hubs_memory_kb": {"pids": %s, "idle_rss": %s, "hold_rss": %s},\n' \
        "$(jarr "${R[$n:extra_pids]}")" "$(jnum "${R[$n:xrss_idle]:-}")" "$(jnum "${R[$n:xrss_hold]:-}")"
      printf '     "memory_kb": {"pids_rss": %s, "pids_anon": %s, "idle": {"rss": %s, "anon": %s}, "hold": {"connections": %s, "rss": %s, "anon": %s}, "after_load": {"rss": %s, "anon": %s}},\n' \
        "$(jarr "${R[$n:rss_pids]:-}")" "$(jarr "${R[$n:anon_pids]:-}")" \
        "$(jnum "${R[$n:rss_idle]:-}")" "$(jnum "${R[$n:anon_idle]:-}")" "$HOLD_COUNT" \
        "$(jnum "${R[$n:rss_hold]:-}")" "$(jnum "${R[$n:anon_hold]:-}")" \
        "$(jnum "${R[$n:rss_after]:-}")" "$(jnum "${R[$n:anon_after]:-}")"
      printf '     "vs_haproxy": {"added_p50": %s, "added_p99": %s, "mb_per_s": %s, "conn_per_s": %s, "rss_idle": %s, "anon_idle": %s, "rss_hold": %s, "anon_hold": %s}}' \
        "$(jnum "$(added_ratio "${R[$n:p50]:-}" "${R[direct:p50]:-}" "${R[haproxy:p50]:-}")")" \
        "$(jnum "$(added_ratio "${R[$n:p99]:-}" "${R[direct:p99]:-}" "${R[haproxy:p99]:-}")")" \
        "$(jnum "$(ratio "${R[$n:mbps]:-}" "${R[haproxy:mbps]:-}")")" "$(jnum "$(ratio "${R[$n:cps]:-}" "${R[haproxy:cps]:-}")")" \
        "$(jnum "$(ratio "${R[$n:rss_idle]:-}" "${R[haproxy:rss_idle]:-}")")" "$(jnum "$(ratio "${R[$n:anon_idle]:-}" "${R[haproxy:anon_idle]:-}")")" \
        "$(jnum "$(ratio "${R[$n:rss_hold]:-}" "${R[haproxy:rss_hold]:-}")")" "$(jnum "$(ratio "${R[$n:anon_hold]:-}" "${R[haproxy:anon_hold]:-}")")"
    done
    printf '\n  ],\n  "hub_vs_floor": {"p50_ratio": %s, "p99_ratio": %s, "p50_ratio_cross": %s, "p99_ratio_cross": %s, "p50_target": 1.5},\n' \
      "$(jnum "$(ratio "${R[twinhub-hub:p50]:-}" "${R[cnats-floor:p50]:-}")")" "$(jnum "$(ratio "${R[twinhub-hub:p99]:-}" "${R[cnats-floor:p99]:-}")")" \
      "$(jnum "$(ratio "${R[twinhub-hub:p50]:-}" "${R[cnats-floor-cross:p50]:-}")")" "$(jnum "$(ratio "${R[twinhub-hub:p99]:-}" "${R[cnats-floor-cross:p99]:-}")")"
    # TLS / plain (twinhub-hub-tls / twinhub-hub); met: null when either row is missing.
    local m50=null mb=null
    [[ ${R[tls:p50]:-} =~ ^[0-9.]+$ ]] && m50=$([[ $(tls_verdict "${R[tls:p50]}" "$TLS_P50_MAX" max) == met ]] && echo true || echo false)
    [[ ${R[tls:mbps]:-} =~ ^[0-9.]+$ ]] && mb=$([[ $(tls_verdict "${R[tls:mbps]}" "$TLS_BULK_MIN" min) == met ]] && echo true || echo false)
    printf '  "tls_vs_plain": {"plain": "twinhub-hub", "tls": "twinhub-hub-tls", "both_tls": %s, "p50_ratio": %s, "p99_ratio": %s, "mb_per_s_ratio": %s, "conn_per_s_ratio": %s,\n' \
      "$([[ $HUB_TLS_MAIN == 1 ]] && echo true || echo false)" "$(jnum "${R[tls:p50]:-}")" "$(jnum "${R[tls:p99]:-}")" "$(jnum "${R[tls:mbps]:-}")" "$(jnum "${R[tls:cps]:-}")"
    printf '    "p50_ratio_rounds": %s, "p99_ratio_rounds": %s, "mb_per_s_ratio_rounds": %s,\n' \
      "$(jarr "${R[tls:p50_rounds]:-}")" "$(jarr "${R[tls:p99_rounds]:-}")" "$(jarr "${R[tls:mbps_rounds]:-}")"
    printf '    "p50_ratio_max": %s, "mb_per_s_ratio_min": %s, "p50_met": %s, "mb_per_s_met": %s,\n' "$TLS_P50_MAX" "$TLS_BULK_MIN" "$m50" "$mb"
    printf '    "hub_state_losses": {"twinhub-hub": %s, "twinhub-hub-tls": %s}}\n}\n' \
      "$(jnum "${R[twinhub-hub:hub_events]:-}")" "$(jnum "${R[twinhub-hub-tls:hub_events]:-}")"
  } >"$f"
  log "wrote $f"
}

# ------------------------------------------------------------------------------------------- main
main() {
  local n r t0=$SECONDS hard
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  ensure_built
  hard=$(ulimit -Hn)
  [[ $hard == unlimited ]] && hard=65536
  ((hard > 65536)) && hard=65536
  ulimit -n "$hard" 2>/dev/null || true
  (( $(ulimit -n) >= 2 * HOLD_COUNT + 200 )) || note "ulimit -n is $(ulimit -n): too low for $HOLD_COUNT held connections"
  log "load average at start: $LOAD_START"
  awk -v l="${LOAD_START%% *}" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }' &&
    note "load average ${LOAD_START%% *} at start on $(nproc) cores: other work on this machine adds noise (rounds are interleaved and medians reported; see OUT json for each round)"

  start_echo
  # One call per row; the table lists them in this order.
  add_path direct "client -> echo server" start_direct
  add_path twinhub "twinhub-sidecar direct mode, --metrics on, log level warn" start_twinhub
  local wm
  for wm in ${WATERMARKS:-}; do
    n=twinhub-wm$((${wm%/*} / 1024))k
    WM_OF[$n]=$wm
    add_path "$n" "twinhub-sidecar direct mode, proxy watermarks high/low $wm bytes" start_twinhub_wm
  done
  add_path twinhub-hub "front sidecar -> NATS hub edge -> serving sidecar (mode hub, log level warn)$([[ $HUB_TLS_MAIN == 1 ]] && echo ', hubs with TLS (HUB_TLS=1)')" start_twinhub_hub
  add_path twinhub-hub-tls "as twinhub-hub, on a second hub pair with TLS, client certificates and users (deploy/nats/*-secure.conf)" start_twinhub_hub
  add_path haproxy "haproxy, mode tcp, nbthread 1, maxconn 4000" start_haproxy
  add_path nginx "nginx stream, 1 worker" start_nginx
  add_floor cnats-floor "bare cnats request/reply, requester and responder on the edge hub" same
  add_floor cnats-floor-cross "bare cnats request/reply, requester on edge, responder on central" cross
  [[ -n $(active_paths) ]] || { log "no path started"; exit 1; }

  hub_events_mark rtt
  for ((r = 1; r <= RTT_ROUNDS; r++)); do
    log "rtt round $r/$RTT_ROUNDS"
    for n in $(active_paths); do measure_rtt "$n"; done
    for n in $(floor_rows); do measure_floor "$n"; done
  done
  hub_events_mark bulk
  for ((r = 1; r <= BULK_ROUNDS; r++)); do
    log "bulk round $r/$BULK_ROUNDS"
    for n in $(active_paths); do measure_bulk "$n"; done
    for n in $(floor_rows); do measure_floor_bulk "$n"; done
  done
  hub_events_mark connrate
  for ((r = 1; r <= CONN_ROUNDS; r++)); do
    log "connrate round $r/$CONN_ROUNDS"
    for n in $(active_paths); do measure_connrate "$n"; done
  done
  hub_events_mark hold
  log "holding $HOLD_COUNT connections"
  for n in $(active_paths); do measure_hold "$n"; done
  for n in $(active_paths); do check_alive "$n" && measure_mem "$n" after; done
  hub_events_mark end
  for n in $(active_paths); do
    if [[ -n ${R[$n:metrics]:-} ]] && command -v curl >/dev/null; then
      curl -fsS -m 3 "http://${R[$n:metrics]}/metrics" >"$TMP/$n/metrics.txt" 2>&1 ||
        note "$n: GET http://${R[$n:metrics]}/metrics failed: $(head -c 200 "$TMP/$n/metrics.txt")"
    fi
    if [[ -n ${R[$n:metrics_serve]:-} ]] && command -v curl >/dev/null; then
      curl -fsS -m 3 "http://${R[$n:metrics_serve]}/metrics" >"$TMP/$n/metrics-serve.txt" 2>&1 || true
    fi
  done
  hub_events_note

  for n in twinhub-hub twinhub-hub-tls; do
    [[ -z ${R[$n:xrss_idle]:-} ]] ||
      note "$n: the memory columns are the two sidecars (front + serving); the two nats-servers, not counted, had VmRSS $(mb "${R[$n:xrss_idle]}") MB idle$([[ -n ${R[$n:xrss_hold]:-} ]] && echo " and $(mb "${R[$n:xrss_hold]}") MB with $HOLD_COUNT sessions")"
  done
  summarize
  tls_ratios
  print_tables
  [[ -z $OUT ]] || write_json "$OUT"
  log "done in $((SECONDS - t0)) s"
}

main "$@"
