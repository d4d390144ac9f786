#!/usr/bin/env bash
# The deployment checks, in order, each timed: the image build (deploy/docker/build-image.sh), a
# container run of the sidecar (its /healthz, /readyz, SIGTERM as PID 1), the compose failover
# scenario (deploy/compose/smoke.sh); then the checks without containers: the Prometheus rules
# (promtool check and rule unit tests), a real Prometheus scraping a real sidecar and aggregator
# with the dashboard's and rules' metric names checked (deploy/prometheus/test-live.sh), the
# Kubernetes manifests (deploy/k8s/validate.sh) and the systemd units (deploy/systemd/verify.sh).
# One private dockerd serves the container steps and is stopped at the end, on failure too
# (lib.sh). Needs build/bin (scripts/build.sh or scripts/test.sh first), or TWINHUB_BIN=DIR with
# twinhub-sidecar, twinhubctl and twinhub-agent-sim (e.g. copied out of the image).
#
# usage: scripts/test-deploy.sh [--fast | --prebuilt]
#   --fast      only the checks without containers
#   --prebuilt  the twinhub image from the binaries in build/bin (or TWINHUB_BIN) instead of the
#               Dockerfile's compile (build-image.sh's TWINHUB_PREBUILT); what .ci/run runs, see
#               docs/deploy.md, "CI"
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fast=0 prebuilt=0
case ${1:-} in
  --fast) fast=1 ;;
  --prebuilt) prebuilt=1 ;;
  "") ;;
  *) echo "usage: $0 [--fast | --prebuilt]" >&2; exit 2 ;;
esac
log_tag=test-deploy
# shellcheck source=../deploy/docker/lib.sh
source deploy/docker/lib.sh
trap stop_dockerd EXIT
trap 'exit 130' INT TERM

declare -a timings=()
step() {
  local name=$1 t=$SECONDS
  shift
  echo "== deploy: $name"
  "$@"
  timings+=("$name $((SECONDS - t)) s")
}

bin=$(readlink -f "${TWINHUB_BIN:-$root/build/bin}")
for b in twinhub-sidecar twinhubctl twinhub-agent-sim; do
  [[ -x $bin/$b ]] || ddie "$bin/$b missing: run scripts/build.sh first"
done
if ((fast)); then
  ./scripts/install-deps.sh --deploy-fast
else
  ./scripts/install-deps.sh --deploy
  ensure_dockerd  # exported DOCKER_HOST: the scripts below use this engine and leave it running
  if ((prebuilt)); then
    step "image build (host binaries)" env TWINHUB_PREBUILT="$bin" deploy/docker/build-image.sh
  else
    step "image build" deploy/docker/build-image.sh
  fi
fi

