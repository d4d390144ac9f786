#!/usr/bin/env bash
# bench/soak.sh: the soak of hub mode (issue 12). Mixed traffic runs through a front sidecar for
# DURATION seconds while the edge hub is killed or frozen every FAULT_EVERY seconds (alternately)
# and the front flips mode (hub <-> direct, by SIGHUP with the file's mode changed) every
# FLIP_EVERY seconds. The RSS and open file descriptors of every sidecar are sampled each second.
#
#   bench/soak.sh                     10 minutes (the issue's soak)
#   DURATION=120 bench/soak.sh        a short one (the targets over the second half)
#   OUT=soak.csv bench/soak.sh        also keep the samples (t_s,sidecar,rss_kb,fds)
#
# Layout (bench/hubs.sh): hubs central and edge (a leaf of central) on 127.0.0.1 and free ports;
# agent-sim A (ZeroMQ REP) behind the serving sidecar pc2.A; bench_echo_server behind pc2.Echo;
# the front sidecar mainpc.front with a front for each (direct addresses given, for direct mode).
#
# Traffic, each in a loop until the end:
#   zmq:   twinhub-zmq-load, 4 REQ clients, runs of 300 requests each (every reply's request_id
#          checked); the agent counts every request id it served, so a request served twice shows.
#   bulk:  bench_client bulk, 8 MiB echoed and compared byte for byte per connection.
#   churn: bench_client connrate, 5 s runs of connect/round trip/close, 4 at a time.
#
# Targets: RSS flat after warm-up (each sidecar grows < 1 MB over the last half of the run, for
# the 10-minute soak its last 5 minutes: the mean of the first and of the last 30 s of that
# window compared), every request answered once (zmq failed 0, agent duplicates 0, bulk and
# churn errors 0), no file descriptor growth (each sidecar's fds once traffic has stopped at the
# end <= its fds before any traffic + 2).
#
# Environment: BUILD_DIR (default <repo>/build), SKIP_BUILD=1, DURATION (600), FAULT_EVERY (60),
#   FREEZE_SECONDS (5), DOWN_SECONDS (5: how long a killed hub stays down), FLIP_EVERY (30),
#   FIRST_FAULT (FAULT_EVERY + FLIP_EVERY/2), TRAFFIC ("zmq bulk churn": any of them, to find
#   which one a growth comes with), LOG_LEVEL (warn), OUT, KEEP_TMP=1.
# Exit status: 0 every target met, 1 a target missed, 2 could not run.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/hubs.sh
source "$ROOT/bench/hubs.sh"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
DURATION=${DURATION:-600}
FAULT_EVERY=${FAULT_EVERY:-60}
FREEZE_SECONDS=${FREEZE_SECONDS:-5}
DOWN_SECONDS=${DOWN_SECONDS:-5}
FLIP_EVERY=${FLIP_EVERY:-30}
# The first fault lands mid-way through the second hub phase of the front (faults on a hub the
# front's new connections use), then one every FAULT_EVERY s.
FIRST_FAULT=${FIRST_FAULT:-$((FAULT_EVERY + FLIP_EVERY / 2))}
TRAFFIC=${TRAFFIC:-zmq bulk churn}
LOG_LEVEL=${LOG_LEVEL:-warn}
OUT=${OUT:-}

bench_init soak

ensure_built() {
  local bin=$BUILD_DIR/bin
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    bench_configure 2
    log "building in $BUILD_DIR"
    cmake --build "$BUILD_DIR" -j2 --target bench_client bench_echo_server twinhub-sidecar twinhub-agent-sim \
      twinhub-zmq-load >"$TMP/build.log" 2>&1 || { tail -n 30 "$TMP/build.log" >&2; log "build failed"; exit 2; }
  fi
  CLIENT=$bin/bench_client ECHO_BIN=$bin/bench_echo_server SIDECAR_BIN=$bin/twinhub-sidecar
  AGENT_BIN=$bin/twinhub-agent-sim LOAD_BIN=$bin/twinhub-zmq-load
  local b; for b in "$CLIENT" "$ECHO_BIN" "$SIDECAR_BIN" "$AGENT_BIN" "$LOAD_BIN"; do
    [[ -x $b ]] || { log "missing $b"; exit 2; }
  done
}

# wait_line FILE SED_EXPR PID: the first match of SED_EXPR (a sed -n s///p) in FILE, within 5 s.
wait_line() {
  local i v
  for ((i = 0; i < 100; i++)); do
    alive "$3" || break
    v=$(sed -n "$2" "$1" | head -n1)
    [[ -n $v ]] && { echo "$v"; return 0; }
    sleep 0.05
  done
  return 1
}

