#!/usr/bin/env bash
# The compose layout's failover scenario, end to end: brings deploy/compose up with
# docker-compose (1.29), waits for every sidecar's /readyz, runs ZeroMQ traffic through the
# caller's sidecar to both agents (twinhub-zmq-load in the caller's container), kills the edge
# hub's container (SIGKILL) in the middle of it, and checks that no request was lost or served
# twice (the load's own check, and each agent's ledger through its control socket: sim_stats).
# Then checks that Prometheus scraped every sidecar, the aggregator and the Pushgateway, that the
# aggregator heard the three sidecars and counted the edge hub's loss, and that the alert rule
# TwinhubHubDownOrFrozen became active; and takes it all down.
#
# usage: deploy/compose/smoke.sh
#
# Environment: REQUESTS per client (default 1500), CLIENTS per service (4), PAUSE_MS between a
# client's requests (10), KEEP_UP=1 leaves the
# stack running (take it down with: docker-compose -p twinhubsmoke -f deploy/compose/docker-compose.yml down -v),
# plus deploy/docker/lib.sh's (DOCKER_HOST, KEEP_DOCKERD, TWINHUB_DOCKER_ROOT). The images are
# built by deploy/docker/build-image.sh when missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log_tag=smoke
# shellcheck source=../docker/lib.sh
source "$root/deploy/docker/lib.sh"
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0; }

requests=${REQUESTS:-1500}
clients=${CLIENTS:-4}
# A pause between each client's requests spreads the traffic over ~20 s, so that the hub is
# killed in its middle however slow docker-compose exec is to start the load.
pause_ms=${PAUSE_MS:-10}
project=twinhubsmoke
t_start=$SECONDS
compose=(docker-compose -p "$project" -f "$here/docker-compose.yml")
work=$(mktemp -d /tmp/twinhub-smoke.XXXXXX)

cleanup() {
  local rc=$?
  trap - EXIT
  if ((rc != 0)); then
    dlog "FAILED (exit $rc); logs of the stack:"
    "${compose[@]}" logs --no-color --tail 40 >&2 2>/dev/null || true
  fi
  if [[ ${KEEP_UP:-0} == 1 && $rc == 0 ]]; then
    dlog "leaving the stack up (KEEP_UP=1)"
  else
    "${compose[@]}" down -v --remove-orphans -t 10 >/dev/null 2>&1 || true
  fi
  stop_dockerd
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT
trap 'dlog "failed at line $LINENO: $BASH_COMMAND"' ERR
trap 'exit 130' INT TERM

ensure_packages docker-compose python3-zmq curl util-linux
ensure_dockerd
# docker-compose 1.29 talks to DOCKER_HOST itself; build-image.sh reuses the engine found here.
if ! dk image inspect "${TWINHUB_IMAGE:-twinhub:local}" "${TWINHUB_HUB_IMAGE:-twinhub-hub:local}" \
  "${TWINHUB_PROMETHEUS_IMAGE:-twinhub-prometheus:local}" >/dev/null 2>&1; then
  dlog "images missing: building them"
  "$root/deploy/docker/build-image.sh"
fi

# A stack left by an interrupted run would hold the subnet and the names.
"${compose[@]}" down -v --remove-orphans -t 5 >/dev/null 2>&1 || true
t_up=$SECONDS
"${compose[@]}" up -d >"$work/up.log" 2>&1 || { cat "$work/up.log" >&2; ddie "docker-compose up failed"; }

declare -A pids=()
pid_of() {  # the host pid of SERVICE's container (its network namespace), looked up once
  if [[ -z ${pids[$1]:-} ]]; then
    local id
    id=$("${compose[@]}" ps -q "$1")
    [[ -n $id ]] || return 1
    pids[$1]=$(dk inspect -f '{{.State.Pid}}' "$id")
  fi
  echo "${pids[$1]}"
}
# Runs a command in SERVICE's network namespace with this host's tools (the images have no curl
# or python): a sidecar is reached on the 127.0.0.1 of its agent.
in_netns() { local pid; pid=$(pid_of "$1") || return 1; shift; nsenter -t "$pid" -n "$@"; }
http_code() { in_netns "$1" curl -s -o /dev/null -w '%{http_code}' -m 2 "http://127.0.0.1:$2$3" 2>/dev/null || true; }
wait_until() {  # wait_until SECONDS WHAT COMMAND...
  local deadline=$((SECONDS + $1)) what=$2
  shift 2
  until "$@"; do
    ((SECONDS < deadline)) || ddie "timed out waiting for $what"
    sleep 0.3
  done
}
ready() { [[ $(http_code "$1" 9140 /readyz) == 200 ]]; }
for svc in agent-memory agent-learning caller prometheus; do
  wait_until 30 "$svc's container" pid_of "$svc" >/dev/null
  pid_of "$svc" >/dev/null  # fills the cache in this shell
done
for svc in agent-memory agent-learning caller; do
  wait_until 60 "the sidecar beside $svc to be ready (/readyz)" ready "$svc"
done
dlog "every sidecar ready $((SECONDS - t_up)) s after up"

sim_stats() {  # the agent-sim ledger of SERVICE on HEALTH_PORT, as JSON
  in_netns "$1" /usr/bin/python3 - "$2" <<'PY'
import json, sys, zmq
s = zmq.Context().socket(zmq.REQ)
s.setsockopt(zmq.RCVTIMEO, 3000)
s.setsockopt(zmq.LINGER, 0)
s.connect("tcp://127.0.0.1:" + sys.argv[1])
s.send_string(json.dumps({"action": "sim_stats"}))
print(s.recv_string())
PY
}
field() { /usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])[sys.argv[2]])' "$1" "$2"; }
load() {  # load PORT RUN_ID REQUESTS CLIENTS PAUSE_MS: through the caller's sidecar
  "${compose[@]}" exec -T caller twinhub-zmq-load --connect "127.0.0.1:$1" --run-id "$2" \
    --requests "$3" --clients "$4" --pause-ms "$5" --timeout-ms 5000
}

