# shellcheck shell=bash disable=SC2034  # sets globals for the script that sources it
# bench/hubs.sh: sourced by bench/run.sh and bench/failover.sh (not run on its own).
#
# The two NATS hubs laid out as deploy/nats/*.conf (central; edge joined to central as a leaf node,
# each a standalone nats-server with the same ping/write-deadline/payload settings) on 127.0.0.1 and
# free ports, and the two hub-mode sidecars of a session: a serving sidecar in front of an echo
# server (pc2.Echo) and a front sidecar (mainpc.front) where clients connect. JetStream is left out:
# the session path is core pub/sub only.
#
# The caller sources bench/lib.sh first (spawn, log, alive) and sets $CLIENT (bench_client).
# Everything here sets globals named HUB_* and returns non-zero (with HUB_ERR set) on failure.
#
# HUB_TLS=1: the hubs as deploy/nats/*-secure.conf (TLS with client certificates and users on
# client and leaf connections; certificates from scripts/gen-certs.sh in DIR/certs) and the
# sidecars with the matching tls/auth keys (docs/security.md).
#
# Several hub pairs (bench/run.sh runs a plain and a TLS pair side by side): every function works
# on the current pair, whose state is the HUB_* globals; `hubs_pair NAME [TLS]` stashes them and
# makes pair NAME current (a new pair starts empty, with HUB_TLS=TLS, default 0). The first pair
# is "main", with HUB_TLS from the environment.
HUB_TLS=${HUB_TLS:-0}

NATS_BIN=${NATS_BIN:-$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)}
declare -A HUB_PID=() HUB_STARTS=() HUB_LOG=()

HUB_PAIR=main
declare -A HUB_PAIRS=()  # HUB_PAIRS[PAIR:VAR] = a stashed global of pair PAIR
HUB_PAIR_VARS=(HUB_TLS HUB_DIR HUB_C_PORT HUB_L_PORT HUB_E_PORT HUB_C_MON HUB_E_MON HUB_C_URL HUB_E_URL
  HUB_SIDECAR_SECURITY HUB_ERR)
hubs_pair() {
  local name=$1 v k
  [[ $name == "$HUB_PAIR" ]] && return 0
  for v in "${HUB_PAIR_VARS[@]}"; do HUB_PAIRS[$HUB_PAIR:$v]=${!v-}; done
  for k in central edge; do
    HUB_PAIRS[$HUB_PAIR:pid:$k]=${HUB_PID[$k]-} HUB_PAIRS[$HUB_PAIR:starts:$k]=${HUB_STARTS[$k]-}
    HUB_PAIRS[$HUB_PAIR:log:$k]=${HUB_LOG[$k]-}
  done
  HUB_PAIRS[$HUB_PAIR:saved]=1
  HUB_PID=() HUB_STARTS=() HUB_LOG=()
  if [[ -n ${HUB_PAIRS[$name:saved]:-} ]]; then
    for v in "${HUB_PAIR_VARS[@]}"; do printf -v "$v" '%s' "${HUB_PAIRS[$name:$v]}"; done
    for k in central edge; do
      [[ -z ${HUB_PAIRS[$name:pid:$k]} ]] || HUB_PID[$k]=${HUB_PAIRS[$name:pid:$k]}
      [[ -z ${HUB_PAIRS[$name:starts:$k]} ]] || HUB_STARTS[$k]=${HUB_PAIRS[$name:starts:$k]}
      [[ -z ${HUB_PAIRS[$name:log:$k]} ]] || HUB_LOG[$k]=${HUB_PAIRS[$name:log:$k]}
    done
  else
    for v in "${HUB_PAIR_VARS[@]}"; do printf -v "$v" '%s' ""; done
    HUB_TLS=${2:-0}
  fi
  HUB_PAIR=$name
}

