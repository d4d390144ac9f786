#!/usr/bin/env bash
# bench/failover.sh: the failover trial of hub mode. A client does sequential 64-byte round trips
# through a front sidecar while the hub that carries its session is killed (kill -9) or frozen
# (SIGSTOP); the sessions must move to the other hub quickly, and not one byte may be lost,
# duplicated or changed. Prints markdown tables: the summary (p50/p99 of detection and stall per
# fault), then every run.
#
#   bench/failover.sh                20 runs per fault (kill, freeze): ~8 minutes
#   QUICK=1 bench/failover.sh        3 runs per fault, < 2 minutes
#   OUT=failover.json bench/failover.sh   also write every run as JSON
#
# Layout (bench/hubs.sh, as in bench/run.sh's twinhub-hub row): nats-servers central and edge (a
# leaf of central) on 127.0.0.1 and free ports; a serving sidecar pc2.Echo in front of
# bench_echo_server; a front sidecar mainpc.front where the client connects. Both sidecars list the
# hubs edge, central, so edge (the primary) carries the session. They are started once and reused:
# a killed edge is started again and a frozen one thawed after each run.
#
# One run:
#   1. settle: wait (SETTLE_TIMEOUT s) until edge is up again, has rejoined central as a leaf, and both
#      sidecars report edge as their up and active hub on /metrics (twinhub_hub_active{hub="edge"} 1;
#      after a failure the sidecars fail back only after failback_hold_ms, 5 s by default), then a
#      round trip through the front works.
#   2. start `bench_client stall` for CLIENT_SECONDS (default 3): sequential timestamped 64-byte round
#      trips on one connection, every reply checked byte for byte; it reports the longest gap between
#      consecutive replies and any lost, duplicated or wrong reply, or stray bytes after the last one.
#   3. after FAULT_AT s (default 1), check that the front's active hub is edge, then kill -9 (fault
#      "kill") or SIGSTOP (fault "freeze") the edge nats-server; the freeze lasts until the client is done.
#   4. detection = the kill/stop (wall clock, ns) to the front's log line "sessions now go through hub
#      central (was edge)" (ms timestamps); also given: the same for the serving sidecar, and the
#      front's twinhub_hub_detection_seconds (the hub's last sign of life to the decision).
#      stall = the client's longest gap between replies (the fault falls inside it unless noted).
#   5. restore: start edge again (kill) or SIGCONT it (freeze).
#   A run is bad if the client saw any lost, duplicated or corrupt byte or a closed connection.
#   Loop turn: both sidecars' gauge twinhub_loop_turn_longest_seconds (the longest single turn of
#   the sidecar's event loop, its busy time, since the sidecar started; largest over label sets, if
#   any) is read just before the client starts and again with the after-run metrics (before the
#   restore); each run reports the after value of the front and of the serving sidecar, in ms,
#   marked "*" when it grew during the run. As a maximum since start, a value set at start-up or
#   between runs (restore, fail-back) carries into later runs: the value before the first run and
#   any growth between runs are given in notes; after the last run (restored, settled) both are read
#   once more, and "longest loop turn in any trial" is the largest of all after values and that
#   last reading. A sidecar without the gauge reads "n/a" (not a failure).
#
# Targets: detection p99 < 500 ms for kill and for freeze; stall p99 < 1 s; no bad run; the loop's
# longest turn < 50 ms in every run (issue 13).
#
# Environment: BUILD_DIR (default <repo>/build), SKIP_BUILD=1, QUICK=1, RUNS (per fault; default 20,
#   QUICK 3), FAULTS ("kill freeze"), CLIENT_SECONDS, FAULT_AT, SETTLE_TIMEOUT (30), LOG_LEVEL (the
#   sidecars' log level, default warn; debug to investigate), HUB_OPTIONS (a YAML flow map added to
#   both sidecars as hub_options, e.g. "{failback_hold_ms: 1000}"), MAX_SECONDS (whole trial, default
#   1500: stops early with a note), NATS_BIN, SIDECAR_BIN, OUT=file.json, KEEP_TMP=1.
# Exit status: 0 when it ran and every run was clean, 1 when some run was bad or failed to set up,
# 2 when it could not run at all (nats-server missing is a clean skip: a note and exit 0).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/hubs.sh
source "$ROOT/bench/hubs.sh"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
QUICK=${QUICK:-0}
if [[ $QUICK == 1 ]]; then RUNS=${RUNS:-3}; else RUNS=${RUNS:-20}; fi
FAULTS=${FAULTS:-kill freeze}
CLIENT_SECONDS=${CLIENT_SECONDS:-3}
GAP_LOG_MS=${GAP_LOG_MS:-2}
FAULT_AT=${FAULT_AT:-1}
SETTLE_TIMEOUT=${SETTLE_TIMEOUT:-30}
LOG_LEVEL=${LOG_LEVEL:-warn}
HUB_OPTIONS=${HUB_OPTIONS:-}
MAX_SECONDS=${MAX_SECONDS:-1500}
OUT=${OUT:-}

