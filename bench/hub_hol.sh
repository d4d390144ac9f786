#!/usr/bin/env bash
# bench/hub_hol.sh: head-of-line delay in hub mode, plain hubs against TLS hubs. How long does a
# small message wait behind bulk data on the same hub connections? The sidecar's hub probes and
# the NATS PING/PONG share those connections with session frames, so this is the margin they have
# before a hub is marked suspect (hub_options.suspect_after_ms, 350 ms by default) or stale
# (max_pings_out x ping_interval_ms).
#
#   bench/hub_hol.sh                  2 rounds, 1 bulk session: ~1 minute
#   BULKS=4 bench/hub_hol.sh          4 bulk sessions at once through the same front
#
# Layout: two hub pairs as bench/run.sh's twinhub-hub and twinhub-hub-tls rows (bench/hubs.sh;
# the "tls" pair has TLS with client certificates and users), each with its own front and serving
# sidecar in front of one bench_echo_server. Per round and pair:
#   idle   `bench_client stall` for 2 s: sequential 64-byte round trips, nothing else running;
#   busy   BULKS `bench_client bulk` echoes of BULK_MB MiB start, and 0.5 s later the same stall
#          client runs for SECS s on another session through the same front: its p50/p99 and
#          longest gap are the small messages' delay behind the bulk frames. The front's
#          twinhub_hub_state is polled every 50 ms meanwhile, and its log is searched for hub state
#          losses (up -> suspect, disconnected). CPU: the front's, the serving sidecar's and the
#          edge hub's user+system CPU time (/proc/PID/stat) from the start of the bulk echoes to
#          their end, in ms per MB echoed (MB = 10^6 B, each byte crossing edge twice; the small
#          session's few round trips are included).
#
# Environment: BUILD_DIR (default <repo>/build; needs bin/bench_client, bin/bench_echo_server,
#   bin/twinhub-sidecar, built as bench/run.sh does), NATS_BIN, ROUNDS (2), BULKS (1), BULK_MB
#   (256), SECS (6), HUB_OPTIONS (YAML flow map for every sidecar's hub_options), KEEP_TMP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/hubs.sh
source "$ROOT/bench/hubs.sh"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
ROUNDS=${ROUNDS:-2} BULKS=${BULKS:-1} BULK_MB=${BULK_MB:-256} SECS=${SECS:-6}
bench_init hol

bin=$BUILD_DIR/bin CLIENT=$BUILD_DIR/bin/bench_client SIDECAR_BIN=${SIDECAR_BIN:-$BUILD_DIR/bin/twinhub-sidecar}
for b in "$CLIENT" "$bin/bench_echo_server" "$SIDECAR_BIN"; do [[ -x $b ]] || { log "missing $b (build with bench/run.sh or scripts/build.sh)"; exit 2; }; done
[[ -x $NATS_BIN ]] || { echo "hub_hol skipped: nats-server not installed"; exit 0; }
command -v openssl >/dev/null || { echo "hub_hol skipped: openssl not installed"; exit 0; }
command -v curl >/dev/null || { log "curl is needed for /metrics"; exit 2; }
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

spawn "$TMP/echo.log" "$bin/bench_echo_server" --listen 127.0.0.1:0
for ((i = 0; i < 100; i++)); do
  ECHO_ADDR=$(sed -n 's/^listening on //p' "$TMP/echo.log"); [[ -n $ECHO_ADDR ]] && break; sleep 0.05
done
[[ -n $ECHO_ADDR ]] || { log "echo server did not start"; exit 2; }

declare -A ADDR=() METRICS=() CPU_PIDS=()
for pair in plain tls; do
  hubs_pair "$pair" "$([[ $pair == tls ]] && echo 1 || echo 0)"
  hubs_start "$TMP/hubs-$pair" || { log "hubs $pair: $HUB_ERR"; exit 2; }
  read -r port fm sm <<<"$("$CLIENT" freeport 3 | tr '\n' ' ')"
  hub_serve_yaml "$TMP/$pair-serve.yaml" "$ECHO_ADDR" "127.0.0.1:$sm" "${HUB_OPTIONS:-}"
  hub_front_yaml "$TMP/$pair-front.yaml" "127.0.0.1:$port" "127.0.0.1:$fm" "${HUB_OPTIONS:-}"
  spawn "$TMP/$pair-serve.log" "$SIDECAR_BIN" --config "$TMP/$pair-serve.yaml" --log-level warn
  serve=$SPAWNED_PID
  spawn "$TMP/$pair-front.log" "$SIDECAR_BIN" --config "$TMP/$pair-front.yaml" --log-level warn
  CPU_PIDS[$pair]="$SPAWNED_PID $serve ${HUB_PID[edge]}"
  hub_wait_roundtrip "127.0.0.1:$port" 15 || { tail_log "$TMP/$pair-front.log"; log "no round trip through the $pair hubs"; exit 2; }
  ADDR[$pair]=127.0.0.1:$port METRICS[$pair]=127.0.0.1:$fm
  log "pair $pair: front ${ADDR[$pair]}, hubs edge $HUB_E_URL, central $HUB_C_URL"
