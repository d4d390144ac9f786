#!/usr/bin/env bash
# Builds the twinhub images without a registry: a Debian 12 base made locally with mmdebstrap
# (cached), the project image from the top-level Dockerfile (BASE=that base), and the small
# images the compose layout uses (hub: nats-server; prometheus: Prometheus and Pushgateway),
# all from Debian packages. Prints each image's size. Idempotent: a second run reuses every layer.
#
# usage: deploy/docker/build-image.sh [--prepare]
#   --prepare  only what needs no twinhub binary (the base, the runtime-base stage, the hub and
#              Prometheus images: mostly downloads), e.g. while the project compiles; a later run
#              with TWINHUB_PREBUILT then only adds the binaries (.ci/run does this)
#
# Environment: IMAGE (default twinhub:local), HUB_IMAGE (twinhub-hub:local), PROM_IMAGE
# (twinhub-prometheus:local), ONLY=project to skip the hub and prometheus images, JOBS (compile
# jobs, default 1), TWINHUB_PREBUILT=DIR (e.g. build/bin: package the twinhub-* binaries of a
# RelWithDebInfo, non-sanitizer host build on Debian 12 with deploy/docker/Dockerfile.prebuilt
# instead of compiling in the build stage; what CI does), plus lib.sh's: DOCKER_HOST (used when
# reachable, else a private dockerd is started and stopped on exit), KEEP_DOCKERD=1,
# TWINHUB_DOCKER_ROOT.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
log_tag=build-image
# shellcheck source=lib.sh
source "$here/lib.sh"
[[ ${1:-} == -h || ${1:-} == --help ]] && { sed -n '2,20s/^# \{0,1\}//p' "$0"; exit 0; }

image=${IMAGE:-twinhub:local}
hub_image=${HUB_IMAGE:-twinhub-hub:local}
prom_image=${PROM_IMAGE:-twinhub-prometheus:local}

prebuilt_dir=
trap 'stop_dockerd; [[ -z $prebuilt_dir ]] || rm -rf "$prebuilt_dir"' EXIT
trap 'exit 130' INT TERM
# Binaries from a host build: stripped like the build stage's, only the project's programs
# (twinhub-*: not the tests or benchmarks beside them), from a build the image can run.
prebuilt_context() {
  local dir=$1 cache b n=0
  cache="$(cd "$dir/.." && pwd)/CMakeCache.txt"
  [[ -f $cache ]] || ddie "TWINHUB_PREBUILT=$dir: no CMakeCache.txt beside it (a scripts/build.sh build/bin?)"
  # An empty build type is the project's default, RelWithDebInfo.
  grep -Eqx 'CMAKE_BUILD_TYPE:STRING=(|RelWithDebInfo|Release)' "$cache" || ddie "$dir: not a RelWithDebInfo or Release build"
  grep -Eq '^TWINHUB_(SANITIZE|TSAN|FUZZ):BOOL=ON' "$cache" && ddie "$dir: a sanitizer or fuzz build"
  [[ $(. /etc/os-release && echo "$ID $VERSION_ID") == "debian 12" ]] ||
    dlog "warning: this host is not Debian 12: the image's libraries may not match (ldd checks it)"
  prebuilt_dir=$(mktemp -d /tmp/twinhub-prebuilt.XXXXXX)
  mkdir "$prebuilt_dir/bin"
  for b in "$dir"/twinhub*; do
    [[ -f $b && -x $b ]] || continue
    strip --strip-unneeded -o "$prebuilt_dir/bin/${b##*/}" "$b"
    n=$((n + 1))
  done
  ((n)) || ddie "$dir has no twinhub-* binaries"
  dlog "packaging $n host binaries from $dir: $(cd "$prebuilt_dir/bin" && echo *)"
}
prepare=0
[[ ${1:-} == --prepare ]] && prepare=1
((prepare)) || [[ -z ${TWINHUB_PREBUILT:-} ]] || prebuilt_context "$TWINHUB_PREBUILT"
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
# Tagged so that the prune below keeps the runtime packages' layer.
runtime_base="${image%%:*}-runtime-base:${image##*:}"
if ((prepare)); then
  build "$runtime_base" "$root/Dockerfile" "$root" --target runtime-base
elif [[ -n $prebuilt_dir ]]; then
  build "$runtime_base" "$root/Dockerfile" "$root" --target runtime-base
  build "$image" "$here/Dockerfile.prebuilt" "$prebuilt_dir" --build-arg RUNTIME_BASE="$runtime_base"
else
  # The build stage is tagged too: the legacy builder's cache is its intermediate images, and
  # untagged ones are pruned below, which would throw the -dev packages' layer away each time.
  build "${image%%:*}-build:${image##*:}" "$root/Dockerfile" "$root" --build-arg JOBS="${JOBS:-1}" --target build
  build "$image" "$root/Dockerfile" "$root" --build-arg JOBS="${JOBS:-1}"
fi
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
((prepare)) || dk run --rm "$image" twinhub-sidecar --version