# The serving sidecars join the queue groups once their agents pass the probe, and interest has
# to cross the leaf link: a first request may be refused. Warm up until one round trip works.
warm() { load "$1" "warm-$1-$RANDOM" 5 1 0 >/dev/null 2>&1; }
wait_until 60 "a first request through the hubs to MemoryOrchestratorService" warm 7140
wait_until 60 "a first request through the hubs to LearningService" warm 7141

before_mem=$(sim_stats agent-memory 18140)
before_learn=$(sim_stats agent-learning 18141)
dlog "traffic: $clients clients x $requests requests to each service, edge killed in the middle"
t_load=$SECONDS
load 7140 "smoke-mem-$$" "$requests" "$clients" "$pause_ms" >"$work/load-mem.log" 2>&1 &
load_mem=$!
load 7141 "smoke-learn-$$" "$requests" "$clients" "$pause_ms" >"$work/load-learn.log" 2>&1 &
load_learn=$!

# Kill the edge hub once a tenth of the traffic is served.
served_since() { echo $(( $(field "$(sim_stats "$1" "$2")" served) - $(field "$3" served) )); }
under_way() { (( $(served_since agent-memory 18140 "$before_mem") >= requests * clients / 10 )); }
wait_until 60 "traffic to be under way" under_way
"${compose[@]}" kill -s KILL edge >/dev/null 2>&1
at_kill=$(sim_stats agent-memory 18140)
dlog "killed the edge hub's container after $((SECONDS - t_load)) s of traffic, $(served_since agent-memory 18140 "$before_mem") of $((requests * clients)) MemoryOrchestratorService requests served"

rc_mem=0 rc_learn=0
wait "$load_mem" || rc_mem=$?
wait "$load_learn" || rc_learn=$?
cat "$work/load-mem.log" "$work/load-learn.log"
((rc_mem == 0 && rc_learn == 0)) || ddie "the load saw lost or wrong answers (exit $rc_mem, $rc_learn)"
grep -q " failed 0 " "$work/load-mem.log" && grep -q " failed 0 " "$work/load-learn.log" || ddie "failed requests"

