// Checks what stamping one agent into many must get right, on the rendered kustomization
// (`kubectl kustomize deploy/k8s`): every agent Deployment has its own Service whose selector
// picks its pods and no other Deployment's; every ConfigMap or Secret a pod mounts exists; the
// agent-sim's --name is the service its sidecar serves and fronts; no two objects share kind and
// name. Prints one line per agent; exits 1 on any problem.
//
// usage: node stamp-check.mjs RENDERED.yaml EXPECTED_AGENTS
import fs from "node:fs";
import yaml from "js-yaml";

const [file, expected] = process.argv.slice(2);
const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d != null);
const problems = [];
const seen = new Set();
for (const d of docs) {
  const key = `${d.kind}/${d.metadata?.namespace ?? ""}/${d.metadata?.name}`;
  if (seen.has(key)) problems.push(`${key} twice`);
  seen.add(key);
}
const named = (kind, name) => docs.find((d) => d.kind === kind && d.metadata?.name === name);
const selects = (selector, labels) => Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const deployments = docs.filter((d) => d.kind === "Deployment");
const agents = deployments.filter((d) => d.spec.template.spec.initContainers?.some((c) => c.name === "twinhub-sidecar"));
if (agents.length !== Number(expected)) problems.push(`${agents.length} agent Deployments rendered, expected ${expected}`);
const ports = new Set();
for (const dep of agents) {
  const name = dep.metadata.name;
  const pod = dep.spec.template;
  const service = named("Service", name);
  if (!service) {
    problems.push(`${name}: no Service of that name`);
  } else {
    if (!selects(service.spec.selector, pod.metadata.labels)) problems.push(`${name}: its Service does not select its pods`);
    for (const other of deployments) {
      if (other !== dep && selects(service.spec.selector, other.spec.template.metadata.labels)) {
        problems.push(`${name}: its Service also selects ${other.metadata.name}'s pods`);
      }
    }
    const port = service.spec.ports?.[0]?.port;
    if (ports.has(port)) problems.push(`${name}: public port ${port} used twice`);
    ports.add(port);
  }
  if (!selects(dep.spec.selector.matchLabels, pod.metadata.labels)) problems.push(`${name}: selector does not match its template`);
  for (const v of pod.spec.volumes ?? []) {
    if (v.configMap && !named("ConfigMap", v.configMap.name)) problems.push(`${name}: ConfigMap ${v.configMap.name} missing`);
    if (v.secret && !named("Secret", v.secret.secretName)) problems.push(`${name}: Secret ${v.secret.secretName} missing`);
  }
  const args = pod.spec.containers.find((c) => c.name === "agent")?.args ?? [];
  const agentName = args[args.indexOf("--name") + 1];
  const cm = named("ConfigMap", pod.spec.volumes?.find((v) => v.name === "config")?.configMap?.name);
  const config = cm ? yaml.load(cm.data["sidecar.yaml"]) : {};
  const served = config?.serve?.service;
  const fronted = (config?.fronts ?? []).map((f) => f.service);
  if (!agentName || agentName !== served || !fronted.includes(served)) {
    problems.push(`${name}: agent-sim --name ${agentName}, sidecar serves ${served}, fronts ${fronted.join(",")}`);
  }
  console.log(`${name}: ${agentName} on port ${service?.spec.ports?.[0]?.port}, sidecar ${config?.sidecar?.id}, config ${cm?.metadata.name}`);
}
for (const p of problems) console.log(`stamp-check: ${p}`);
process.exit(problems.length ? 1 : 0);
