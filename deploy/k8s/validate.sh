#!/usr/bin/env bash
# Offline checks of deploy/k8s (there is no cluster here): yamllint; every document against the
# Kubernetes schemas of npm's kubernetes-models (validate.mjs; node_modules installed here from
# package.json, not committed); a broken copy must be rejected (the validator really validates);
# hubs.yaml must match what gen-hubs.sh makes from deploy/nats; the sidecar configs in the
# ConfigMaps must pass twinhub-sidecar --check-config (build/bin's, or SIDECAR=path; required);
# the kustomization rendered by `kubectl kustomize` (kustomize v5 inside kubectl, no cluster
# needed) and every rendered object schema-checked, and the stamping of one agent into many
# checked (stamp-check.mjs).
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

files=(agent/agent.yaml agent/kustomization.yaml agent/sidecar.yaml agents/*/kustomization.yaml agents/*/sidecar.yaml
       hubs.yaml aggregator.yaml credentials.yaml kustomization.yaml package.json)
yamllint -d '{extends: default, rules: {line-length: {max: 140}, document-start: disable, braces: {max-spaces-inside: 1}, brackets: {max-spaces-inside: 1}, comments: {min-spaces-from-content: 1}}}' \
  "${files[@]}"
say "yamllint ok"

# The kustomization as a cluster would get it: kustomize v5 is built into kubectl and renders
# without an API server.
have_kubectl=1
kubectl=${KUBECTL:-kubectl}  # KUBECTL=none: as on a machine without it
if command -v "$kubectl" >/dev/null; then
  "$kubectl" kustomize . >"$work/rendered.yaml" 2>"$work/out" || { cat "$work/out"; die "kubectl kustomize failed"; }
  say "kubectl kustomize: $(grep -c '^kind:' "$work/rendered.yaml") objects"
else
  # This machine image has kubectl (/usr/lib/google-cloud-sdk); a machine without it still
  # checks the manifests one by one, and says what it did not check.
  have_kubectl=0
  say "SKIPPED: kubectl not found: the kustomization is not rendered and the stamping not checked"
  for f in hubs.yaml aggregator.yaml credentials.yaml agent/agent.yaml; do echo "---"; cat "$f"; done >"$work/rendered.yaml"
  { echo "---"; echo "apiVersion: v1"; echo "kind: ConfigMap"; echo "metadata: {name: twinhub-sidecar-memory}";
    echo "data:"; echo "  sidecar.yaml: |"; sed 's/^/    /' agents/memory/sidecar.yaml; } >>"$work/rendered.yaml"
fi
node validate.mjs "$work/rendered.yaml"

# The validator must reject what a cluster would.
sed 's/^  replicas: 1$/  replicas: "two"/' "$work/rendered.yaml" >"$work/bad-replicas.yaml"
sed 's/containerPort: 7140/containerPort: "front"/' "$work/rendered.yaml" >"$work/bad-port.yaml"
for bad in "$work"/bad-*.yaml; do
  if node validate.mjs "$bad" >"$work/out" 2>&1; then cat "$work/out"; die "$(basename "$bad") was accepted"; fi
done
say "schema validation rejects a broken copy (replicas: \"two\", containerPort: \"front\")"

if ((have_kubectl)); then
  # One agent stamped into many: each its own Service, pods, config and agent name.
  agents=(agents/*/)
  node stamp-check.mjs "$work/rendered.yaml" "${#agents[@]}"
  # ... and the check must catch stamps that forgot their labels (each Service selects both's pods).
  mkdir -p "$work/kbad"
  cp -r agent agents hubs.yaml aggregator.yaml credentials.yaml kustomization.yaml "$work/kbad/"
  for a in resource-manager task-scheduler; do
    sed -i '/^labels:/,/includeSelectors: true/d' "$work/kbad/agents/$a/kustomization.yaml"
  done
  "$kubectl" kustomize "$work/kbad" >"$work/kbad.yaml"
  if node stamp-check.mjs "$work/kbad.yaml" "${#agents[@]}" >"$work/out" 2>&1; then
    cat "$work/out"; die "a stamp without its labels was accepted"
  fi
  say "stamp check rejects two overlays that keep the base's labels"
fi

./gen-hubs.sh "$work/hubs.yaml"
diff -u hubs.yaml "$work/hubs.yaml" || die "hubs.yaml is stale: run deploy/k8s/gen-hubs.sh"
say "hubs.yaml matches deploy/nats/*.conf"

sidecar=${SIDECAR:-$root/build/bin/twinhub-sidecar}
if [[ -x $sidecar ]]; then
  # The ConfigMaps' configs as rendered; the Secret's mount point is replaced by a file here.
  install -m 0600 /dev/null "$work/password" && echo placeholder >"$work/password"
  node --input-type=module -e '
    import fs from "node:fs"; import yaml from "js-yaml";
    for (const d of yaml.loadAll(fs.readFileSync(process.argv[1], "utf8")))
      if (d && d.kind === "ConfigMap" && d.data && d.data["sidecar.yaml"])
        fs.writeFileSync(`${process.argv[2]}/${d.metadata.name}.yaml`,
                         d.data["sidecar.yaml"].replaceAll("/etc/twinhub/credentials/password", `${process.argv[2]}/password`));
  ' "$work/rendered.yaml" "$work"
  for f in "$work"/twinhub-sidecar-*.yaml; do "$sidecar" --check-config "$f"; done
else
  die "no twinhub-sidecar at $sidecar to check the ConfigMaps' sidecar configs (build first, or SIDECAR=...)"
fi
say "ok"
