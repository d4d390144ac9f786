// Offline checks of a kustomization.yaml, since no kustomize runs here: the fields are the
// subset this repository uses (anything else would go unchecked, so it is refused); every
// resource is a file beside it, and the set equals the manifests validate.sh schema-checks
// (argv after the kustomization); no two objects share group, kind, namespace and name (kustomize
// refuses that); label pairs are valid label keys and values. Exits 1 on any problem.
//
// usage: node kustomization-check.mjs kustomization.yaml MANIFEST...
import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

const [file, ...validated] = process.argv.slice(2);
const dir = path.dirname(file);
const problems = [];
const k = yaml.load(fs.readFileSync(file, "utf8"));
const allowed = new Set(["apiVersion", "kind", "labels", "resources", "namespace"]);
if (k?.apiVersion !== "kustomize.config.k8s.io/v1beta1" || k?.kind !== "Kustomization") {
  problems.push("apiVersion/kind must be kustomize.config.k8s.io/v1beta1 Kustomization");
}
for (const key of Object.keys(k ?? {})) {
  if (!allowed.has(key)) problems.push(`field '${key}' is not one this check understands (${[...allowed].join(", ")})`);
}
const labelKey = /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;
for (const entry of k?.labels ?? []) {
  for (const [key, value] of Object.entries(entry.pairs ?? {})) {
    if (!labelKey.test(key) || !labelValue.test(String(value))) problems.push(`label ${key}: ${value} is not a valid label`);
  }
}
const resources = k?.resources ?? [];
if (!Array.isArray(resources) || resources.length === 0) problems.push("resources must be a non-empty list");
const seen = new Map();
for (const r of resources) {
  const p = path.join(dir, r);
  if (r.includes("..") || path.isAbsolute(r)) problems.push(`resource ${r}: must be a file beside the kustomization`);
  if (!fs.existsSync(p) || !fs.statSync(p).isFile()) {
    problems.push(`resource ${r}: no such file`);
    continue;
  }
  if (!validated.includes(r)) problems.push(`resource ${r}: not among the schema-validated manifests (${validated.join(" ")})`);
  for (const doc of yaml.loadAll(fs.readFileSync(p, "utf8")).filter((d) => d != null)) {
    const group = doc.apiVersion?.includes("/") ? doc.apiVersion.split("/")[0] : "";
    const id = `${group}/${doc.kind}/${doc.metadata?.namespace ?? k.namespace ?? ""}/${doc.metadata?.name}`;
    if (seen.has(id)) problems.push(`${doc.kind} ${doc.metadata?.name} is in both ${seen.get(id)} and ${r}`);
    seen.set(id, r);
  }
}
for (const m of validated) {
  if (!resources.includes(m)) problems.push(`manifest ${m} is validated but not in ${path.basename(file)}'s resources`);
}
for (const p of problems) console.log(`${file}: ${p}`);
if (problems.length) process.exit(1);
console.log(`${file}: ok (${resources.length} resources, ${seen.size} objects, no duplicates; not rendered: no kustomize here)`);
