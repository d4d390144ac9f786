# shellcheck shell=bash
# Shared by deploy/docker/build-image.sh and deploy/compose/smoke.sh: a Docker engine to talk to
# (the one DOCKER_HOST names, else a private dockerd this script starts and stops), and the local
# Debian 12 base image made with mmdebstrap. Source it; it defines functions only.
#
# Environment:
#   TWINHUB_DOCKER_ROOT  private dockerd's data-root, exec-root, socket and pidfile, and the base
#                        tarball cache (default /var/tmp/twinhub-docker; images persist there)
#   KEEP_DOCKERD=1       leave a dockerd this script started running (prints its DOCKER_HOST)
#   DEBIAN_MIRROR        mirror for mmdebstrap (default http://deb.debian.org/debian)

docker_root=${TWINHUB_DOCKER_ROOT:-/var/tmp/twinhub-docker}
base_image=${BASE_IMAGE:-local/bookworm:12}
# Debian's client: /usr/local/bin/docker (28.x) has no compose plugin and warns about buildx.
docker_bin=/usr/bin/docker
started_dockerd_pid=

dlog() { echo "[$(date +%T)] ${log_tag:-deploy}: $*" >&2; }
ddie() { dlog "error: $*"; exit 1; }
dk() { "$docker_bin" "$@"; }

# Installs what the deployment scripts need from Debian (idempotent).
ensure_packages() {
  local p missing=()
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  ((${#missing[@]})) || return 0
  dlog "installing ${missing[*]}"
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
}

docker_reachable() { timeout 10 "$docker_bin" version >/dev/null 2>&1; }

# Uses DOCKER_HOST when it answers; otherwise starts dockerd on a private socket (a stale one of
# ours from an earlier run is reused if it still answers).
ensure_dockerd() {
  ensure_packages docker.io
  if [[ -n ${DOCKER_HOST:-} ]] && docker_reachable; then dlog "using DOCKER_HOST=$DOCKER_HOST"; return 0; fi
  export DOCKER_HOST="unix://$docker_root/docker.sock"
  if docker_reachable; then dlog "using the running private dockerd at $DOCKER_HOST"; return 0; fi
  mkdir -p "$docker_root"/{data,exec}
  # A dockerd of ours that died leaves a pidfile and maybe an nsfs mount behind.
  rm -f "$docker_root/docker.pid" "$docker_root/docker.sock"
  rm -rf "$docker_root/base/"*.part
  nice -n 10 /usr/sbin/dockerd --data-root "$docker_root/data" --exec-root "$docker_root/exec" \
    --pidfile "$docker_root/docker.pid" -H "$DOCKER_HOST" \
    >"$docker_root/dockerd.log" 2>&1 &
  started_dockerd_pid=$!
  local _
  for _ in $(seq 150); do
    docker_reachable && { dlog "started dockerd pid $started_dockerd_pid at $DOCKER_HOST"; return 0; }
    kill -0 "$started_dockerd_pid" 2>/dev/null || { tail -n 20 "$docker_root/dockerd.log" >&2; ddie "dockerd exited"; }
    sleep 0.2
  done
  ddie "dockerd not ready after 30 s (log: $docker_root/dockerd.log)"
}

# Stops the dockerd this script started (not one it found running), unless KEEP_DOCKERD=1.
stop_dockerd() {
  [[ -n $started_dockerd_pid ]] || return 0
  if [[ ${KEEP_DOCKERD:-0} == 1 ]]; then
    dlog "leaving dockerd pid $started_dockerd_pid running: export DOCKER_HOST=$DOCKER_HOST"
    return 0
  fi
  kill -TERM "$started_dockerd_pid" 2>/dev/null || true
  local _
  for _ in $(seq 100); do kill -0 "$started_dockerd_pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$started_dockerd_pid" 2>/dev/null || true
  wait "$started_dockerd_pid" 2>/dev/null || true
  # dockerd may leave its default netns mounted under exec-root.
  local m
  for m in $(awk -v r="$docker_root/exec" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
  done
  # Its default bridge outlives it; remove it unless another dockerd (someone else's) runs.
  if ! pgrep -x dockerd >/dev/null && ip link show docker0 >/dev/null 2>&1; then
    ip link delete docker0 2>/dev/null || true
  fi
  started_dockerd_pid=
  dlog "stopped the private dockerd"
}

# The Debian 12 base image, from a cached mmdebstrap tarball. The base carries the apt settings
# the official images have (no .deb or pkgcache left in layers), and dpkg excludes for docs.
ensure_base_image() {
  if dk image inspect "$base_image" >/dev/null 2>&1; then return 0; fi
  local tar="$docker_root/base/bookworm-minbase.tar"
  if [[ ! -s $tar ]]; then
    ensure_packages mmdebstrap
    mkdir -p "$docker_root/base"
    local mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
    local security=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
    dlog "making $tar with mmdebstrap from $mirror"
    local clean='DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
Acquire::Languages "none";
APT::Install-Recommends "false";'
    # Debian's python3 for mmtarfilter, not a python a user's PATH puts first (pyenv).
    PATH=/usr/sbin:/usr/bin:/sbin:/bin nice -n 10 mmdebstrap --variant=minbase --format=tar --quiet \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-exclude=/usr/share/info/*' \
      --customize-hook="printf '%s\n' '$clean' > \"\$1/etc/apt/apt.conf.d/docker-clean\"" \
      --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/*.bin' \
      bookworm "$tar.part" \
      "deb $mirror bookworm main" "deb $mirror bookworm-updates main" "deb $security bookworm-security main"
    mv "$tar.part" "$tar"
  fi
  dlog "importing $tar as $base_image"
  dk import --change 'CMD ["/bin/bash"]' "$tar" "$base_image" >/dev/null
}