# hubs_setup DIR: pick ports and write DIR/central.conf and DIR/edge.conf.
hubs_setup() {
  HUB_DIR=$1
  mkdir -p "$HUB_DIR"
  local ports
  ports=$("$CLIENT" freeport 5 | tr '\n' ' ')
  read -r HUB_C_PORT HUB_L_PORT HUB_E_PORT HUB_C_MON HUB_E_MON <<<"$ports"
  HUB_C_URL=nats://127.0.0.1:$HUB_C_PORT HUB_E_URL=nats://127.0.0.1:$HUB_E_PORT
  local c_tls="" e_tls="" leaf_tls="" leaf_user="" remote_tls=""
  HUB_SIDECAR_SECURITY=""
  if [[ $HUB_TLS == 1 ]]; then
    local certs=$HUB_DIR/certs here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
    "$here/scripts/gen-certs.sh" "$certs" >/dev/null || { HUB_ERR="gen-certs.sh failed"; return 1; }
    cp "$here/deploy/nats/users.conf" "$HUB_DIR/users.conf"
    set -a; . "$certs/hub-passwords.env"; set +a  # the hubs' $*_PASSWORD variables
    # tls_block HUB [verify: true]: the hub's certificate, the CA, and whether clients must have one.
    tls_block() { printf 'tls { cert_file: "%s/%s.pem", key_file: "%s/%s-key.pem", ca_file: "%s/ca.pem"%s, timeout: 2 }\n' "$certs" "$1" "$certs" "$1" "$certs" "${2:+, verify: $2}"; }
    c_tls="$(tls_block central true)
authorization { include \"users.conf\" }"
    e_tls="$(tls_block edge true)
authorization { include \"users.conf\" }"
    leaf_tls="$(tls_block central true)
  authorization { user: leaf, password: \$LEAF_PASSWORD }"
    leaf_user="leaf:$(cat "$certs/leaf.password")@"
    remote_tls=", $(tls_block edge)"
    HUB_SIDECAR_SECURITY=", tls: {ca: $certs/ca.pem, cert: $certs/sidecar.pem, key: $certs/sidecar-key.pem}, auth: {user: sidecar, password_file: $certs/sidecar.password}"
  fi
  cat >"$HUB_DIR/central.conf" <<EOF
server_name: central
listen: 127.0.0.1:$HUB_C_PORT
http: 127.0.0.1:$HUB_C_MON
ping_interval: "2s"
ping_max: 3
write_deadline: "2s"
max_payload: 1MB
$c_tls
leafnodes {
  listen: 127.0.0.1:$HUB_L_PORT
  $leaf_tls
}
EOF
  cat >"$HUB_DIR/edge.conf" <<EOF
server_name: edge
listen: 127.0.0.1:$HUB_E_PORT
http: 127.0.0.1:$HUB_E_MON
ping_interval: "2s"
ping_max: 3
write_deadline: "2s"
max_payload: 1MB
$e_tls
leafnodes {
  reconnect: 1
  remotes: [ { urls: ["nats-leaf://${leaf_user}127.0.0.1:$HUB_L_PORT"]$remote_tls } ]
}
EOF
}

# hub_start NAME: start (or restart) hub NAME (central|edge); waits until it accepts clients.
# Each start logs to DIR/NAME.N.log; the latest is HUB_LOG[NAME].
hub_start() {
  local name=$1 port n
  [[ $name == central ]] && port=$HUB_C_PORT || port=$HUB_E_PORT
  n=$((${HUB_STARTS[$name]:-0} + 1))
  HUB_STARTS[$name]=$n
  HUB_LOG[$name]=$HUB_DIR/$name.$n.log
  spawn "${HUB_LOG[$name]}" "$NATS_BIN" -c "$HUB_DIR/$name.conf"
  HUB_PID[$name]=$SPAWNED_PID
  if ! "$CLIENT" wait --connect "127.0.0.1:$port" --timeout-ms 10000 2>/dev/null || ! alive "${HUB_PID[$name]}"; then
    HUB_ERR="nats-server $name did not start: $(tail -n 2 "${HUB_LOG[$name]}" | tr '\n' ' ')"
    return 1
  fi
}

# hubs_leaf_up: true while central has the edge's leaf connection.
hubs_leaf_up() {
  if command -v curl >/dev/null; then
    curl -fsS -m 1 "http://127.0.0.1:$HUB_C_MON/leafz" 2>/dev/null | grep -Eq '"leafnodes": *[1-9]'
  else
    grep -q 'Leafnode connection created' "${HUB_LOG[edge]}"
  fi
}

# hubs_wait_leaf SECONDS
hubs_wait_leaf() {
  local deadline=$((SECONDS + $1))
  until hubs_leaf_up; do
    ((SECONDS < deadline)) || { HUB_ERR="the edge hub did not join central as a leaf within $1 s"; return 1; }
    sleep 0.05
  done
}

# hubs_start DIR: both hubs, the leaf link up.
hubs_start() {
  [[ -x $NATS_BIN ]] || { HUB_ERR="nats-server not installed (apt-get install nats-server)"; return 1; }
  hubs_setup "$1"
  hub_start central && hub_start edge && hubs_wait_leaf 10
}

hubs_version() { "$NATS_BIN" --version 2>&1 | head -n1; }

# hub_serve_yaml FILE AGENT_ADDR METRICS_ADDR [HUB_OPTIONS_YAML]: the serving sidecar pc2.Echo.
hub_serve_yaml() {
  cat >"$1" <<EOF
sidecar: {machine: pc2, id: pc2.Echo}
mode: hub
hubs: [{name: edge, url: $HUB_E_URL$HUB_SIDECAR_SECURITY}, {name: central, url: $HUB_C_URL$HUB_SIDECAR_SECURITY}]
serve: {service: Echo, address: $2, probe: {type: tcp, address: $2, interval_ms: 500}}
metrics: $3
${4:+hub_options: $4}
EOF
}

# hub_front_yaml FILE LISTEN_ADDR METRICS_ADDR [HUB_OPTIONS_YAML]: the front sidecar mainpc.front,
# hubs in the same order as the serving sidecar (edge first: both ends on the same hub).
hub_front_yaml() {
  cat >"$1" <<EOF
sidecar: {id: mainpc.front}
mode: hub
hubs: [{name: edge, url: $HUB_E_URL$HUB_SIDECAR_SECURITY}, {name: central, url: $HUB_C_URL$HUB_SIDECAR_SECURITY}]
fronts: [{listen: $2, service: Echo}]
metrics: $3
${4:+hub_options: $4}
EOF
}

# metrics_get ADDR FILE: fetch /metrics into FILE.
metrics_get() { curl -fsS -m 2 "http://$1/metrics" >"$2" 2>/dev/null; }
# metric FILE NAME_WITH_LABELS: the value of one sample (empty if absent).
metric() { awk -v k="$2" '$1 == k { print $2; exit }' "$1" 2>/dev/null; }
# metric_sum FILE NAME: the sum over every label set of NAME (0 if absent).
metric_sum() { awk -v k="$2" '{ n = $1; sub(/\{.*/, "", n) } n == k { s += $2 } END { printf "%.6f\n", s + 0 }' "$1" 2>/dev/null; }
# metric_max FILE NAME: the largest value over every label set of NAME (empty if absent).
metric_max() { awk -v k="$2" '{ n = $1; sub(/\{.*/, "", n) } n == k && (!f || $2 + 0 > m) { m = $2 + 0; f = 1 } END { if (f) printf "%.9f\n", m }' "$1" 2>/dev/null; }

# hub_wait_roundtrip ADDR SECONDS: a 64-byte round trip through ADDR works.
hub_wait_roundtrip() {
  local deadline=$((SECONDS + $2))
  until "$CLIENT" rtt --connect "$1" --count 1 --warmup 0 --max-seconds 5 >/dev/null 2>&1; do
    ((SECONDS < deadline)) || return 1
    sleep 0.1
  done
}