done

ticks() { local p; for p in "$@"; do awk '{ printf "%s ", $14 + $15 }' "/proc/$p/stat" 2>/dev/null || printf '0 '; done; }
stall_fields() { grep '^stall' "$1" | awk '{ for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
  printf "%s|%s|%s|%s|%s", v["rtts"], v["p50_us"], v["p99_us"], v["max_gap_ms"], v["ok"] }'; }
ROWS=()
for ((r = 1; r <= ROUNDS; r++)); do
  for pair in plain tls; do
    "$CLIENT" stall --connect "${ADDR[$pair]}" --seconds 2 --size 64 --timeout-ms 5000 --max-seconds 30 >"$TMP/idle.$pair.$r" 2>&1
    fl=$(wc -l <"$TMP/$pair-front.log")
    read -r -a t0 <<<"$(ticks ${CPU_PIDS[$pair]})"
    pids=""
    for ((b = 1; b <= BULKS; b++)); do
      spawn "$TMP/bulk.$pair.$r.$b" "$CLIENT" bulk --connect "${ADDR[$pair]}" --mb "$BULK_MB" --max-seconds 170
      pids+="$SPAWNED_PID "
    done
    first=${pids%% *}
    sleep 0.5
    (for ((i = 0; i < 3000; i++)); do
      alive "$first" || break
      curl -fsS -m 1 "http://${METRICS[$pair]}/metrics" 2>/dev/null | awk '/^twinhub_hub_state\{/ { s = s " " $1 "=" $2 } END { print s }'
      sleep 0.05
    done) >"$TMP/states.$pair.$r" &
    poller=$!
    "$CLIENT" stall --connect "${ADDR[$pair]}" --seconds "$SECS" --size 64 --timeout-ms 5000 --gap-log-ms 100 \
      --max-seconds $((SECS + 30)) >"$TMP/busy.$pair.$r" 2>&1
    for p in $pids; do wait "$p"; forget "$p"; done
    read -r -a t1 <<<"$(ticks ${CPU_PIDS[$pair]})"
    mb=$(awk -v n="$BULKS" -v m="$BULK_MB" 'BEGIN { print n * m * 1.048576 }')
    cpu=""
    for k in 0 1 2; do
      cpu+="$(awk -v a="${t0[k]}" -v b="${t1[k]}" -v hz="$(getconf CLK_TCK)" -v mb="$mb" 'BEGIN { printf "%.1f", (b - a) / hz * 1000 / mb }')|"
    done
    wait "$poller"
    mbps=$(cat "$TMP/bulk.$pair.$r".* | sed -n 's/.* mb_per_s=\([^ ]*\).*/\1/p' | awk '{ s += $1 } END { printf "%.1f", s }')
    notup=$(grep -c '=[01]' "$TMP/states.$pair.$r")
    polls=$(wc -l <"$TMP/states.$pair.$r")
    losses=$(tail -n +$((fl + 1)) "$TMP/$pair-front.log" | grep -cE 'hub [a-z]+: (up -> suspect|up -> down|suspect -> down|disconnected)')
    ROWS+=("$r|$pair|$(stall_fields "$TMP/idle.$pair.$r")|$(stall_fields "$TMP/busy.$pair.$r")|$mbps|$notup/$polls|$losses|${cpu%|}")
    log "round $r $pair: ${ROWS[-1]}"
  done
done

echo
echo "### twinhub hub_hol: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load at start $LOAD_START, end $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "64-byte sequential round trips on one session (idle: alone for 2 s; busy: for $SECS s while $BULKS bulk echo(es) of $BULK_MB MiB run through the same front); MB/s: the bulk sessions' sum${HUB_OPTIONS:+; hub_options $HUB_OPTIONS}."
echo
echo "| round | hubs | idle p50 µs | idle p99 µs | busy p50 µs | busy p99 µs | busy longest gap ms | bulk MB/s | polls with a hub not up | front's hub state losses | CPU ms/MB front | serving | edge hub |"
echo "| ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
for row in "${ROWS[@]}"; do
  IFS='|' read -r r pair _ i50 i99 _ _ _ b50 b99 bgap bok mbps notup losses cf cs ce <<<"$row"
  printf '| %s | %s | %s | %s | %s | %s | %s%s | %s | %s | %s | %s | %s | %s |\n' "$r" "$pair" "$i50" "$i99" "$b50" "$b99" "$bgap" \
    "$([[ $bok == 1 ]] || echo ' (client error)')" "$mbps" "$notup" "$losses" "$cf" "$cs" "$ce"
done
echo
echo "Versions: $("$SIDECAR_BIN" --version 2>&1 | head -n1); $(hubs_version)"
