#!/usr/bin/env bash
# Installs every Debian package the build, the tests, the demo and the benchmark need.
# Idempotent: does nothing when all are present. Run as root on Debian 12.
#   --bench    also what bench/ compares against (haproxy, nginx, socat)
#   --deploy   also what the deployment checks need (scripts/test-deploy.sh): Prometheus and
#              promtool, yamllint, systemd-analyze, python3-yaml, node and npm (kept when
#              already there), docker.io, docker-compose and mmdebstrap
#   --deploy-fast  the same without the container tools (scripts/test-deploy.sh --fast)
set -euo pipefail
packages=(
  cmake ninja-build g++ pkg-config git
  libuv1-dev libnats-dev nats-server libzmq3-dev cppzmq-dev libyaml-cpp-dev prometheus-cpp-dev libcurl4-openssl-dev
  catch2 libcli11-dev libspdlog-dev nlohmann-json3-dev
  python3-zmq curl procps openssl  # openssl: scripts/gen-certs.sh (the security tests)
  prometheus-pushgateway  # the metrics_push tests (tests/integration/metrics_push_test.cc)
)
case "${1:-}" in
  --bench) packages+=(haproxy nginx libnginx-mod-stream socat) ;;
  --deploy | --deploy-fast)
    packages+=(prometheus yamllint systemd python3-yaml util-linux)
    command -v node >/dev/null && command -v npm >/dev/null || packages+=(nodejs npm)
    [[ $1 == --deploy-fast ]] || packages+=(docker.io docker-compose mmdebstrap)
    ;;
esac
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [[ $(id -u) -eq 0 ]] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -q
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
