#!/usr/bin/env bash
# systemd-analyze verify of the units here: twinhub-sidecar@.service (instantiated) and
# twinhub-aggregator.service, with their ExecStart pointed at built binaries (default build/bin,
# else /usr/local/bin) so that verify sees them. Any output from verify is a failure.
# usage: deploy/systemd/verify.sh [SIDECAR_BINARY [TWINHUBCTL_BINARY]]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
find_bin() {  # NAME GIVEN
  local b=${2:-$here/../../build/bin/$1}
  [[ -x $b ]] || b=/usr/local/bin/$1
  [[ -x $b ]] || { echo "verify: no $1 binary (build first or pass its path)" >&2; exit 1; }
  readlink -f "$b"
}
sidecar=$(find_bin twinhub-sidecar "${1:-}")
ctl=$(find_bin twinhubctl "${2:-}")
work=$(mktemp -d /tmp/twinhub-systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT
sed "s#/usr/local/bin/twinhub-sidecar#$sidecar#g" "$here/twinhub-sidecar@.service" >"$work/twinhub-sidecar@.service"
ln -s "twinhub-sidecar@.service" "$work/twinhub-sidecar@MemoryOrchestratorService.service"
sed "s#/usr/local/bin/twinhubctl#$ctl#g" "$here/twinhub-aggregator.service" >"$work/twinhub-aggregator.service"
for unit in twinhub-sidecar@MemoryOrchestratorService.service twinhub-aggregator.service; do
  out=$(systemd-analyze verify --man=no "$work/$unit" 2>&1) || { echo "$out" >&2; echo "verify: $unit failed" >&2; exit 1; }
  [[ -z $out ]] || { echo "$out" >&2; echo "verify: $unit: warnings above" >&2; exit 1; }
  echo "verify: $unit clean"
done