# ------------------------------------------------------------------------------ processes, cleanup
bench_init failover

now_ms() { date +%s%3N; }

# ------------------------------------------------------------------------------------------ build
ensure_built() {
  local bin=$BUILD_DIR/bin
  if [[ ${SKIP_BUILD:-0} != 1 ]]; then
    bench_configure 2
    log "building bench_client, bench_echo_server, twinhub-sidecar in $BUILD_DIR"
    cmake --build "$BUILD_DIR" -j"${JOBS:-2}" --target bench_client bench_echo_server twinhub-sidecar >"$TMP/build.log" 2>&1 ||
      { tail -n 30 "$TMP/build.log" >&2; log "build failed"; exit 2; }
  fi
  CLIENT=$bin/bench_client ECHO_BIN=$bin/bench_echo_server SIDECAR_BIN=${SIDECAR_BIN:-$bin/twinhub-sidecar}
  local b; for b in "$CLIENT" "$ECHO_BIN" "$SIDECAR_BIN"; do [[ -x $b ]] || { log "missing $b"; exit 2; }; done
}

# ------------------------------------------------------------------------------------------ setup
setup() {
  spawn "$TMP/echo.log" "$ECHO_BIN" --listen 127.0.0.1:0
  ECHO_PID=$SPAWNED_PID
  local i
  for ((i = 0; i < 100; i++)); do
    alive "$ECHO_PID" || break
    ECHO_ADDR=$(sed -n 's/^listening on //p' "$TMP/echo.log")
    [[ -n $ECHO_ADDR ]] && break
    sleep 0.05
  done
  [[ -n $ECHO_ADDR ]] || { tail_log "$TMP/echo.log"; log "echo server did not start"; exit 2; }
  hubs_start "$TMP/hubs" || { log "$HUB_ERR"; exit 2; }
  log "hubs: central $HUB_C_URL (pid ${HUB_PID[central]}), edge $HUB_E_URL (pid ${HUB_PID[edge]}, leaf of central)"
  local port fm sm
  read -r port fm sm <<<"$("$CLIENT" freeport 3 | tr '\n' ' ')"
  FRONT_ADDR=127.0.0.1:$port FRONT_METRICS=127.0.0.1:$fm SERVE_METRICS=127.0.0.1:$sm
  hub_serve_yaml "$TMP/serve.yaml" "$ECHO_ADDR" "$SERVE_METRICS" "$HUB_OPTIONS"
  hub_front_yaml "$TMP/front.yaml" "$FRONT_ADDR" "$FRONT_METRICS" "$HUB_OPTIONS"
  SERVE_LOG=$TMP/serve.log FRONT_LOG=$TMP/front.log
  spawn "$SERVE_LOG" "$SIDECAR_BIN" --config "$TMP/serve.yaml" --log-level "$LOG_LEVEL"
  SERVE_PID=$SPAWNED_PID
  spawn "$FRONT_LOG" "$SIDECAR_BIN" --config "$TMP/front.yaml" --log-level "$LOG_LEVEL"
  FRONT_PID=$SPAWNED_PID
  if ! hub_wait_roundtrip "$FRONT_ADDR" 15; then
    tail_log "$SERVE_LOG"; tail_log "$FRONT_LOG"; log "no round trip through the front within 15 s"; exit 2
  fi
  log "sidecars: front $FRONT_ADDR (pid $FRONT_PID, metrics $FRONT_METRICS), serving (pid $SERVE_PID, metrics $SERVE_METRICS) -> echo $ECHO_ADDR"
}

