#!/usr/bin/env bash
# Builds the twinhub images without a registry: a Debian 12 base made locally with mmdebstrap
# (cached), the project image from the top-level Dockerfile (BASE=that base), and the small
# images the compose layout uses (hub: nats-server; prometheus: Prometheus and Pushgateway),
# all from Debian packages. Prints each image's size. Idempotent: a second run reuses every layer.
#
# usage: deploy/docker/build-image.sh
#
# Environment: IMAGE (default twinhub:local), HUB_IMAGE (twinhub-hub:local), PROM_IMAGE
# (twinhub-prometheus:local), ONLY=project to skip the hub and prometheus images, JOBS (compile
# jobs, default 1), plus lib.sh's: DOCKER_HOST (used when reachable, else a private dockerd is
# started and stopped on exit), KEEP_DOCKERD=1, TWINHUB_DOCKER_ROOT.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log_tag=build-image
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0; }

image=${IMAGE:-twinhub:local}
hub_image=${HUB_IMAGE:-twinhub-hub:local}
prom_image=${PROM_IMAGE:-twinhub-prometheus:local}

trap stop_dockerd EXIT
trap 'exit 130' INT TERM
ensure_dockerd
t0=$SECONDS
ensure_base_image
dlog "base $base_image ready ($((SECONDS - t0)) s)"

build() {
  local tag=$1 file=$2 context=$3 t=$SECONDS
  shift 3
  nice -n 10 "$docker_bin" build -q -f "$file" --build-arg BASE="$base_image" "$@" -t "$tag" "$context" >/dev/null ||
    { dlog "build of $tag failed; again with output:"; nice -n 10 "$docker_bin" build -f "$file" --build-arg BASE="$base_image" "$@" -t "$tag" "$context" >&2; exit 1; }
  dlog "$tag built in $((SECONDS - t)) s"
}
# The build stage is tagged too: the legacy builder's cache is its intermediate images, and
# untagged ones are pruned below, which would throw the -dev packages' layer away each time.
build "${image%%:*}-build:${image##*:}" "$root/Dockerfile" "$root" --build-arg JOBS="${JOBS:-1}" --target build
build "$image" "$root/Dockerfile" "$root" --build-arg JOBS="${JOBS:-1}"
if [[ ${ONLY:-} != project ]]; then
  build "$hub_image" "$here/Dockerfile.hub" "$root"
  build "$prom_image" "$here/Dockerfile.prometheus" "$root"
fi
# Dangling images from earlier builds of the same tags would pile up in the data-root (the
# tags above keep the current build's cache).
dk image prune -f >/dev/null
for t in "$image" "$hub_image" "$prom_image"; do
  dk image inspect "$t" >/dev/null 2>&1 || continue
  bytes=$(dk image inspect -f '{{.Size}}' "$t")
  echo "image $t $((bytes / 1000000)) MB ($bytes bytes)"
done
dk run --rm "$image" twinhub-sidecar --version