serve_yaml() {  # FILE ID SERVICE ADDR PROBE METRICS
  cat >"$1" <<EOF
sidecar: {machine: pc2, id: $2}
mode: hub
hubs: [{name: edge, url: $HUB_E_URL}, {name: central, url: $HUB_C_URL}]
serve: {service: $3, address: $4, probe: $5}
metrics: $6
EOF
}

front_yaml() {  # FILE MODE
  cat >"$1" <<EOF
sidecar: {id: mainpc.front, machine: mainpc}
mode: $2
hubs: [{name: edge, url: $HUB_E_URL}, {name: central, url: $HUB_C_URL}]
fronts:
  - {listen: $FRONT_A, service: A, direct: $AGENT_ADDR}
  - {listen: $FRONT_ECHO, service: Echo, direct: $ECHO_ADDR}
metrics: $FRONT_METRICS
EOF
}

setup() {
  spawn "$TMP/echo.log" "$ECHO_BIN" --listen 127.0.0.1:0
  ECHO_PID=$SPAWNED_PID
  ECHO_ADDR=$(wait_line "$TMP/echo.log" 's/^listening on //p' "$ECHO_PID") || { log "echo server did not start"; exit 2; }
  spawn "$TMP/agent.log" "$AGENT_BIN" --name A --port 0 --stats-file "$TMP/agent-stats.json"
  AGENT_PID=$SPAWNED_PID
  local line
  line=$(wait_line "$TMP/agent.log" 's/.*serving on \([^ ]*\) health \([^ ]*\).*/\1 \2/p' "$AGENT_PID") ||
    { log "agent-sim did not start"; exit 2; }
  read -r AGENT_ADDR AGENT_HEALTH <<<"$line"
  hubs_start "$TMP/hubs" || { log "$HUB_ERR"; exit 2; }
  local p1 p2 m1 m2 m3
  read -r p1 p2 m1 m2 m3 <<<"$("$CLIENT" freeport 5 | tr '\n' ' ')"
  FRONT_A=127.0.0.1:$p1 FRONT_ECHO=127.0.0.1:$p2 FRONT_METRICS=127.0.0.1:$m3
  serve_yaml "$TMP/serve-a.yaml" pc2.A A "$AGENT_ADDR" "{type: zmq, address: $AGENT_HEALTH, interval_ms: 500}" "127.0.0.1:$m1"
  serve_yaml "$TMP/serve-echo.yaml" pc2.Echo Echo "$ECHO_ADDR" "{type: tcp, address: $ECHO_ADDR, interval_ms: 500}" \
    "127.0.0.1:$m2"
  FRONT_MODE=hub
  front_yaml "$TMP/front.yaml" "$FRONT_MODE"
  declare -gA SIDECAR_PID=()
  local name
  for name in serve-a serve-echo front; do
    spawn "$TMP/$name.log" "$SIDECAR_BIN" --config "$TMP/$name.yaml" --log-level "$LOG_LEVEL"
    SIDECAR_PID[$name]=$SPAWNED_PID
  done
  hub_wait_roundtrip "$FRONT_ECHO" 15 || { tail_log "$TMP/front.log"; log "no round trip through the Echo front"; exit 2; }
  "$LOAD_BIN" --connect "$FRONT_A" --clients 1 --requests 3 --run-id warm >/dev/null 2>&1 ||
    { tail_log "$TMP/front.log"; tail_log "$TMP/serve-a.log"; log "no ZeroMQ round trip through the A front"; exit 2; }
  log "hubs central $HUB_C_URL, edge $HUB_E_URL; fronts A $FRONT_A -> $AGENT_ADDR, Echo $FRONT_ECHO -> $ECHO_ADDR"
}

# Traffic loops: each appends one result line per run to its file until $TMP/stop exists.
zmq_loop() {
  local i=0
  until [[ -e $TMP/stop ]]; do
    "$LOAD_BIN" --connect "$FRONT_A" --clients 4 --requests 300 --run-id "soak$i" >>"$TMP/zmq.out" 2>>"$TMP/zmq.err" ||
      echo "run soak$i exit $?" >>"$TMP/zmq.bad"
    i=$((i + 1))
  done
}
bulk_loop() {
  until [[ -e $TMP/stop ]]; do
    "$CLIENT" bulk --connect "$FRONT_ECHO" --mb 8 --max-seconds 60 >>"$TMP/bulk.out" 2>>"$TMP/bulk.err" ||
      echo "bulk exit $?" >>"$TMP/bulk.bad"
  done
}
churn_loop() {
  until [[ -e $TMP/stop ]]; do
    "$CLIENT" connrate --connect "$FRONT_ECHO" --seconds 5 --concurrency 4 --max-seconds 60 >>"$TMP/churn.out" \
      2>>"$TMP/churn.err" || echo "churn exit $?" >>"$TMP/churn.bad"
  done
}