# settled: edge up and joined, and both sidecars carry their sessions through edge again.
settled() {
  alive "${HUB_PID[edge]}" || return 1
  hubs_leaf_up || return 1
  local m f
  for m in "$FRONT_METRICS" "$SERVE_METRICS"; do
    f=$TMP/settle.prom
    metrics_get "$m" "$f" || return 1
    [[ $(metric "$f" 'twinhub_hub_active{hub="edge"}') == 1 ]] || return 1
    [[ $(metric "$f" 'twinhub_hub_state{hub="edge"}') == 2 ]] || return 1
    [[ $(metric "$f" 'twinhub_hub_state{hub="central"}') == 2 ]] || return 1
  done
}

settle() {
  local t0=$SECONDS deadline=$((SECONDS + SETTLE_TIMEOUT))
  until settled; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
  hub_wait_roundtrip "$FRONT_ADDR" 5 || return 1
  SETTLE_S=$((SECONDS - t0))
}

# log_switch_ms LOGFILE FROM_LINE: ms since the epoch of the first "sessions now go through hub
# central (was edge)" after line FROM_LINE (empty if none yet).
log_switch_ms() {
  local line ts
  line=$(tail -n +"$(($2 + 1))" "$1" | grep -m1 'sessions now go through hub central (was edge)') || return 0
  ts=${line%% *}
  date -d "${ts/T/ }" +%s%3N 2>/dev/null
}

snapshot() {  # snapshot PREFIX: front and serving metrics into $TMP/PREFIX.{front,serve}.prom
  metrics_get "$FRONT_METRICS" "$TMP/$1.front.prom" || : >"$TMP/$1.front.prom"
  metrics_get "$SERVE_METRICS" "$TMP/$1.serve.prom" || : >"$TMP/$1.serve.prom"
}
delta() {  # delta SIDE NAME: after - before, summed over labels
  awk -v a="$(metric_sum "$TMP/after.$1.prom" "$2")" -v b="$(metric_sum "$TMP/before.$1.prom" "$2")" 'BEGIN { printf "%g", a - b }'
}

# ----------------------------------------------------------------------------------------- a run
RUN_ROWS=()   # "fault run settle_s det_front det_serve det_metric stall stall_at_fault rtts p99 ok resent dropped recovery problem lt_front_before lt_front lt_serve_before lt_serve"
BAD=0 SETUP_FAILED=0
LOOP_TURN=twinhub_loop_turn_longest_seconds LOOP_TURN_MAX_MS=50
LT_PREV_FRONT="" LT_PREV_SERVE="" LT_FIRST=""
# loop_turn_ms FILE: the sidecar's longest loop turn in ms from a /metrics snapshot, "n/a" without the gauge.
loop_turn_ms() {
  local v; v=$(metric_max "$1" "$LOOP_TURN")
  [[ -n $v ]] && awk -v s="$v" 'BEGIN { printf "%.1f", s * 1000 }' || echo n/a
}
lt_ms() { [[ $1 == n/a ]] && echo n/a || echo "$1 ms"; }  # lt_ms VALUE: "VALUE ms", or n/a

