#!/usr/bin/env bash
# bench/health_scale.sh: one aggregator (twinhubctl health watch, history on) against many
# simulated sidecars. beat_flood publishes valid heartbeats for SIDECARS sidecars at RATE Hz each
# through hub central; the aggregator listens on both hubs (so it receives every beat twice, once
# per hub, across the leaf link). Reports the sync latency p50/p99 (beat timestamp to receipt, from
# the aggregator's histogram: bucket bounds), the aggregator's CPU (share of one core, from
# /proc/PID/stat over the measured window) and its RSS at the end.
# Target (issue 8): 1,000 sidecars at 2 Hz with p99 < 100 ms and the aggregator under 25 % of a core.
#
#   bench/health_scale.sh                       1000 sidecars, 2 Hz, 20 s
# Environment: BUILD_DIR, SIDECARS (1000), RATE (2), SECONDS_RUN (20), KEEP_TMP=1.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
# shellcheck source=bench/hubs.sh
source "$ROOT/bench/hubs.sh"
BUILD_DIR=${BUILD_DIR:-$ROOT/build}
BIN=$BUILD_DIR/bin
CLIENT=$BIN/bench_client
SIDECARS=${SIDECARS:-1000}
RATE=${RATE:-2}
SECONDS_RUN=${SECONDS_RUN:-20}
WARMUP=3

bench_init health-scale
for b in twinhubctl beat_flood bench_client; do
  [[ -x $BIN/$b ]] || { log "$BIN/$b missing: build first (./scripts/build.sh)"; exit 2; }
done
hubs_start "$TMP/hubs" || { log "$HUB_ERR"; exit 2; }
spawn "$TMP/agg.out" "$BIN/twinhubctl" --hub "edge=$HUB_E_URL" --hub "central=$HUB_C_URL" health watch \
  --observer bench-scale --metrics 127.0.0.1:0
AGG_PID=$SPAWNED_PID
for _ in $(seq 100); do grep -q "metrics on" "$TMP/agg.out" && break; sleep 0.05; done
AGG_METRICS=$(sed -n 's|.*metrics on http://\(\S*\)/metrics.*|\1|p' "$TMP/agg.out")
[[ -n $AGG_METRICS ]] || { log "aggregator did not start"; tail_log "$TMP/agg.out"; exit 2; }

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$AGG_PID/stat"; }
spawn "$TMP/flood.log" "$BIN/beat_flood" --url "$HUB_C_URL" --via central --sidecars "$SIDECARS" --rate "$RATE" \
  --seconds "$((SECONDS_RUN + WARMUP))"
FLOOD_PID=$SPAWNED_PID
log "flooding: $SIDECARS sidecars at $RATE Hz for $((SECONDS_RUN + WARMUP)) s"
sleep "$WARMUP"
metrics_get "$AGG_METRICS" "$TMP/m0.txt"
t0=$(date +%s%N) c0=$(cpu_ticks)
sleep "$SECONDS_RUN"
t1=$(date +%s%N) c1=$(cpu_ticks)
metrics_get "$AGG_METRICS" "$TMP/m1.txt"
wait "$FLOOD_PID"; forget "$FLOOD_PID"
hz=$(getconf CLK_TCK)
CPU=$(awk -v c="$((c1 - c0))" -v hz="$hz" -v ns="$((t1 - t0))" 'BEGIN { printf "%.1f", 100 * c / hz / (ns / 1e9) }')
RSS_MB=$(awk '/^VmRSS/ { printf "%.1f", $2 / 1024 }' "/proc/$AGG_PID/status")
BEATS=$(( $(metric_sum "$TMP/m1.txt" twinhub_health_beats_total | cut -d. -f1) - $(metric_sum "$TMP/m0.txt" twinhub_health_beats_total | cut -d. -f1) ))
DROPPED=$(metric_sum "$TMP/m1.txt" twinhub_health_beats_dropped_total)
P50=$(histogram_quantile 0.5 twinhub_health_sync_latency_seconds "$TMP/m0.txt" "$TMP/m1.txt")
P99=$(histogram_quantile 0.99 twinhub_health_sync_latency_seconds "$TMP/m0.txt" "$TMP/m1.txt")
KNOWN=$(metric "$TMP/m1.txt" 'twinhub_health_sidecars{state="known"}')
echo
echo "| sidecars | rate Hz | beats received (both hubs) | sync p50 ms | sync p99 ms | aggregator CPU % of a core | RSS MB | dropped | known |"
echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"
echo "| $SIDECARS | $RATE | $BEATS in ${SECONDS_RUN}s | <= $P50 | <= $P99 | $CPU | $RSS_MB | $DROPPED | $KNOWN |"
cat "$TMP/flood.log" >&2
alive "$AGG_PID" || { log "the aggregator died"; exit 1; }
