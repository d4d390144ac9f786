#!/usr/bin/env bash
# Every metric name the alert rules (deploy/prometheus/twinhub-rules.yml) and the Grafana
# dashboard (deploy/grafana/*.json) query must be one the sidecar or the aggregator exposes.
# The exposed names come from real /metrics pages (files given as arguments, as fetched from a
# running twinhub-sidecar and `twinhubctl health watch --metrics`): each `# TYPE` line's family,
# plus _bucket, _sum and _count for histograms. Names not starting with twinhub_ are left alone
# except `up`. Exits 1 naming each unknown metric and where it is used.
#
# usage: deploy/prometheus/check-metric-names.sh SIDECAR_METRICS_FILE AGGREGATOR_METRICS_FILE...
# deploy/prometheus/test-live.sh runs it on the pages of the processes it starts.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
(($# >= 1)) || { sed -n '2,10s/^# \{0,1\}//p' "$0" >&2; exit 2; }
exec /usr/bin/python3 - "$root" "$@" <<'PY'
import glob, json, os, re, sys

root, pages = sys.argv[1], sys.argv[2:]
exposed = {"up"}
for page in pages:
    names = set()
    for line in open(page):
        m = re.match(r"# TYPE (\S+) (\S+)", line)
        if not m:
            continue
        name, kind = m.groups()
        names.add(name)
        if kind in ("histogram", "summary"):
            names |= {name + "_sum", name + "_count"}
            if kind == "histogram":
                names.add(name + "_bucket")
    if not any(n.startswith("twinhub_") for n in names):
        sys.exit(f"check-metric-names: {page} exposes no twinhub_ metric: not a twinhub /metrics page")
    exposed |= names

# Metric names in a PromQL expression: identifiers not followed by "(" (functions), not label
# names (inside {...}), not keywords. twinhub_ names and up are what this project's files use.
def metric_names(expr):
    expr = re.sub(r"\{[^}]*\}", "{}", expr)      # drop label matchers
    expr = re.sub(r'"[^"]*"', '""', expr)         # and strings
    return set(re.findall(r"\b(twinhub_[a-z0-9_]+|up)\b(?!\s*\()", expr))

used = {}  # name -> [where]
import yaml  # python3-yaml
rules_file = os.path.join(root, "deploy/prometheus/twinhub-rules.yml")
for group in yaml.safe_load(open(rules_file))["groups"]:
    for rule in group["rules"]:
        for n in metric_names(rule["expr"]):
            used.setdefault(n, []).append(f"rule {rule.get('alert') or rule.get('record')}")

dashboards = sorted(glob.glob(os.path.join(root, "deploy/grafana/*.json")))
if not dashboards:
    sys.exit("check-metric-names: no dashboard in deploy/grafana/")
def walk(node, title, path):
    if isinstance(node, dict):
        title = node.get("title", title)
        for k, v in node.items():
            if k in ("expr", "query") and isinstance(v, str):
                names = metric_names(v)
                if k == "expr" and not names:
                    sys.exit(f"check-metric-names: {path}: query of panel '{title}' names no metric: {v}")
                for n in names:
                    used.setdefault(n, []).append(f"{os.path.basename(path)} panel '{title}'")
            else:
                walk(v, title, path)
    elif isinstance(node, list):
        for v in node:
            walk(v, title, path)
queries = 0
for d in dashboards:
    doc = json.load(open(d))
    queries += sum(1 for p in doc.get("panels", []) for t in p.get("targets", []))
    walk(doc, "", d)

unknown = {n: w for n, w in used.items() if n not in exposed}
for n, where in sorted(unknown.items()):
    print(f"check-metric-names: {n} is not exposed by the sidecar or the aggregator; used by: {', '.join(sorted(set(where)))}")
print(f"check-metric-names: {len(used)} metric names used by the rules and {queries} dashboard queries; "
      f"{len(exposed)} exposed on {len(pages)} /metrics page(s); {len(unknown)} unknown")
sys.exit(1 if unknown else 0)
PY