one_run() {
  local fault=$1 i=$2 cpid out=$TMP/run.$1.$2.out t_fault_ns t_fault_ms fl sl active
  if ! settle; then
    SETUP_FAILED=$((SETUP_FAILED + 1))
    note "$fault run $i: not settled within $SETTLE_TIMEOUT s (edge pid ${HUB_PID[edge]} alive: $(alive "${HUB_PID[edge]}" && echo yes || echo no), leaf: $(hubs_leaf_up && echo up || echo down)); run skipped"
    tail_log "$FRONT_LOG" 3
    restore_edge "$fault"
    return 0
  fi
  snapshot before
  local lt_fb lt_sb lt_f lt_s
  lt_fb=$(loop_turn_ms "$TMP/before.front.prom") lt_sb=$(loop_turn_ms "$TMP/before.serve.prom")
  [[ -n $LT_FIRST ]] || LT_FIRST="front $(lt_ms "$lt_fb"), serving $(lt_ms "$lt_sb")" LT_FIRST_NUM=$(lt_max "$lt_fb" "$lt_sb")
  # A maximum since start that grew between two runs: a long turn during the restore or fail-back.
  local side prev now
  for side in front serve; do
    [[ $side == front ]] && prev=$LT_PREV_FRONT now=$lt_fb || prev=$LT_PREV_SERVE now=$lt_sb
    [[ $prev =~ ^[0-9.]+$ && $now =~ ^[0-9.]+$ ]] && awk -v a="$now" -v b="$prev" 'BEGIN { exit !(a > b) }' &&
      note "$fault run $i: the $([[ $side == front ]] && echo front || echo serving) sidecar's longest loop turn grew between the previous run and this one (restore, fail-back, settle): $prev -> $now ms"
  done
  fl=$(wc -l <"$FRONT_LOG") sl=$(wc -l <"$SERVE_LOG")
  spawn "$out" "$CLIENT" stall --connect "$FRONT_ADDR" --seconds "$CLIENT_SECONDS" --size 64 --timeout-ms 5000 \
    --gap-log-ms "$GAP_LOG_MS" --max-seconds $((CLIENT_SECONDS + 20))
  cpid=$SPAWNED_PID
  sleep "$FAULT_AT"
  metrics_get "$FRONT_METRICS" "$TMP/active.prom"
  active=$(metric "$TMP/active.prom" 'twinhub_hub_active{hub="edge"}')
  [[ $active == 1 ]] || note "$fault run $i: the front's active hub was not edge just before the fault"
  t_fault_ns=$(date +%s%N)
  if [[ $fault == kill ]]; then kill -KILL "${HUB_PID[edge]}"; else kill -STOP "${HUB_PID[edge]}"; fi
  t_fault_ms=$((t_fault_ns / 1000000))
  wait "$cpid" 2>/dev/null
  forget "$cpid"
  # The switch is logged long before the client ends; allow a little more for a slow one.
  local det_front="" det_serve="" k
  for ((k = 0; k < 30; k++)); do
    det_front=$(log_switch_ms "$FRONT_LOG" "$fl") det_serve=$(log_switch_ms "$SERVE_LOG" "$sl")
    [[ -n $det_front && -n $det_serve ]] && break
    sleep 0.1
  done
  [[ -z $det_front ]] || det_front=$(awk -v a="$det_front" -v b="$t_fault_ns" 'BEGIN { printf "%.0f", a - b / 1e6 }')
  [[ -z $det_serve ]] || det_serve=$(awk -v a="$det_serve" -v b="$t_fault_ns" 'BEGIN { printf "%.0f", a - b / 1e6 }')
  snapshot after
  lt_f=$(loop_turn_ms "$TMP/after.front.prom") lt_s=$(loop_turn_ms "$TMP/after.serve.prom")
  LT_PREV_FRONT=$lt_f LT_PREV_SERVE=$lt_s
  local dc ds det_metric="" resent dropped
  dc=$(delta front twinhub_hub_detection_seconds_count) ds=$(delta front twinhub_hub_detection_seconds_sum)
  [[ $dc == 0 ]] || det_metric=$(awk -v s="$ds" -v c="$dc" 'BEGIN { printf "%.0f", s / c * 1000 }')
  resent=$(awk -v a="$(delta front twinhub_session_resent_frames_total)" -v b="$(delta serve twinhub_session_resent_frames_total)" 'BEGIN { print a + b }')
  dropped=$(awk -v a="$(delta front twinhub_frames_dropped_total)" -v b="$(delta serve twinhub_frames_dropped_total)" 'BEGIN { print a + b }')
  restore_edge "$fault"

  local line ok stall at_fault rtts p99 problem=""
  line=$(grep '^stall ' "$out")
  ok=$(kv "$line" ok) stall=$(kv "$line" max_gap_ms) rtts=$(kv "$line" rtts) p99=$(kv "$line" p99_us)
  # The gap between replies that the fault fell into (only gaps >= GAP_LOG_MS are logged).
  at_fault=$(awk -v t="$t_fault_ms" -v min="$GAP_LOG_MS" '
    /^gap / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
              if (v["start_ms"] <= t + 1 && t <= v["end_ms"] + 1) g = v["ms"] }
    END { print (g == "" ? "<" min : g) }' "$out")
  # Recovery: the fault to the end of the last gap of >= 50 ms that began within 1 s of it (a
  # session can stall twice when its two sidecars switch at different times: first until the
  # serving side re-sends through central, then until the front does).
  local recovery
  recovery=$(awk -v t="$t_fault_ms" -v min="$GAP_LOG_MS" '
    /^gap / { for (i = 2; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] }
              if (v["end_ms"] + 1 >= t && v["start_ms"] <= t + 1000 && (v["ms"] >= 50 || v["start_ms"] <= t + 1)) r = v["end_ms"] - t }
    END { print (r == "" ? "<" min : r) }' "$out")
  if [[ $ok != 1 ]]; then
    BAD=$((BAD + 1))
    problem=$(grep -m1 'bench_client' "$out" | sed 's/^bench_client: //')
    [[ -n $line ]] || problem="client gave no result: $(tail -n1 "$out")"
    note "$fault run $i: BAD: ${problem:-see $out} (front log lines $((fl + 1))-, serving log lines $((sl + 1))-)"
    cp "$FRONT_LOG" "$TMP/bad.$fault.$i.front.log"; cp "$SERVE_LOG" "$TMP/bad.$fault.$i.serve.log"
    KEEP_TMP=1
  fi
  [[ -n $det_front ]] || note "$fault run $i: the front logged no switch to central within 3 s after the client ended"
  RUN_ROWS+=("$fault|$i|$SETTLE_S|${det_front:--}|${det_serve:--}|${det_metric:--}|${stall:--}|$at_fault|${rtts:--}|${p99:--}|${ok:-0}|$resent|$dropped|$recovery|${problem//|//}|$lt_fb|$lt_f|$lt_sb|$lt_s")
  log "$fault $i/$RUNS: detection front ${det_front:-?} ms, serving ${det_serve:-?} ms, metric ${det_metric:--} ms; stall ${stall:-?} ms, at the fault $at_fault ms, recovery $recovery ms; rtts ${rtts:-?}; resent $resent, dropped $dropped; longest loop turn front $(lt_ms "$lt_f") (before $(lt_ms "$lt_fb")), serving $(lt_ms "$lt_s") (before $(lt_ms "$lt_sb")); $([[ $ok == 1 ]] && echo clean || echo BAD)"
  alive "$FRONT_PID" "$SERVE_PID" || { note "a sidecar exited during $fault run $i"; tail_log "$FRONT_LOG"; tail_log "$SERVE_LOG"; return 1; }
}

