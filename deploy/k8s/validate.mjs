// Validates every document of the given YAML files against the Kubernetes schemas of npm's
// kubernetes-models (no cluster needed). Prints one line per document; exits 1 on any problem.
import fs from "node:fs";
import yaml from "js-yaml";

let failed = 0;
for (const file of process.argv.slice(2)) {
  const docs = yaml.loadAll(fs.readFileSync(file, "utf8")).filter((d) => d != null);
  for (const doc of docs) {
    const where = `${file}: ${doc.kind}/${doc.metadata?.name}`;
    const [group, version] = doc.apiVersion.includes("/") ? doc.apiVersion.split("/") : ["", doc.apiVersion];
    const path = group ? `kubernetes-models/${group}/${version}` : `kubernetes-models/${version}`;
    let Model;
    try {
      Model = (await import(path))[doc.kind];
    } catch (e) {
      Model = undefined;
    }
    if (!Model) {
      console.log(`${where}: no schema for ${doc.apiVersion} ${doc.kind}`);
      failed++;
      continue;
    }
    try {
      new Model(doc).validate();
      console.log(`${where}: ok`);
    } catch (e) {
      console.log(`${where}: ${e.message}`);
      failed++;
    }
  }
}
process.exit(failed ? 1 : 0);
