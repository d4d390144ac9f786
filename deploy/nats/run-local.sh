#!/usr/bin/env bash
# Runs both twinhub hubs on this host, bound to 127.0.0.1 only: "central" and "edge" (a leaf node
# of central), each its own JetStream domain. For the demo and for trying things out; production
# runs one hub per machine from central.conf / edge.conf as shipped.
#
# usage: deploy/nats/run-local.sh STATE_DIR
#
# The configs are the shipped files with only the lines tagged "# @..." rewritten (the test helper
# tests/support/nats_hubs.cc does the same), plus a pid_file and a log_file. In STATE_DIR:
#   <hub>.conf  the config     <hub>.log  the server log     <hub>.pid  the server's pid
#   <hub>/      JetStream store (kept across runs)
# A hub that a demo kills can be started again by hand: nats-server -c STATE_DIR/<hub>.conf
#
# Ports (environment): CENTRAL_PORT=4222 CENTRAL_MONITOR_PORT=8222 LEAF_PORT=7422
#                      EDGE_PORT=4223 EDGE_MONITOR_PORT=8223; NATS_SERVER overrides the binary.
# CERTS_DIR=DIR (a scripts/gen-certs.sh directory): the secured configs, central-secure.conf and
#   edge-secure.conf (TLS with client certificates, users from users.conf, their passwords from
#   DIR/hub-passwords.env); clients then need DIR's files (docs/security.md). Without it, the
#   plain central.conf and edge.conf: no TLS, no users, for a quick look.
#
# Prints one line per hub, "hub NAME nats://127.0.0.1:PORT monitor http://127.0.0.1:PORT pid PID",
# then "hubs ready" once the leaf link is up. Runs until SIGTERM/SIGINT; on exit (for any reason)
# it stops the hubs named by the pid files, including ones restarted by hand.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -ne 1 || $1 == -h || $1 == --help ]]; then
  sed -n '2,24s/^# \{0,1\}//p' "${BASH_SOURCE[0]}" >&2
  exit 2
fi
mkdir -p "$1"
state="$(cd "$1" && pwd)"

central_port=${CENTRAL_PORT:-4222}
central_monitor=${CENTRAL_MONITOR_PORT:-8222}
leaf_port=${LEAF_PORT:-7422}
edge_port=${EDGE_PORT:-4223}
edge_monitor=${EDGE_MONITOR_PORT:-8223}

nats_server=${NATS_SERVER:-}
if [[ -z $nats_server ]]; then
  if [[ -x /usr/sbin/nats-server ]]; then nats_server=/usr/sbin/nats-server
  else nats_server=$(command -v nats-server || true); fi
fi
[[ -n $nats_server && -x $nats_server ]] || { echo "run-local: nats-server not found (apt-get install nats-server, or set NATS_SERVER)" >&2; exit 1; }

die() { echo "run-local: $*" >&2; exit 1; }

certs=${CERTS_DIR:-}
suffix=""
if [[ -n $certs ]]; then
  certs="$(cd "$certs" 2>/dev/null && pwd)" || die "CERTS_DIR=$CERTS_DIR: no such directory (make it with scripts/gen-certs.sh DIR)"
  for f in ca.pem central.pem central-key.pem edge.pem edge-key.pem leaf.password hub-passwords.env; do
    [[ -r $certs/$f ]] || die "$certs/$f missing: run scripts/gen-certs.sh $certs"
  done
  suffix=-secure
  # nats-server resolves $SIDECAR_PASSWORD and the others in users.conf from its environment.
  set -a
  # shellcheck disable=SC1091
  . "$certs/hub-passwords.env"
  set +a
fi