container_run() {
  local image=${IMAGE:-twinhub:local} name="twinhub-probe-$$" pid code t0 t
  dk run -d --name "$name" "$image" >/dev/null
  # shellcheck disable=SC2064
  trap "dk rm -f $name >/dev/null 2>&1 || true; stop_dockerd" EXIT
  pid=$(dk inspect -f '{{.State.Pid}}' "$name")
  t0=$(date +%s%N)
  # The default config (direct to 127.0.0.1:17140, nothing there): alive, not ready.
  for _ in $(seq 100); do
    code=$(nsenter -t "$pid" -n curl -s -o /dev/null -w '%{http_code}' -m 1 http://127.0.0.1:9140/healthz || true)
    [[ $code == 200 ]] && break
    sleep 0.1
  done
  t=$(( ($(date +%s%N) - t0) / 1000000 ))
  [[ $code == 200 ]] || { dk logs "$name"; ddie "container: /healthz never answered"; }
  code=$(nsenter -t "$pid" -n curl -s -o /dev/null -w '%{http_code}' -m 1 http://127.0.0.1:9140/readyz || true)
  [[ $code == 503 ]] || ddie "container: /readyz $code with no agent, expected 503"
  dk exec -d "$name" twinhub-agent-sim --name agent --port 17140
  for _ in $(seq 50); do
    code=$(nsenter -t "$pid" -n curl -s -o /dev/null -w '%{http_code}' -m 1 http://127.0.0.1:9140/readyz || true)
    [[ $code == 200 ]] && break
    sleep 0.2
  done
  [[ $code == 200 ]] || ddie "container: /readyz $code with the agent up, expected 200"
  echo "container: /healthz 200 after $t ms, /readyz 503 without the agent and 200 with it"
  local user rss mem
  user=$(dk exec "$name" id -un)
  rss=$(awk '/VmRSS/ {print $2}' "/proc/$(pgrep -P "$pid" -f twinhub-sidecar | head -1)/status" 2>/dev/null || echo "?")
  mem=$(dk stats --no-stream --format '{{.MemUsage}}' "$name")
  echo "container: runs as $user, sidecar RSS $rss kB; container memory (cgroup, sidecar + agent-sim + tini) $mem"
  t0=$(date +%s%N)
  dk stop -t 10 "$name" >/dev/null
  t=$(( ($(date +%s%N) - t0) / 1000000 ))
  ((t < 5000)) || ddie "container: docker stop took $t ms: SIGTERM not handled"
  dk logs "$name" 2>&1 | grep -q "draining" || ddie "container: the sidecar did not drain on SIGTERM"
  echo "container: docker stop (SIGTERM) drained and exited in $t ms, exit code $(dk inspect -f '{{.State.ExitCode}}' "$name")"
  dk rm -f "$name" >/dev/null

  # Start to ready as a sidecar runs: the agent's container first, then the sidecar's container
  # in its network namespace; docker run of the sidecar to its first /readyz 200.
  local agent="twinhub-agent-$$"
  # shellcheck disable=SC2064
  trap "dk rm -f $name $agent >/dev/null 2>&1 || true; stop_dockerd" EXIT
  dk run -d --name "$agent" "$image" twinhub-agent-sim --name agent --port 17140 >/dev/null
  pid=$(dk inspect -f '{{.State.Pid}}' "$agent")
  for _ in $(seq 50); do nsenter -t "$pid" -n bash -c '</dev/tcp/127.0.0.1/17140' 2>/dev/null && break; sleep 0.1; done
  t0=$(date +%s%N)
  dk run -d --name "$name" --network "container:$agent" --read-only \
    --tmpfs /var/lib/twinhub:uid=10001,gid=10001,mode=0750 "$image" >/dev/null
  code=
  for _ in $(seq 300); do
    code=$(nsenter -t "$pid" -n curl -s -o /dev/null -w '%{http_code}' -m 1 http://127.0.0.1:9140/readyz || true)
    [[ $code == 200 ]] && break
    sleep 0.05
  done
  t=$(( ($(date +%s%N) - t0) / 1000000 ))
  [[ $code == 200 ]] || { dk logs "$name"; ddie "container: the sidecar beside a running agent never became ready"; }
  mem=$(dk stats --no-stream --format '{{.MemUsage}}' "$name")
  echo "container: sidecar container (read-only root) beside the agent's: docker run to /readyz 200 in $t ms; its memory (cgroup) $mem"
  dk rm -f "$name" "$agent" >/dev/null
  trap stop_dockerd EXIT
}
if ((!fast)); then
  step "container run" container_run
  step "compose failover smoke" deploy/compose/smoke.sh
fi
promtool_checks() {
  (cd deploy/prometheus && promtool check config prometheus-compose.yml && promtool check config prometheus-basic-auth.yml &&
    promtool check rules twinhub-rules.yml &&
    promtool test rules twinhub-rules.test.yml)
}
step "prometheus rules (promtool)" promtool_checks
step "prometheus live + metric names" deploy/prometheus/test-live.sh "$bin"
step "k8s manifests" env SIDECAR="$bin/twinhub-sidecar" deploy/k8s/validate.sh
step "systemd units" deploy/systemd/verify.sh "$bin/twinhub-sidecar" "$bin/twinhubctl"
echo "== deploy: timings"
printf '  %s\n' "${timings[@]}"
