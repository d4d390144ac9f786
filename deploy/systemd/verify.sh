#!/usr/bin/env bash
# systemd-analyze verify of twinhub-sidecar@.service, instantiated, with ExecStart pointed at a
# built twinhub-sidecar (default build/bin, else /usr/local/bin) so that verify sees a binary.
# usage: deploy/systemd/verify.sh [SIDECAR_BINARY]
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin=${1:-$here/../../build/bin/twinhub-sidecar}
[[ -x $bin ]] || bin=/usr/local/bin/twinhub-sidecar
[[ -x $bin ]] || { echo "verify: no twinhub-sidecar binary (build first or pass its path)" >&2; exit 1; }
bin=$(readlink -f "$bin")
work=$(mktemp -d /tmp/twinhub-systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT
sed "s#/usr/local/bin/twinhub-sidecar#$bin#g" "$here/twinhub-sidecar@.service" >"$work/twinhub-sidecar@.service"
ln -s "twinhub-sidecar@.service" "$work/twinhub-sidecar@MemoryOrchestratorService.service"
out=$(systemd-analyze verify --man=no "$work/twinhub-sidecar@MemoryOrchestratorService.service" 2>&1) || { echo "$out" >&2; exit 1; }
[[ -z $out ]] || { echo "$out" >&2; echo "verify: warnings above" >&2; exit 1; }
echo "verify: twinhub-sidecar@.service clean"
