# shellcheck shell=bash disable=SC2034  # sets globals for the script that sources it
# bench/lib.sh: what bench/run.sh and bench/failover.sh share (sourced, not run on its own):
# logging and notes, background processes that are all stopped on exit, configuring the build, and
# small text helpers. Expects ROOT and BUILD_DIR.
#
#   source "$ROOT/bench/lib.sh"; bench_init TAG
# TAG prefixes log lines ("[TAG 12:00:00] ...") and names the scratch directory $TMP
# (/tmp/twinhub-TAG.XXXXXX, removed on exit unless KEEP_TMP=1).

bench_init() {
  LOG_TAG=$1
  NOTES=()
  SPAWNED=()
  TMP=$(mktemp -d "/tmp/twinhub-$1.XXXXXX")
  trap bench_cleanup EXIT
  trap 'log interrupted; exit 130' INT
  trap 'log terminated; exit 143' TERM
}

log() { printf '[%s %s] %s\n' "$LOG_TAG" "$(date +%H:%M:%S)" "$*" >&2; }
note() { NOTES+=("$*"); log "note: $*"; }

# Every process spawn() started: SIGCONT first (a frozen hub must be thawed to see SIGTERM), then
# SIGTERM, up to 3 s to exit, then SIGKILL.
bench_cleanup() {
  local pid deadline
  trap - EXIT INT TERM
  for pid in "${SPAWNED[@]}"; do kill -CONT "$pid" 2>/dev/null; kill -TERM "$pid" 2>/dev/null; done
  deadline=$((SECONDS + 3))
  for pid in "${SPAWNED[@]}"; do
    while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
    kill -KILL "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  if [[ ${KEEP_TMP:-0} == 1 ]]; then log "kept $TMP"; else rm -rf "$TMP"; fi
}

# spawn LOGFILE CMD...: start CMD in the background, output to LOGFILE; sets SPAWNED_PID.
spawn() {
  local logfile=$1; shift
  "$@" >"$logfile" 2>&1 &
  SPAWNED_PID=$!
  SPAWNED+=("$SPAWNED_PID")
}
# forget PID: a process the caller reaped; never signal its number again.
forget() { local p keep=(); for p in "${SPAWNED[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done; SPAWNED=("${keep[@]}"); }
alive() { local p; for p in "$@"; do kill -0 "$p" 2>/dev/null || return 1; done; }

# bench_configure STATUS: configures $BUILD_DIR for the tools (RelWithDebInfo, no tests) unless it
# has a CMake cache already; exits with STATUS when cmake fails.
bench_configure() {
  [[ -f $BUILD_DIR/CMakeCache.txt ]] && return 0
  local gen=(); command -v ninja >/dev/null && gen=(-G Ninja)
  log "configuring $BUILD_DIR"
  cmake -S "$ROOT" -B "$BUILD_DIR" "${gen[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DTWINHUB_BUILD_TESTS=OFF >"$TMP/configure.log" 2>&1 ||
    { tail_log "$TMP/configure.log"; log "cmake configure failed"; exit "$1"; }
}

# tail_log FILE [LINES]: the end of a log, indented, on stderr.
tail_log() { tail -n "${2:-5}" "$1" 2>/dev/null | sed 's/^/    /' >&2; }
# kv LINE KEY -> value of KEY=value in a tool's result line
kv() { sed -n "s/.* $2=\([^ ]*\).*/\1/p" <<<"$1"; }

# JSON: numbers or null; strings escaped for quotes, backslashes and newlines.
jnum() { [[ -n ${1:-} && $1 =~ ^-?[0-9.]+$ ]] && printf '%s' "$1" || printf 'null'; }
jstr() { local s=${1//\\/\\\\}; s=${s//\"/\\\"}; s=${s//$'\n'/ }; printf '"%s"' "$s"; }

# Memory of a process: status_kb PID FIELD -> FIELD (VmRSS, RssAnon, ...) in kB from /proc/PID/status,
# empty once it is gone; sum_status_kb FIELD PID... -> the sum (fails if one is gone).
status_kb() { awk -v f="$2:" '$1 == f { print $2 }' "/proc/$1/status" 2>/dev/null; }
sum_status_kb() {
  local field=$1 pid v total=0; shift
  for pid in "$@"; do v=$(status_kb "$pid" "$field"); [[ -n $v ]] || return 1; total=$((total + v)); done
  echo "$total"
}

# write_haproxy_cfg FILE PORT UPSTREAM: haproxy as the benches run it (mode tcp, one thread, maxconn
# 4000, client and server timeouts of an hour), listening on 127.0.0.1:PORT.
write_haproxy_cfg() {
  cat >"$1" <<EOF
global
    nbthread 1
    maxconn 4000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen bench
    bind 127.0.0.1:$2
    server echo $3
EOF
}

# write_sidecar_yaml FILE LISTEN UPSTREAM METRICS [PROXY]: a one-front direct-mode sidecar config;
# PROXY is a YAML flow map for the proxy section, e.g. "{high_watermark: 262144, low_watermark: 65536}".
write_sidecar_yaml() {
  {
    echo "sidecar: {id: bench.sidecar, machine: bench}"
    echo "mode: direct"
    echo "fronts:"
    echo "  - {listen: $2, service: bench, direct: $3}"
    echo "metrics: $4"
    [[ -z ${5:-} ]] || echo "proxy: $5"
  } >"$1"
}

# histogram_quantile Q NAME BEFORE AFTER: from two /metrics snapshots, the upper bound (in ms; the
# histogram is in seconds) of the bucket of Prometheus histogram NAME that holds quantile Q of the
# observations made between them, summed over every label set ("<=" semantics; ">X" past the
# last finite bucket). Buckets come in ascending order within each series; all series share them.
histogram_quantile() {
  awk -v q="$1" -v name="$2" '
    function bkey(s) { sub(/.*le="/, "", s); sub(/".*/, "", s); return s }
    FNR == NR { if (index($1, name "_bucket") == 1) base[bkey($1)] += $2; next }
    index($1, name "_bucket") == 1 { k = bkey($1); if (!(k in cur)) order[++n] = k; cur[k] += $2 }
    END {
      total = cur["+Inf"] - base["+Inf"]
      for (i = 1; i <= n; i++) {
        if (order[i] == "+Inf") continue
        if (cur[order[i]] - base[order[i]] >= q * total) { printf "%g", order[i] * 1000; exit }
        last = order[i]
      }
      printf ">%g", last * 1000
    }' "$3" "$4"
}