sample() {  # T: one line per sidecar to $TMP/samples.csv
  local name pid rss fds
  for name in "${!SIDECAR_PID[@]}"; do
    pid=${SIDECAR_PID[$name]}
    rss=$(status_kb "$pid" VmRSS)
    fds=$(find "/proc/$pid/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l)
    echo "$1,$name,${rss:-0},$fds" >>"$TMP/samples.csv"
  done
}

# fault_start N: the N-th fault on the edge hub (odd: kill -9, even: SIGSTOP); fault_end undoes
# it (restart / SIGCONT) FAULT_LENGTH seconds later. Both run in the main shell (HUB_PID, SPAWNED).
fault_start() {
  if (($1 % 2 == 1)); then
    log "fault $1: kill -9 edge (down ${DOWN_SECONDS} s)"
    FAULT_KIND=kill FAULT_LENGTH=$DOWN_SECONDS
    kill -KILL "${HUB_PID[edge]}" 2>/dev/null; wait "${HUB_PID[edge]}" 2>/dev/null; forget "${HUB_PID[edge]}"
  else
    log "fault $1: SIGSTOP edge for ${FREEZE_SECONDS} s"
    FAULT_KIND=freeze FAULT_LENGTH=$FREEZE_SECONDS
    kill -STOP "${HUB_PID[edge]}"
  fi
}
fault_end() {
  if [[ $FAULT_KIND == kill ]]; then hub_start edge || log "edge did not restart: $HUB_ERR"; else kill -CONT "${HUB_PID[edge]}"; fi
  FAULT_KIND=
}

flip() {
  [[ $FRONT_MODE == hub ]] && FRONT_MODE=direct || FRONT_MODE=hub
  front_yaml "$TMP/front.yaml" "$FRONT_MODE"
  kill -HUP "${SIDECAR_PID[front]}"
  log "flip: front -> $FRONT_MODE"
}

# growth NAME FROM TO: mean RSS (kB) of the last 30 s before TO minus that of the first 30 s after FROM.
growth() {
  awk -F, -v n="$1" -v a="$2" -v b="$3" '$2 == n && $1 >= a && $1 < a + 30 { s1 += $3; c1++ }
    $2 == n && $1 > b - 30 && $1 <= b { s2 += $3; c2++ }
    END { if (c1 && c2) printf "%d", s2 / c2 - s1 / c1; else print "?" }' "$TMP/samples.csv"
}
fds_at() {  # NAME T: fds of NAME at the sample nearest T (-1: the idle sample before traffic)
  awk -F, -v n="$1" -v t="$2" '$2 == n { d = ($1 > t ? $1 - t : t - $1); if (best == "" || d < best) { best = d; v = $4 } }
    END { print v }' "$TMP/samples.csv"
}

ensure_built
setup
echo "t_s,sidecar,rss_kb,fds" >"$TMP/samples.csv"
sample -1  # idle, before any traffic: the file descriptor baseline
touch "$TMP/zmq.out" "$TMP/bulk.out" "$TMP/churn.out"
LOOPS=()
for kind in $TRAFFIC; do "${kind}_loop" & LOOPS+=($!); SPAWNED+=($!); done
start=$SECONDS
next_fault=$FIRST_FAULT next_flip=$FLIP_EVERY faults=0 flips=0 FAULT_KIND= fault_until=0
warm=$((DURATION / 2))  # the targets are judged over the second half
log "soak: ${DURATION} s, a fault every ${FAULT_EVERY} s, a flip every ${FLIP_EVERY} s"
while (($(( t = SECONDS - start )) < DURATION)); do
  sample "$t"
  if [[ -n $FAULT_KIND ]] && ((t >= fault_until)); then fault_end; fi
  if ((t >= next_fault)) && [[ -z $FAULT_KIND ]]; then
    faults=$((faults + 1)) next_fault=$((next_fault + FAULT_EVERY))
    fault_start "$faults"
    fault_until=$((t + FAULT_LENGTH))
  fi
  if ((t >= next_flip)); then flips=$((flips + 1)); next_flip=$((next_flip + FLIP_EVERY)); flip; fi
  for name in "${!SIDECAR_PID[@]}"; do alive "${SIDECAR_PID[$name]}" || { log "sidecar $name died"; exit 1; }; done
  sleep 1
done
[[ -n $FAULT_KIND ]] && fault_end
touch "$TMP/stop"
log "stopping traffic"
wait_deadline=$((SECONDS + 90))
while kill -0 "${LOOPS[@]}" 2>/dev/null && ((SECONDS < wait_deadline)); do sleep 0.2; done
for pid in "${LOOPS[@]}"; do kill -0 "$pid" 2>/dev/null && log "a traffic loop did not finish within 90 s"; done
sleep 3  # closed connections reach the sidecars
end_t=$((SECONDS - start))
sample "$end_t"

# ------------------------------------------------------------------------------------- results
zmq_sent=$(awk '{ s += $2 } END { print s + 0 }' "$TMP/zmq.out")
zmq_answered=$(awk '{ s += $4 } END { print s + 0 }' "$TMP/zmq.out")
zmq_failed=$(awk '{ s += $6 } END { print s + 0 }' "$TMP/zmq.out")
kill -TERM "$AGENT_PID"; wait "$AGENT_PID" 2>/dev/null; forget "$AGENT_PID"
dups=$(sed -n 's/.*"duplicates":\([0-9]*\).*/\1/p' "$TMP/agent-stats.json" 2>/dev/null)
served=$(sed -n 's/.*"unique_request_ids":\([0-9]*\).*/\1/p' "$TMP/agent-stats.json" 2>/dev/null)
bulk_runs=$(grep -c '^bulk ' "$TMP/bulk.out")
bulk_bad=$(cat "$TMP/bulk.bad" 2>/dev/null | wc -l)
churn_conns=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^conns=/) { sub("conns=", "", $i); s += $i } } END { print s + 0 }' "$TMP/churn.out")
churn_errors=$(awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^errors=/) { sub("errors=", "", $i); s += $i } } END { print s + 0 }' "$TMP/churn.out")
churn_bad=$(cat "$TMP/churn.bad" 2>/dev/null | wc -l)

