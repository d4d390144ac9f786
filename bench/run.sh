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
#   twinhub-hub-old  only with OLD_SIDECAR_BIN=path (another twinhub-sidecar build, e.g. the one
#            before a rewrite): twinhub-hub's layout with that binary, on a hub pair of its own (as
#            twinhub-hub-tls; TLS only with HUB_TLS=1) and two sidecars of its own, measured in the
#            same interleaved rounds, so that "new vs old" (CPU per round trip above all) compares
#            two builds within one run. It runs whenever twinhub-hub runs (PATHS_ONLY need not name it).
#   cnats-floor        bare cnats request/reply (bench/cnats_floor.cc pair), requester and
#            responder processes both on the edge hub, with cnats's threads (a reader thread per
#            connection, a delivery thread for the responder's callback) and one non-default option:
#            SendAsap on both (cnats's default is off), as the sidecars' hub connections use it:
#            what a round trip through a hub costs without twinhub. Measured in the same interleaved
#            rounds as the paths.
#            Its MB/s is the bulk echo floor (cnats_floor echo-bulk): 16 KiB messages (the
#            sidecars' DATA frame size) published by one bare cnats process on edge, re-published
#            to a reply subject by a second one on edge and received back by the first, at most
#            ECHO_WINDOW bytes (default 512 KiB) in flight, every byte checked in order: each byte
#            crosses the hub twice, as in the paths' MB/s (an echo). BULK_MB MiB per round, in the
#            bulk rounds. Also given (a note under the tables and in OUT json): the one-way floor,
#            16 KiB pub/sub between two bare connections on edge (cnats_floor stream, hub once).
#   cnats-floor-default  as cnats-floor's round trip with everything at cnats's defaults (SendAsap
#            off: a publish waits for cnats's flusher thread): literally what a user would write;
#            latency only, a reference (the issue 13 targets use cnats-floor).
#   cnats-floor-cross  the same as cnats-floor with the requester on edge and the responder on central (leaf link).
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
#   Floor       twinhub-hub p50 (and p99) / cnats-floor p50 (p99): issue 3's target is <= 1.5; also
#               the p50 ratio of every round, and the bulk echo (twice through the hub) against
#               the echo floor and the one-way floor.
#   CPU/rtt     hub rows only: the CPU time (utime + stime, /proc/PID/stat, clock ticks of
#               1/CLK_TCK s) each sidecar used during the row's latency measurement (one
#               bench_client rtt run: warm-up and measured round trips, nothing else of the bench
#               runs meanwhile), divided by the round trips made (warm-up + RTT_COUNT), in µs: front,
#               serving, and both summed; per round and the median of the rounds. The sidecars'
#               background work in that time (heartbeats, probes) is included, and one tick is
#               usually 10 ms: the output gives the resolution in µs per round trip. The rtt rounds
#               run the rows in the table's order in odd rounds and in reverse in even ones, so
#               that no row (twinhub-hub against twinhub-hub-old above all) always goes first.
#   Issue 13    targets in one table (and OUT json "issue13_targets"): twinhub-hub p50 <= 1.3 x
#               cnats-floor p50, p99 <= 1.5 x cnats-floor p99, MB/s >= 0.9 x the echo floor, conn/s
#               >= 0.5 x twinhub's (direct mode), and with OLD_SIDECAR_BIN sidecar CPU per round
#               trip <= 0.7 x twinhub-hub-old's (at least 30 % lower); each met or NOT met.
#
# Environment: BUILD_DIR (default <repo>/build; expects bin/twinhub-sidecar, bin/bench_echo_server,
#   bin/bench_client, bin/cnats_floor and builds what is missing or stale with cmake --build),
#   NATS_BIN (default: nats-server on PATH), SKIP_BUILD=1, JOBS (cmake --build -j, default 2), QUICK=1,
#   OUT=file.json, PATHS_ONLY="direct haproxy" (subset), KEEP_TMP=1 (keep configs and logs),
#   SIDECAR_BIN (another twinhub-sidecar binary, e.g. to compare two builds), WATERMARKS (e.g.
#   "1048576/262144 262144/65536": one more twinhub row per HIGH/LOW pair, named twinhub-wm<HIGH KiB>k,
#   with that proxy.high_watermark/low_watermark; PATHS_ONLY must then name them), HUB_OPTIONS (YAML
#   flow map given to every hub-mode sidecar, plain and TLS, as hub_options, e.g.
#   "{window_bytes: 1048576}"), OLD_SIDECAR_BIN (adds the twinhub-hub-old row, above), ECHO_WINDOW
#   (the echo floor's bytes in flight, default 524288), and
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
OLD_SIDECAR_BIN=${OLD_SIDECAR_BIN:-}
ECHO_WINDOW=${ECHO_WINDOW:-524288}
CLK_TCK=$(getconf CLK_TCK 2>/dev/null || echo 100)

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