restore_edge() {
  local pid=${HUB_PID[edge]}
  if [[ $1 == kill ]]; then
    if alive "$pid"; then kill -CONT "$pid" 2>/dev/null; fi  # only if the run never got to the fault
    if ! alive "$pid"; then
      wait "$pid" 2>/dev/null
      forget "$pid"
      hub_start edge || note "restarting edge: $HUB_ERR"
    fi
  else
    kill -CONT "$pid" 2>/dev/null
  fi
}

# -------------------------------------------------------------------------------------- reporting
# pct Q VALUES...: nearest-rank percentile (as bench_client: index round(q * (n - 1))).
pct() {
  local q=$1; shift
  printf '%s\n' "$@" | grep -E '^-?[0-9.]+$' | sort -g |
    awk -v q="$q" '{ a[NR] = $1 } END { if (NR == 0) { print "-"; exit } i = int(q * (NR - 1) + 0.5) + 1; print a[i] }'
}
col() {  # col FAULT FIELD_INDEX: that field of every run of FAULT
  local r f
  for r in "${RUN_ROWS[@]}"; do
    IFS='|' read -r -a f <<<"$r"
    [[ ${f[0]} == "$1" ]] && echo "${f[$2]}"
  done
}
col_all() { local fault; for fault in $FAULTS; do col "$fault" "$1"; done; }  # col_all FIELD_INDEX: every run's
verdict() {  # verdict VALUE LIMIT
  [[ $1 =~ ^-?[0-9.]+$ ]] || { echo "?"; return; }
  awk -v v="$1" -v l="$2" 'BEGIN { print (v < l ? "met" : "NOT met") }'
}
# lt_cell BEFORE AFTER: a run's loop-turn value, "*" when it grew during the run.
lt_cell() {
  [[ $2 =~ ^[0-9.]+$ ]] || { printf '%s' "${2:-n/a}"; return; }
  printf '%s%s' "$2" "$([[ $1 =~ ^[0-9.]+$ ]] && awk -v a="$2" -v b="$1" 'BEGIN { exit !(a > b) }' && echo '*')"
}
# lt_max VALUES...: the largest numeric value, "n/a" when there is none.
lt_max() { local m; m=$(pct 1 "$@"); [[ $m == - ]] && echo n/a || echo "$m"; }