ok=1
echo
echo "| soak | ${DURATION} s, ${faults} hub faults, ${flips} flips |"
echo "| --- | --- |"
echo "| zmq requests sent / answered / failed | $zmq_sent / $zmq_answered / $zmq_failed |"
echo "| agent: unique request ids served / served twice | ${served:-?} / ${dups:-?} |"
echo "| bulk runs (8 MiB, byte-exact) / failed | $bulk_runs / $bulk_bad |"
echo "| churn connections / errors / failed runs | $churn_conns / $churn_errors / $churn_bad |"
[[ $zmq_failed == 0 && ${dups:-x} == 0 && $bulk_bad == 0 && $churn_errors == 0 && $churn_bad == 0 ]] || ok=0
[[ $zmq_answered == "$zmq_sent" ]] || ok=0
echo
echo "| sidecar | RSS at ${warm} s (MB) | RSS at end (MB) | growth over ${warm}..${DURATION} s (kB, target < 1024) | fds idle before / at ${warm} s / idle at end |"
echo "| --- | --- | --- | --- | --- |"
for name in front serve-a serve-echo; do
  g=$(growth "$name" "$warm" "$DURATION")
  rss_w=$(awk -F, -v n="$name" -v t="$warm" '$2 == n && $1 >= t { printf "%.1f", $3 / 1024; exit }' "$TMP/samples.csv")
  rss_e=$(awk -F, -v n="$name" '$2 == n { v = $3 } END { printf "%.1f", v / 1024 }' "$TMP/samples.csv")
  f_0=$(fds_at "$name" -1) f_w=$(fds_at "$name" "$warm") f_e=$(fds_at "$name" "$end_t")
  echo "| $name | $rss_w | $rss_e | $g | $f_0 / $f_w / $f_e |"
  [[ $g != "?" && $g -lt 1024 ]] || ok=0
  [[ -n $f_e && -n $f_0 && $f_e -le $((f_0 + 2)) ]] || ok=0
done
[[ -n $OUT ]] && cp "$TMP/samples.csv" "$OUT" && log "samples in $OUT"
for f in zmq.bad zmq.err bulk.bad bulk.err churn.bad churn.err; do
  [[ -s $TMP/$f ]] && { log "$f:"; tail_log "$TMP/$f" 5; }
done
if ((ok)); then log "every target met"; exit 0; fi
log "a target was missed (see the tables)"; exit 1