# twinhub-hub on pair main, twinhub-hub-tls on pair tls, twinhub-hub-old (OLD_SIDECAR_BIN) on pair
# old (as main: TLS only with HUB_TLS=1): the same two sidecars, each row its own.
start_twinhub_hub() {
  local name=$1 dir=$2 port fm sm pair=main tls=$HUB_TLS_MAIN bin=$SIDECAR_BIN
  [[ $name == twinhub-hub-tls ]] && pair=tls tls=1
  [[ $name == twinhub-hub-old ]] && pair=old bin=$OLD_SIDECAR_BIN
  [[ -x $bin ]] || { P_SKIP="$bin not built"; return 1; }
  ensure_hubs "$pair" "$tls" || return 1
  [[ -n ${HUB_OPTIONS:-} ]] && note "$name: both sidecars run with hub_options $HUB_OPTIONS"
  read -r port fm sm <<<"$("$CLIENT" freeport 3 | tr '\n' ' ')"
  hub_serve_yaml "$dir/serve.yaml" "$ECHO_ADDR" "127.0.0.1:$sm" "${HUB_OPTIONS:-}"
  hub_front_yaml "$dir/front.yaml" "127.0.0.1:$port" "127.0.0.1:$fm" "${HUB_OPTIONS:-}"
  spawn "$dir/serve.log" "$bin" --config "$dir/serve.yaml" --log-level warn
  local serve=$SPAWNED_PID
  spawn "$dir/front.log" "$bin" --config "$dir/front.yaml" --log-level warn
  local front=$SPAWNED_PID
  # The front accepts at once; wait until a session gets through to the echo server.
  if ! hub_wait_roundtrip "127.0.0.1:$port" 15 || ! alive "$front" "$serve"; then
    P_SKIP="no round trip through the hubs within 15 s"
    tail_log "$dir/serve.log"; tail_log "$dir/front.log"
    return 1
  fi
  P_ADDR=127.0.0.1:$port P_RSS_PIDS="$front $serve" P_ANON_PIDS="$front $serve"
  P_METRICS=127.0.0.1:$fm P_METRICS_SERVE=127.0.0.1:$sm
  P_EXTRA_PIDS=${HUBS_PIDS[$pair]} P_CPU_PIDS="$front $serve"
  P_VERSION="$bin: $("$bin" --version 2>&1 | head -n1) x2, $HUBS_VERSION x2$([[ $HUB_TLS == 1 ]] && echo ', TLS with client certificates and users')"
  return 0
}

PATHS=()
declare -A R=()  # R[name:key] = value