print_tables() {
  local fault n bad
  echo
  echo "### twinhub failover trial: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores, load at start $LOAD_START$([[ $QUICK == 1 ]] && echo ', QUICK')"
  echo
  echo "$RUNS runs per fault; client: sequential 64-byte round trips for $CLIENT_SECONDS s, the fault at $FAULT_AT s; the carrying hub is edge (the primary of both sidecars). Detection: fault to the front's log line \"sessions now go through hub central\". Stall: the client's longest gap between consecutive replies in the run; stall at the fault: the gap the fault fell into (gaps under $GAP_LOG_MS ms are not logged). Sidecar log level $LOG_LEVEL${HUB_OPTIONS:+, hub_options $HUB_OPTIONS}."
  echo
  echo "| fault | runs | detection p50 ms | detection p99 ms | detection max ms | serving side p50 / p99 ms | metric p50 / p99 ms | stall p50 ms | stall p99 ms | stall max ms | stall at the fault p50 / p99 ms | recovery p50 / p99 ms | runs with lost/dup/corrupt bytes | longest loop turn front / serving ms |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  for fault in $FAULTS; do
    mapfile -t det < <(col "$fault" 3)
    mapfile -t dets < <(col "$fault" 4)
    mapfile -t detm < <(col "$fault" 5)
    mapfile -t st < <(col "$fault" 6)
    mapfile -t sf < <(col "$fault" 7 | sed "s/^<.*/0/")
    mapfile -t rc < <(col "$fault" 13 | sed "s/^<.*/0/")
    mapfile -t oks < <(col "$fault" 10)
    mapfile -t ltf < <(col "$fault" 16)
    mapfile -t lts < <(col "$fault" 18)
    n=${#oks[@]} bad=0
    local o; for o in "${oks[@]}"; do [[ $o == 1 ]] || bad=$((bad + 1)); done
    printf '| %s | %s | %s | %s | %s | %s / %s | %s / %s | %s | %s | %s | %s / %s | %s / %s | %s | %s / %s |\n' "$fault$([[ $fault == freeze ]] && echo ' (SIGSTOP)' || echo ' (-9)')" "$n" \
      "$(pct 0.5 "${det[@]}")" "$(pct 0.99 "${det[@]}")" "$(pct 1 "${det[@]}")" \
      "$(pct 0.5 "${dets[@]}")" "$(pct 0.99 "${dets[@]}")" "$(pct 0.5 "${detm[@]}")" "$(pct 0.99 "${detm[@]}")" \
      "$(pct 0.5 "${st[@]}")" "$(pct 0.99 "${st[@]}")" "$(pct 1 "${st[@]}")" \
      "$(pct 0.5 "${sf[@]}" | sed "s/^0$/<$GAP_LOG_MS/")" "$(pct 0.99 "${sf[@]}" | sed "s/^0$/<$GAP_LOG_MS/")" \
      "$(pct 0.5 "${rc[@]}" | sed "s/^0$/<$GAP_LOG_MS/")" "$(pct 0.99 "${rc[@]}" | sed "s/^0$/<$GAP_LOG_MS/")" "$bad" \
      "$(lt_max "${ltf[@]}")" "$(lt_max "${lts[@]}")"
    TARGET_DET[$fault]=$(pct 0.99 "${det[@]}") TARGET_STALL[$fault]=$(pct 0.99 "${st[@]}")
  done
  # The loop's longest turn (issue 13): the after value of every run, front and serving.
  local lt_all
  # shellcheck disable=SC2046  # one word per run
  lt_all=$(lt_max $(col_all 16) $(col_all 18) ${LT_FINAL_NUM:-})
  echo
  echo "longest loop turn in any trial: $(lt_ms "$lt_all") (target < $LOOP_TURN_MAX_MS ms)$([[ $lt_all == n/a ]] && echo ": the sidecars do not export $LOOP_TURN" || echo ": $(verdict "$lt_all" "$LOOP_TURN_MAX_MS")") (the largest of every run's after values and of a last reading after the last restore and fail-back: ${LT_FINAL:-n/a}; a maximum since start, so it includes the value before the first run (start-up, first settle): ${LT_FIRST:-n/a})."
  LT_ALL=$lt_all
  if [[ ${LT_FIRST_NUM:-n/a} != n/a && $(verdict "$LT_FIRST_NUM" "$LOOP_TURN_MAX_MS") != met ]]; then
    echo "(before the first run the gauge already read $LT_FIRST_NUM ms, at or over the target: start-up, not a trial, may have set it; the * marks show the runs in which it grew)"
  fi
  echo
  echo "Targets:"
  echo
  echo "| target | value | |"
  echo "| --- | ---: | --- |"
  for fault in $FAULTS; do
    echo "| detection p99 < 500 ms, $fault | ${TARGET_DET[$fault]} ms | $(verdict "${TARGET_DET[$fault]}" 500) |"
  done
  for fault in $FAULTS; do
    echo "| stall p99 < 1000 ms, $fault | ${TARGET_STALL[$fault]} ms | $(verdict "${TARGET_STALL[$fault]}" 1000) |"
  done
  echo "| runs with lost, duplicated or corrupt bytes = 0 | $BAD | $([[ $BAD == 0 ]] && echo met || echo 'NOT met') |"
  echo "| loop's longest turn < $LOOP_TURN_MAX_MS ms in every run (front and serving, restores included) | $(lt_ms "$LT_ALL") | $([[ $LT_ALL == n/a ]] && echo "n/a (no $LOOP_TURN)" || verdict "$LT_ALL" "$LOOP_TURN_MAX_MS") |"
  ((SETUP_FAILED == 0)) || echo "| runs that could not be set up | $SETUP_FAILED | (not counted above) |"
  echo
  echo "Every run (detection in ms from the fault: front, serving sidecar, front's twinhub_hub_detection_seconds; stall ms (longest gap); the gap the fault fell into, ms; recovery: the fault to the end of the last gap >= 50 ms that began within 1 s of it, ms; round trips; client p99 µs; frames re-sent and dropped (both sidecars, from /metrics); settle s before the run; the loop's longest turn since start after the run, front and serving, ms, * = it grew during the run):"
  echo
  echo "| fault | run | det front | det serving | det metric | stall | at fault | recovery | rtts | p99 µs | re-sent | dropped | settle s | loop turn front ms | loop turn serving ms | result |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |"
  local r f
  for r in "${RUN_ROWS[@]}"; do
    IFS='|' read -r -a f <<<"$r"
    printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "${f[0]}" "${f[1]}" "${f[3]}" "${f[4]}" "${f[5]}" \
      "${f[6]}" "${f[7]}" "${f[13]}" "${f[8]}" "${f[9]}" "${f[11]}" "${f[12]}" "${f[2]}" "$(lt_cell "${f[15]:-}" "${f[16]:-}")" \
      "$(lt_cell "${f[17]:-}" "${f[18]:-}")" "$([[ ${f[10]} == 1 ]] && echo clean || echo "BAD: ${f[14]:-}")"
  done
  if ((${#NOTES[@]})); then
    echo
    echo "Notes:"
    local x; for x in "${NOTES[@]}"; do echo "- ${x//$'\n'/ }"; done
  fi
  echo
  echo "Versions: $("$SIDECAR_BIN" --version 2>&1 | head -n1); $(hubs_version)"
}

write_json() {
  local r f first=1
  {
    printf '{"meta": {"date": %s, "cores": %s, "load_at_start": %s, "runs_per_fault": %s, "client_seconds": %s, "fault_at_s": %s, "log_level": %s, "hub_options": %s, "bad_runs": %s, "setup_failed": %s},\n "runs": [\n' \
      "$(jstr "$(date -u +%Y-%m-%dT%H:%M:%SZ)")" "$(nproc)" "$(jstr "$LOAD_START")" "$RUNS" "$CLIENT_SECONDS" "$FAULT_AT" \
      "$(jstr "$LOG_LEVEL")" "$(jstr "$HUB_OPTIONS")" "$BAD" "$SETUP_FAILED"
    for r in "${RUN_ROWS[@]}"; do
      IFS='|' read -r -a f <<<"$r"
      ((first)) || printf ',\n'; first=0
      printf '  {"fault": %s, "run": %s, "settle_s": %s, "detection_ms": {"front": %s, "serving": %s, "metric": %s}, "stall_ms": %s, "stall_at_fault_ms": %s, "rtts": %s, "p99_us": %s, "clean": %s, "resent_frames": %s, "dropped_frames": %s, "recovery_ms": %s, "problem": %s, "loop_turn_longest_ms": {"front_before": %s, "front": %s, "serving_before": %s, "serving": %s}}' \
        "$(jstr "${f[0]}")" "${f[1]}" "$(jnum "${f[2]}")" "$(jnum "${f[3]}")" "$(jnum "${f[4]}")" "$(jnum "${f[5]}")" "$(jnum "${f[6]}")" \
        "$(jnum "${f[7]}")" "$(jnum "${f[8]}")" "$(jnum "${f[9]}")" \
        "$([[ ${f[10]} == 1 ]] && echo true || echo false)" "$(jnum "${f[11]}")" "$(jnum "${f[12]}")" "$(jnum "${f[13]}")" "$(jstr "${f[14]:-}")" \
        "$(jnum "${f[15]:-}")" "$(jnum "${f[16]:-}")" "$(jnum "${f[17]:-}")" "$(jnum "${f[18]:-}")"
    done
    printf '\n ],\n "loop_turn_longest_ms": {"any_run": %s, "target_max_ms": %s, "met": %s, "after_last_restore": %s}}\n' \
      "$(jnum "${LT_ALL:-}")" "$LOOP_TURN_MAX_MS" \
      "$([[ ${LT_ALL:-n/a} == n/a ]] && echo null || { [[ $(verdict "$LT_ALL" "$LOOP_TURN_MAX_MS") == met ]] && echo true || echo false; })" \
      "$(jnum "${LT_FINAL_NUM:-}")"
  } >"$1"
  log "wrote $1"
}

# ------------------------------------------------------------------------------------------- main
main() {
  local t0=$SECONDS fault i stop=0
  declare -gA TARGET_DET=() TARGET_STALL=()
  LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
  if [[ ! -x $NATS_BIN ]]; then
    log "skipped: nats-server not installed (apt-get install nats-server, or NATS_BIN=...)"
    echo "failover trial skipped: nats-server not installed"
    exit 0
  fi
  command -v curl >/dev/null || { log "curl is needed to read the sidecars' /metrics"; exit 2; }
  ensure_built
  log "load average at start: $LOAD_START"
  awk -v l="${LOAD_START%% *}" -v c="$(nproc)" 'BEGIN { exit !(l > c / 2) }' &&
    note "load average ${LOAD_START%% *} at start on $(nproc) cores: other work on this machine adds noise"
  setup
  for fault in $FAULTS; do
    [[ $fault == kill || $fault == freeze ]] || { log "unknown fault $fault (kill, freeze)"; exit 2; }
    for ((i = 1; i <= RUNS; i++)); do
      if ((SECONDS - t0 > MAX_SECONDS)); then
        note "stopped after $MAX_SECONDS s (MAX_SECONDS) before $fault run $i of $RUNS"
        stop=1; break
      fi
      one_run "$fault" "$i" || { stop=1; break; }
    done
    ((stop)) && break
  done
  # The loop-turn gauges once more after the last restore and fail-back (a long turn then shows here).
  if ((${#RUN_ROWS[@]})); then
    settle || note "not settled within $SETTLE_TIMEOUT s after the last run; the last loop-turn reading is from then"
    snapshot final
    local ff fs; ff=$(loop_turn_ms "$TMP/final.front.prom") fs=$(loop_turn_ms "$TMP/final.serve.prom")
    LT_FINAL="front $(lt_ms "$ff"), serving $(lt_ms "$fs")" LT_FINAL_NUM=$(lt_max "$ff" "$fs")
  fi
  print_tables
  [[ -z $OUT ]] || write_json "$OUT"
  log "done in $((SECONDS - t0)) s"
  ((BAD == 0 && SETUP_FAILED == 0 && stop == 0))
}

main "$@"
