#!/usr/bin/env bash
# Offline checks of deploy/k8s (there is no cluster here): yamllint; every document against the
# Kubernetes schemas of npm's kubernetes-models (validate.mjs; node_modules installed here from
# package.json, not committed); a broken copy must be rejected (the validator really validates);
# hubs.yaml must match what gen-hubs.sh makes from deploy/nats; the sidecar configs in the
# ConfigMaps must pass twinhub-sidecar --check-config (build/bin's, or SIDECAR=path; required);
# kustomization.yaml names exactly these manifests, all present, no object twice, only fields the
# check understands (kustomization-check.mjs; no kustomize exists here, so it is not rendered).
#
# usage: deploy/k8s/validate.sh        (SIDECAR=path/to/twinhub-sidecar to choose the binary)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
cd "$here"
say() { echo "validate: $*"; }
die() { echo "validate: FAILED: $*" >&2; exit 1; }
work=$(mktemp -d /tmp/twinhub-k8s.XXXXXX)
trap 'rm -rf "$work"' EXIT

command -v yamllint >/dev/null || { apt-get update -q >/dev/null; DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends yamllint >/dev/null; }
command -v node >/dev/null || die "node is needed (apt-get install nodejs npm)"
if [[ ! -d node_modules/kubernetes-models || package.json -nt node_modules/.package-lock.json ]]; then
  npm install --no-audit --no-fund --loglevel=error >/dev/null
fi

manifests=(agent-memory.yaml hubs.yaml aggregator.yaml)
yamllint -d '{extends: default, rules: {line-length: {max: 140}, document-start: disable, braces: {max-spaces-inside: 1}, brackets: {max-spaces-inside: 1}, comments: {min-spaces-from-content: 1}}}' \
  "${manifests[@]}" kustomization.yaml package.json
say "yamllint ok"

node validate.mjs "${manifests[@]}"

# The validator must reject what a cluster would.
sed 's/^  replicas: 1$/  replicas: "two"/' agent-memory.yaml >"$work/bad-replicas.yaml"
sed "s/containerPort: 7140/containerPort: \"front\"/" agent-memory.yaml >"$work/bad-port.yaml"
for bad in "$work"/bad-*.yaml; do
  if node validate.mjs "$bad" >"$work/out" 2>&1; then cat "$work/out"; die "$(basename "$bad") was accepted"; fi
done
say "schema validation rejects a broken copy (replicas: \"two\", containerPort: \"front\")"

node kustomization-check.mjs kustomization.yaml "${manifests[@]}"
# ... and must reject a kustomization that names a missing file or a field it does not check.
mkdir "$work/kbad1" "$work/kbad2"
cp "${manifests[@]}" "$work/kbad1/"
cp "${manifests[@]}" "$work/kbad2/"
sed 's/^  - agent-memory.yaml$/  - agent-learning.yaml/' kustomization.yaml >"$work/kbad1/kustomization.yaml"
{ cat kustomization.yaml; echo "namePrefix: x-"; } >"$work/kbad2/kustomization.yaml"
for bad in kbad1 kbad2; do
  if (cd "$work/$bad" && node "$here/kustomization-check.mjs" kustomization.yaml "${manifests[@]}") >"$work/out" 2>&1; then
    cat "$work/out"; die "a broken kustomization ($bad) was accepted"
  fi
done
say "kustomization check rejects a missing resource and an unchecked field"

./gen-hubs.sh "$work/hubs.yaml"
diff -u hubs.yaml "$work/hubs.yaml" || die "hubs.yaml is stale: run deploy/k8s/gen-hubs.sh"
say "hubs.yaml matches deploy/nats/*.conf"

sidecar=${SIDECAR:-$root/build/bin/twinhub-sidecar}
if [[ -x $sidecar ]]; then
  node --input-type=module -e '
    import fs from "node:fs"; import yaml from "js-yaml";
    for (const d of yaml.loadAll(fs.readFileSync(process.argv[1], "utf8")))
      if (d && d.kind === "ConfigMap" && d.data && d.data["sidecar.yaml"])
        fs.writeFileSync(`${process.argv[2]}/${d.metadata.name}.yaml`, d.data["sidecar.yaml"]);
  ' agent-memory.yaml "$work"
  for f in "$work"/twinhub-sidecar-*.yaml; do "$sidecar" --check-config "$f"; done
else
  die "no twinhub-sidecar at $sidecar to check the ConfigMaps' sidecar configs (build first, or SIDECAR=...)"
fi
say "ok"