# add_floor NAME DESCRIPTION VARIANT [SEND_ASAP]: a row of bare cnats request/reply through the hubs
# (VARIANT same: both on edge; cross: requester on edge, responder on central; SEND_ASAP 1 (default)
# or 0, cnats's default). Measured in the rtt rounds, and cnats-floor also in the bulk rounds (the
# echo floor); no proxy process, so no other figures.
add_floor() {
  local name=$1 desc=$2 variant=$3 asap=${4:-1}
  if [[ -n $PATHS_ONLY && " $PATHS_ONLY " != *" $name "* ]]; then return 0; fi
  mkdir -p "$TMP/$name"
  PATHS+=("$name")
  R[$name:desc]=$desc R[$name:floor]=$variant R[$name:rss_pids]="" R[$name:anon_pids]="" R[$name:send_asap]=$asap
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
    R[$name:version]="cnats $(pkg-config --modversion libnats 2>/dev/null || echo '?') (SendAsap $([[ $asap == 1 ]] && echo on || echo 'off, the default')), $HUBS_VERSION"
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
  P_ADDR="" P_RSS_PIDS="" P_ANON_PIDS="" P_SKIP="" P_VERSION="" P_METRICS="" P_METRICS_SERVE="" P_EXTRA_PIDS="" P_CPU_PIDS=""
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
  R[$name:metrics_serve]=$P_METRICS_SERVE R[$name:cpu_pids]=$P_CPU_PIDS
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

# cpu_ticks PID -> utime + stime of the whole process (every thread, live or gone) in clock ticks,
# from /proc/PID/stat (fields 14 and 15; the name in field 2 may hold spaces, so count after ")").
cpu_ticks() { sed 's/.*) //' "/proc/$1/stat" 2>/dev/null | awk '{ print $12 + $13 }'; }

measure_rtt() {
  local name=$1 line warmup=$((RTT_COUNT / 10 + 100)) pid before=() after=() i us sum=0 parts=()
  check_alive "$name" || return 0
  for pid in ${R[$name:cpu_pids]:-}; do before+=("$(cpu_ticks "$pid")"); done
  line=$(run_client "$name" 120 rtt --count "$RTT_COUNT" --warmup "$warmup" --size 64) ||
    { client_failed "$name" rtt $?; return 0; }
  for pid in ${R[$name:cpu_pids]:-}; do after+=("$(cpu_ticks "$pid")"); done
  R[$name:p50_rounds]+="$(kv "$line" p50_us) " R[$name:p99_rounds]+="$(kv "$line" p99_us) "
  # Sidecar CPU per round trip (hub rows: front, then serving), µs; the round trips include the warm-up.
  [[ -n ${R[$name:cpu_pids]:-} ]] || return 0
  for i in "${!before[@]}"; do
    [[ -n ${before[i]} && -n ${after[i]:-} ]] || return 0
    us=$(awk -v t=$((after[i] - before[i])) -v hz="$CLK_TCK" -v n=$((RTT_COUNT + warmup)) 'BEGIN { printf "%.1f", t / hz * 1e6 / n }')
    parts+=("$us")
    sum=$(awk -v a="$sum" -v b="$us" 'BEGIN { printf "%.1f", a + b }')
  done
  R[$name:cpu_rounds]+="$sum " R[$name:cpu_front_rounds]+="${parts[0]} " R[$name:cpu_serve_rounds]+="${parts[1]:-} "
  R[$name:cpu_tick_us]=$(awk -v hz="$CLK_TCK" -v n=$((RTT_COUNT + warmup)) 'BEGIN { printf "%.2f", 1e6 / hz / n }')
}

measure_floor() {
  local name=$1 line
  if ! alive ${R[$name:hub_pids]}; then
    note "$name: a nats-server exited during the run; its remaining rounds are missing"
    R[$name:skip]="a nats-server exited during the run"
    return 0
  fi
  line=$(timeout 120 "$FLOOR_BIN" pair --requester-url "${R[$name:req_url]}" --responder-url "${R[$name:resp_url]}" \
    --count "$RTT_COUNT" --warmup $((RTT_COUNT / 10 + 100)) --size 64 --max-seconds 110 --send-asap "${R[$name:send_asap]}" \
    2>>"$TMP/$name/client.err") ||
    { client_failed "$name" rtt $?; return 0; }
  R[$name:p50_rounds]+="$(kv "$line" p50_us) " R[$name:p99_rounds]+="$(kv "$line" p99_us) "
}

# The bulk floors of cnats-floor, 16 KiB messages (the sidecars' frame size, see
# wire::kDataFramePayload) through the edge hub: the echo floor (cnats_floor echo-bulk: two bare
# processes, each byte through the hub twice, like hub mode's bulk echo; at most ECHO_WINDOW bytes
# in flight, every byte checked) is the row's MB/s; the one-way floor (cnats_floor stream: two bare
# connections, each byte through the hub once) is kept as mbps_oneway.
measure_floor_bulk() {
  local name=$1 line
  [[ $name == cnats-floor && -z ${R[$name:skip]:-} ]] || return 0
  alive ${R[$name:hub_pids]} || return 0
  if line=$(timeout 180 "$FLOOR_BIN" echo-bulk --requester-url "${R[$name:req_url]}" --responder-url "${R[$name:resp_url]}" \
    --mb "$BULK_MB" --size 16384 --window "$ECHO_WINDOW" --max-seconds 170 2>>"$TMP/$name/client.err"); then
    R[$name:mbps_rounds]+="$(kv "$line" mb_per_s) "
  else
    client_failed "$name" "bulk (echo-bulk)" $?
  fi
  line=$(timeout 180 "$FLOOR_BIN" stream --url "${R[$name:req_url]}" --mb "$BULK_MB" --size 16384 --max-seconds 170 \
    2>>"$TMP/$name/client.err") || { client_failed "$name" "bulk (one-way stream)" $?; return 0; }
  R[$name:mbps_oneway_rounds]+="$(kv "$line" mb_per_s) "
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
    R[$n:mbps_oneway]=$(median ${R[$n:mbps_oneway_rounds]:-})
    R[$n:cpu]=$(median ${R[$n:cpu_rounds]:-}) R[$n:cpu_front]=$(median ${R[$n:cpu_front_rounds]:-})
    R[$n:cpu_serve]=$(median ${R[$n:cpu_serve_rounds]:-})
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
    echo "Hub mode against its floor (bare cnats request/reply through the same hubs, cnats's threads; SendAsap on unless the row says default; issue 3's target: twinhub-hub p50 <= 1.5 x cnats-floor p50)"
    echo
    echo "| twinhub-hub / floor | p50 | p99 | p50 target <= 1.5 |"
    echo "| --- | ---: | ---: | --- |"
    local x r50
    for x in $f cnats-floor-default $fx; do
      [[ -n ${R[$x:p50]:-} ]] || continue
      r50=$(ratio "${R[$hh:p50]}" "${R[$x:p50]}")
      printf '| / %s%s (%s / %s µs) | %s | %s | %s |\n' "$x" "$(floor_variant "$x")" "${R[$hh:p50]}" "${R[$x:p50]}" "$r50" \
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
      echo "Bulk: the twinhub-hub echo (${R[$hh:mbps]} MB/s) against the bare cnats echo floor (${R[$f:mbps]} MB/s, cnats-floor's MB/s: 16 KiB messages, at most $ECHO_WINDOW bytes in flight, both cross the hub twice): $(ratio "${R[$hh:mbps]}" "${R[$f:mbps]}")."
    fi
    if [[ -n ${R[$hh:mbps]:-} && -n ${R[$f:mbps_oneway]:-} ]]; then
      echo "One-way floor (16 KiB pub/sub, the hub once, not in the table): ${R[$f:mbps_oneway]} MB/s; the twinhub-hub echo moves $(awk -v a="${R[$hh:mbps]}" \
        'BEGIN { printf "%.1f", 2 * a }') MB/s through edge, $(ratio "$(awk -v a="${R[$hh:mbps]}" 'BEGIN { print 2 * a }')" \
        "${R[$f:mbps_oneway]}") of it."
    fi
  fi
  print_cpu_table
  print_issue13_table
  print_tls_table
  if ((${#NOTES[@]})); then
    echo
    echo "Notes:"
    local x; for x in "${NOTES[@]}"; do echo "- ${x//$'\n'/ }"; done
  fi
  echo
  echo "Versions: $(for n in "${PATHS[@]}"; do [[ -n ${R[$n:version]:-} ]] && printf '%s: %s; ' "$n" "${R[$n:version]}"; done)"
}

floor_variant() {  # floor_variant ROW -> " (SendAsap on)" / " (cnats defaults: SendAsap off)" for floor rows
  [[ -n ${R[$1:floor]:-} ]] || return 0
  [[ ${R[$1:send_asap]:-1} == 1 ]] && printf ' (SendAsap on)' || printf " (cnats defaults: SendAsap off)"
}

# Sidecar CPU per round trip (hub rows, see "CPU/rtt" in the header) and, with OLD_SIDECAR_BIN,
# new (twinhub-hub) against old (twinhub-hub-old). Target (issue 13): new at least 30 % lower.
CPU_RATIO_MAX=0.70
cpu_rows() { local n; for n in $(hub_rows); do [[ -n ${R[$n:cpu]:-} ]] && echo "$n"; done; }
print_cpu_table() {
  local n rows
  rows=$(cpu_rows)
  [[ -n $rows ]] || return 0
  echo
  echo "Sidecar CPU per round trip during the latency phase (utime + stime from /proc/PID/stat / round trips incl. warm-up, µs; median of $RTT_ROUNDS rounds; 1 tick = ${R[twinhub-hub:cpu_tick_us]:-?} µs per round trip per sidecar)"
  echo
  echo "| row | both sidecars µs | front µs | serving µs | both, per round |"
  echo "| --- | ---: | ---: | ---: | --- |"
  for n in $rows; do
    printf '| %s | %s | %s | %s | %s |\n' "$n" "$(val "$n:cpu")" "$(val "$n:cpu_front")" "$(val "$n:cpu_serve")" "${R[$n:cpu_rounds]% }"
  done
  local o=twinhub-hub-old h=twinhub-hub
  if [[ -n ${R[$o:cpu]:-} && -n ${R[$h:cpu]:-} ]]; then
    echo
    echo "CPU per round trip, new ($h) vs old ($o): ${R[$h:cpu]} vs ${R[$o:cpu]} µs, new/old $(ratio "${R[$h:cpu]}" "${R[$o:cpu]}") ($(pct_change "$(ratio "${R[$h:cpu]}" "${R[$o:cpu]}")")); front $(ratio "${R[$h:cpu_front]:-}" "${R[$o:cpu_front]:-}"), serving $(ratio "${R[$h:cpu_serve]:-}" "${R[$o:cpu_serve]:-}"); per round $(per_round_ratio "${R[$h:cpu_rounds]}" "${R[$o:cpu_rounds]}"); target new at least 30 % lower (new/old <= $CPU_RATIO_MAX): $(target_verdict "$(ratio "${R[$h:cpu]}" "${R[$o:cpu]}")" "$CPU_RATIO_MAX" max)."
    echo "p50 new vs old: ${R[$h:p50]:--} vs ${R[$o:p50]:--} µs; p99 ${R[$h:p99]:--} vs ${R[$o:p99]:--} µs; MB/s ${R[$h:mbps]:--} vs ${R[$o:mbps]:--}; conn/s ${R[$h:cps]:--} vs ${R[$o:cps]:--}."
  fi
}

# Issue 13's targets, all from this run: twinhub-hub against cnats-floor (SendAsap on), the echo
# floor, direct mode's conn/s and, with OLD_SIDECAR_BIN, the old build's CPU per round trip.
# I13[key] = "label|value|base|ratio|limit|max or min|verdict", computed once for the table and json.
I13_KEYS=(p50 p99 bulk conn_rate cpu)
declare -A I13=()
target_verdict() {  # target_verdict RATIO LIMIT max|min -> met, NOT met, or - (unknown)
  [[ $1 =~ ^[0-9.]+$ ]] || { printf -- '-'; return; }
  awk -v r="$1" -v l="$2" -v k="$3" 'BEGIN { ok = (k == "max" ? r <= l : r >= l); print (ok ? "met" : "NOT met") }'
}
i13_set() {  # i13_set KEY LABEL VALUE BASE LIMIT max|min
  local r; r=$(ratio "$3" "$4")
  I13[$1]="$2|${3:--}|${4:--}|$r|$5|$6|$(target_verdict "$r" "$5" "$6")"
}
issue13_targets() {
  local h=twinhub-hub f=cnats-floor o=twinhub-hub-old
  i13_set p50 "p50 µs / cnats-floor p50$(floor_variant $f)" "${R[$h:p50]:-}" "${R[$f:p50]:-}" 1.3 max
  i13_set p99 "p99 µs / cnats-floor p99$(floor_variant $f)" "${R[$h:p99]:-}" "${R[$f:p99]:-}" 1.5 max
  i13_set bulk "bulk MB/s / bare cnats echo floor (16 KiB, window $ECHO_WINDOW B)" "${R[$h:mbps]:-}" "${R[$f:mbps]:-}" 0.9 min
  i13_set conn_rate "conn/s / twinhub (direct mode) conn/s" "${R[$h:cps]:-}" "${R[twinhub:cps]:-}" 0.5 min
  i13_set cpu "sidecar CPU µs per round trip / $o's$([[ -z $OLD_SIDECAR_BIN ]] && echo ' (OLD_SIDECAR_BIN not set)')" "${R[$h:cpu]:-}" "${R[$o:cpu]:-}" "$CPU_RATIO_MAX" max
}
print_issue13_table() {
  [[ -n ${R[twinhub-hub:p50]:-} || -n ${R[twinhub-hub:mbps]:-} ]] || return 0
  local k fs
  echo
  echo "Issue 13 targets (twinhub-hub, all bases from this run)"
  echo
  echo "| target | twinhub-hub | base | ratio | limit | |"
  echo "| --- | ---: | ---: | ---: | --- | --- |"
  for k in "${I13_KEYS[@]}"; do
    IFS='|' read -r -a fs <<<"${I13[$k]}"
    printf '| %s | %s | %s | %s | %s %s | %s |\n' "${fs[0]}" "${fs[1]}" "${fs[2]}" "${fs[3]}" \
      "$([[ ${fs[5]} == max ]] && echo '<=' || echo '>=')" "${fs[4]}" "${fs[6]}"
  done
  if [[ -n ${R[cnats-floor-default:p50]:-} ]]; then
    echo
    echo "Reference, against cnats-floor-default (cnats's defaults, SendAsap off: ${R[cnats-floor-default:p50]} / ${R[cnats-floor-default:p99]:--} µs): p50 $(ratio "${R[twinhub-hub:p50]:-}" "${R[cnats-floor-default:p50]}"), p99 $(ratio "${R[twinhub-hub:p99]:-}" "${R[cnats-floor-default:p99]:-}")."
  fi
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
      if [[ $n == cnats-floor ]]; then
        printf '     "bulk": {"mb_per_s": %s, "rounds": %s, "kind": "echo (cnats_floor echo-bulk, 16 KiB, window %s B)", "one_way_mb_per_s": %s, "one_way_rounds": %s},\n' \
          "$(jnum "${R[$n:mbps]:-}")" "$(jarr "${R[$n:mbps_rounds]:-}")" "$ECHO_WINDOW" "$(jnum "${R[$n:mbps_oneway]:-}")" "$(jarr "${R[$n:mbps_oneway_rounds]:-}")"
      else
        printf '     "bulk": {"mb_per_s": %s, "rounds": %s},\n' "$(jnum "${R[$n:mbps]:-}")" "$(jarr "${R[$n:mbps_rounds]:-}")"
      fi
      [[ -z ${R[$n:cpu_rounds]:-} ]] || printf '     "cpu_per_rtt_us": {"both": %s, "front": %s, "serving": %s, "rounds": %s, "front_rounds": %s, "serving_rounds": %s, "tick_us_per_rtt": %s},\n' \
        "$(jnum "${R[$n:cpu]:-}")" "$(jnum "${R[$n:cpu_front]:-}")" "$(jnum "${R[$n:cpu_serve]:-}")" "$(jarr "${R[$n:cpu_rounds]}")" \
        "$(jarr "${R[$n:cpu_front_rounds]:-}")" "$(jarr "${R[$n:cpu_serve_rounds]:-}")" "$(jnum "${R[$n:cpu_tick_us]:-}")"
      printf '     "connrate": {"conn_per_s": %s, "rounds": %s, "errors": %s},\n' "$(jnum "${R[$n:cps]:-}")" \
        "$(jarr "${R[$n:cps_rounds]:-}")" "$(jnum "${R[$n:conn_errors]:-}")"
      [[ -z ${R[$n:floor]:-} ]] || printf '     "floor": {"variant": %s, "send_asap": %s, "requester_url": %s, "responder_url": %s},\n' \
        "$(jstr "${R[$n:floor]}")" "$([[ ${R[$n:send_asap]:-1} == 1 ]] && echo true || echo false)" "$(jstr "${R[$n:req_url]:-}")" "$(jstr "${R[$n:resp_url]:-}")"
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
    # Issue 13's targets: value, base, ratio, limit, kind (max: ratio <= limit; min: >=), met (null: unknown).
    printf '  "issue13_targets": {'
    local k fs sep=""
    for k in "${I13_KEYS[@]}"; do
      IFS='|' read -r -a fs <<<"${I13[$k]}"
      printf '%s\n    %s: {"label": %s, "value": %s, "base": %s, "ratio": %s, "limit": %s, "kind": %s, "met": %s}' "$sep" "$(jstr "$k")" \
        "$(jstr "${fs[0]}")" "$(jnum "${fs[1]}")" "$(jnum "${fs[2]}")" "$(jnum "${fs[3]}")" "${fs[4]}" "$(jstr "${fs[5]}")" \
        "$(case ${fs[6]} in met) echo true ;; 'NOT met') echo false ;; *) echo null ;; esac)"
      sep=,
    done
    printf ',\n    "cpu_new_vs_old": {"new": "twinhub-hub", "old": "twinhub-hub-old", "old_bin": %s, "ratio_rounds": %s}},\n' \
      "$(jstr "$OLD_SIDECAR_BIN")" "$(jarr "$(per_round_ratio "${R[twinhub-hub:cpu_rounds]:-}" "${R[twinhub-hub-old:cpu_rounds]:-}")")"
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
  if [[ -n $OLD_SIDECAR_BIN ]]; then
    # Runs whenever twinhub-hub runs: the comparison is its point.
    [[ -n $PATHS_ONLY && " $PATHS_ONLY " == *" twinhub-hub "* && " $PATHS_ONLY " != *" twinhub-hub-old "* ]] &&
      PATHS_ONLY+=" twinhub-hub-old"
    add_path twinhub-hub-old "as twinhub-hub with OLD_SIDECAR_BIN ($OLD_SIDECAR_BIN), on a hub pair of its own" start_twinhub_hub
  fi
  add_path twinhub-hub-tls "as twinhub-hub, on a second hub pair with TLS, client certificates and users (deploy/nats/*-secure.conf)" start_twinhub_hub
  add_path haproxy "haproxy, mode tcp, nbthread 1, maxconn 4000" start_haproxy
  add_path nginx "nginx stream, 1 worker" start_nginx
  add_floor cnats-floor "bare cnats request/reply, requester and responder on the edge hub, SendAsap on; MB/s: bare cnats echo of 16 KiB messages through edge" same 1
  add_floor cnats-floor-default "bare cnats request/reply as cnats-floor with cnats's defaults (SendAsap off)" same 0
  add_floor cnats-floor-cross "bare cnats request/reply, requester on edge, responder on central" cross
  [[ -n $(active_paths) ]] || { log "no path started"; exit 1; }

  hub_events_mark rtt
  for ((r = 1; r <= RTT_ROUNDS; r++)); do
    log "rtt round $r/$RTT_ROUNDS"
    if ((r % 2)); then
      for n in $(active_paths); do measure_rtt "$n"; done
      for n in $(floor_rows); do measure_floor "$n"; done
    else  # even rounds in reverse: no row always measured first (see CPU/rtt in the header)
      for n in $(floor_rows | tac); do measure_floor "$n"; done
      for n in $(active_paths | tac); do measure_rtt "$n"; done
    fi
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
  issue13_targets
  print_tables
  [[ -z $OUT ]] || write_json "$OUT"
  log "done in $((SECONDS - t0)) s"
}

main "$@"