check_ledger() {  # SERVICE HEALTH_PORT BEFORE
  local after served unique dups
  after=$(sim_stats "$1" "$2")
  served=$(( $(field "$after" served) - $(field "$3" served) ))
  unique=$(( $(field "$after" unique_request_ids) - $(field "$3" unique_request_ids) ))
  dups=$(( $(field "$after" duplicates) - $(field "$3" duplicates) ))
  dlog "$1 ledger: served $served, new unique ids $unique, duplicates $dups (sent $((requests * clients)))"
  ((served == requests * clients && unique == served && dups == 0)) || ddie "$1: a request was lost or served twice"
}
check_ledger agent-memory 18140 "$before_mem"
after_kill=$(served_since agent-memory 18140 "$at_kill")
dlog "agent-memory served $after_kill requests after the kill"
((after_kill > 0)) || ddie "the traffic ended before the edge hub was killed: nothing was tested"
check_ledger agent-learning 18141 "$before_learn"

metric() { in_netns "$1" curl -s -m 2 http://127.0.0.1:9140/metrics | awk -v n="$2" '$1 ~ "^"n {s += $2} END {print s + 0}'; }
failovers=$(metric caller twinhub_hub_failovers_total)
dlog "caller's sidecar: twinhub_hub_failovers_total $failovers"
((failovers >= 1)) || ddie "the caller's sidecar never failed over: edge was not carrying the traffic"

# Prometheus scraped every sidecar, the aggregator and the Pushgateway, and has twinhub metrics.
prom_query() { in_netns prometheus curl -s -m 3 --data-urlencode "query=$1" http://127.0.0.1:9090/api/v1/query; }
prom_value() { prom_query "$1" | /usr/bin/python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)'; }
targets_up() { [[ $(prom_value 'sum(up{job="twinhub-sidecar"}) + sum(up{job="twinhub-aggregator"}) + sum(up{job="pushgateway"})') == 5 ]]; }
wait_until 30 "Prometheus to see 3 sidecars, the aggregator and the Pushgateway up" targets_up
has_failover() { prom_query 'sum(twinhub_hub_failovers_total{machine="mainpc"})' | grep -q '"value":\[[^]]*"[1-9]'; }
wait_until 30 "Prometheus to scrape the caller's failover count" has_failover
dlog "Prometheus: 3 sidecars, the aggregator and the Pushgateway up, twinhub_hub_failovers_total scraped"
# Every sidecar pushed to the Pushgateway (metrics_push), grouped by its id and machine.
three_pushed() { [[ $(prom_value 'count(push_time_seconds{job="twinhub_sidecar"})') == 3 ]]; }
wait_until 30 "the Pushgateway (via Prometheus) to hold the 3 sidecars' pushed groups" three_pushed
dlog "Pushgateway: the 3 sidecars pushed (push_time_seconds{job=\"twinhub_sidecar\"} per instance)"
# The aggregator heard the three sidecars (their heartbeats through the hubs) and saw the edge
# hub go; Prometheus' rule for it is pending or firing.
three_known() { [[ $(prom_value 'twinhub_health_sidecars{job="twinhub-aggregator", state="known"}') == 3 ]]; }
wait_until 30 "the aggregator (via Prometheus) to know the 3 sidecars" three_known
hub_alert() { (( $(prom_value 'sum(twinhub_health_alerts_total{job="twinhub-aggregator", kind=~"hub_down|hub_frozen"})') >= 1 )); }
wait_until 45 "the aggregator to count the edge hub's loss (twinhub_health_alerts_total)" hub_alert
rule_active() { (( $(prom_value 'count(ALERTS{alertname="TwinhubHubDownOrFrozen"})') >= 1 )); }
wait_until 45 "Prometheus' TwinhubHubDownOrFrozen rule to be pending or firing" rule_active
dlog "aggregator: 3 sidecars known, the edge hub's loss counted; TwinhubHubDownOrFrozen active in Prometheus"

dlog "PASS: no request lost or duplicated through the edge hub's kill; $((SECONDS - t_start)) s in all"