# render NAME TAG=VALUE...: the shipped NAME.conf with the value on each "# @TAG" line replaced.
# Every tag in the file must get a value and every value must find its one line: a config that
# drifts from this script fails here instead of running with production addresses.
render() {
  local name=$1 src="$here/$1$suffix.conf" line tag
  shift
  declare -A value=() seen=()
  local kv
  for kv in "$@"; do value[${kv%%=*}]=${kv#*=}; done
  [[ -r $src ]] || die "$src: not readable"
  local re='^([[:space:]]*[A-Za-z_]+[[:space:]]*[:=])[^#]*#[[:space:]]*@([A-Za-z0-9_-]+)[[:space:]]*$'
  while IFS= read -r line || [[ -n $line ]]; do
    if [[ $line =~ $re ]]; then
      tag=${BASH_REMATCH[2]}
      [[ -n ${value[$tag]+x} ]] || die "$src: tag @$tag has no local value in run-local.sh"
      seen[$tag]=$(( ${seen[$tag]:-0} + 1 ))
      line="${BASH_REMATCH[1]} ${value[$tag]}  # @$tag"
    fi
    printf '%s\n' "$line"
  done <"$src"
  for tag in "${!value[@]}"; do
    [[ ${seen[$tag]:-0} -eq 1 ]] || die "$src: expected exactly one line tagged # @$tag, found ${seen[$tag]:-0}"
  done
  printf '\n# Added by run-local.sh\npid_file: "%s"\nlog_file: "%s"\n' "$state/$name.pid" "$state/$name.log"
}

# The pid in STATE_DIR/NAME.pid (the server writes it) if that process is still a nats-server
# running a NAME.conf (however the path was spelled when it was started by hand), else nothing.
hub_pid() {
  local pid cmd
  pid=$(cat "$state/$1.pid" 2>/dev/null) || return 0
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  cmd=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 0
  [[ $cmd == *nats-server* && $cmd == *"$1.conf"* ]] && echo "$pid"
  return 0
}

# Client port PORT greets with INFO.
greets() {
  local fd line
  exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
  IFS= read -r -t 1 line <&"$fd" || true
  exec {fd}>&-
  [[ $line == INFO* ]]
}

# GET http://127.0.0.1:PORT/PATH; body and headers on stdout.
http_get() {
  local fd
  exec {fd}<>"/dev/tcp/127.0.0.1/$1" || return 1
  printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n' "$2" >&"$fd"
  timeout 2 cat <&"$fd" || true
  exec {fd}>&-
}

leafs() { http_get "$1" /leafz 2>/dev/null | sed -n 's/.*"leafnodes": *\([0-9]*\).*/\1/p' | head -n1; }

stopping=0
sleeper=
stop_hubs() {
  ((stopping)) && return
  stopping=1
  [[ -z $sleeper ]] || kill "$sleeper" 2>/dev/null || true
  local name pid pids=()
  for name in edge central; do
    pid=$(hub_pid "$name")
    [[ -n $pid ]] || continue
    kill -TERM "$pid" 2>/dev/null || true
    kill -CONT "$pid" 2>/dev/null || true  # a hub frozen by a demo must run to handle SIGTERM
    pids+=("$pid")
  done
  for pid in "${pids[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true  # reaps the ones this script started
  done
}

# start NAME CLIENT_PORT MONITOR_PORT: waits until it greets clients and reports healthy.
start() {
  local name=$1 port=$2 monitor=$3 pid
  rm -f "$state/$name.pid"
  "$nats_server" -c "$state/$name.conf" >>"$state/$name.log" 2>&1 &
  pid=$!
  for _ in $(seq 200); do
    kill -0 "$pid" 2>/dev/null || { tail -n 20 "$state/$name.log" >&2; die "$name: nats-server exited (log: $state/$name.log)"; }
    # The pid file (written by the server) must name our child: a server of another run on the
    # same ports would answer the probes too.
    if [[ $(cat "$state/$name.pid" 2>/dev/null) == "$pid" ]] && greets "$port" 2>/dev/null &&
      http_get "$monitor" /healthz 2>/dev/null | grep -q '"ok"'; then
      echo "hub $name nats://127.0.0.1:$port monitor http://127.0.0.1:$monitor pid $pid"
      return 0
    fi
    sleep 0.05
  done
  die "$name: not ready after 10 s (log: $state/$name.log)"
}

# Another run on this state dir owns its hubs: refuse before touching its files or its servers.
for name in central edge; do
  pid=$(hub_pid "$name")
  [[ -z $pid ]] || die "$name: already running from $state (pid $pid); stop it first"
done
for port in "$central_port" "$central_monitor" "$leaf_port" "$edge_port" "$edge_monitor"; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "127.0.0.1:$port is in use (another run of the hubs?); choose other ports, see --help"
  fi
done
trap stop_hubs EXIT
trap 'exit 0' TERM INT

tls_tags=() leaf_user=""
if [[ -n $certs ]]; then
  cp "$here/users.conf" "$state/users.conf"  # the secured configs include it from their directory
  leaf_user="leaf:$(head -n1 "$certs/leaf.password")@"
fi
tls() { [[ -z $certs ]] || printf '%s\n' tls-cert="\"$certs/$1.pem\"" tls-key="\"$certs/$1-key.pem\"" tls-ca="\"$certs/ca.pem\""; }
mapfile -t tls_tags < <(tls central)
render central client-listen="127.0.0.1:$central_port" monitor-listen="127.0.0.1:$central_monitor" \
  leaf-listen="127.0.0.1:$leaf_port" store-dir="\"$state/central\"" "${tls_tags[@]}" >"$state/central.conf"
mapfile -t tls_tags < <(tls edge)
render edge client-listen="127.0.0.1:$edge_port" monitor-listen="127.0.0.1:$edge_monitor" \
  leaf-remote="[\"nats-leaf://${leaf_user}127.0.0.1:$leaf_port\"]" store-dir="\"$state/edge\"" "${tls_tags[@]}" >"$state/edge.conf"
chmod 600 "$state/central.conf" "$state/edge.conf"  # edge's holds the leaf password when secured

start central "$central_port" "$central_monitor"
start edge "$edge_port" "$edge_monitor"
for _ in $(seq 100); do
  if [[ $(leafs "$central_monitor") -ge 1 && $(leafs "$edge_monitor") -ge 1 ]] 2>/dev/null; then
    echo "hubs ready"
    break
  fi
  sleep 0.1
done
[[ $(leafs "$central_monitor") -ge 1 ]] 2>/dev/null || die "leaf link edge -> central not up after 10 s (logs in $state)"

# Until a signal; sleep in the background so that the trap runs at once.
while true; do
  sleep 3600 &
  sleeper=$!
  wait "$sleeper" || true
done
