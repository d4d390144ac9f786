#include "fleet/plan_table.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "fleet/batch_index.h"
#include "fleet/ports.h"

namespace twinhub::fleet {

namespace {

using Row = std::vector<std::string>;

std::string seconds(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g s", s);
  return buf;
}

std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string depsText(const Fleet& fleet, const Agent& a, const BatchIndex& index) {
  if (a.deps.empty()) return "-";
  std::string out;
  for (const NamedRef& d : a.deps) {
    std::string where = fleet.findExternal(d.name) ? "external" : "";
    if (std::optional<size_t> b = index.batchOf(d.name)) where = "b" + std::to_string(*b + 1);
    out += (out.empty() ? "" : ", ") + d.name + (where.empty() ? "" : " (" + where + ")");
  }
  return out;
}

std::string machinesText(const Agent& a) {
  std::string out;
  for (const std::string& m : placementsOf(a)) out += (out.empty() ? "" : "+") + m;
  return out;
}

Row agentRow(const Fleet& fleet, const Agent& a, const BatchIndex& index) {
  const AgentPorts p = portsOf(a, fleet.layout);
  return {a.name,
          machinesText(a),
          std::to_string(p.front),
          std::to_string(p.agent),
          std::to_string(p.health) + " " + healthProtocolName(healthOf(a, fleet.layout)),
          std::to_string(p.metrics),
          depsText(fleet, a, index)};
}

// Columns padded to their widest cell; the last column is not padded.
void printRows(std::ostringstream& out, const std::vector<Row>& rows) {
  std::vector<size_t> width;
  for (const Row& row : rows) {
    width.resize(std::max(width.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  for (const Row& row : rows) {
    out << "  ";
    for (size_t i = 0; i < row.size(); ++i) {
      out << row[i];
      if (i + 1 < row.size()) out << std::string(width[i] - row[i].size() + 2, ' ');
    }
    out << "\n";
  }
}

void printHeader(std::ostringstream& out, const Fleet& fleet) {
  size_t migrating = 0;
  for (const Agent& a : fleet.agents) migrating += a.migrate ? 1 : 0;
  out << "fleet " << fleet.source << ": " << fleet.agents.size() << " agents (" << migrating << " migrating) in "
      << fleet.batches.size() << " batches\n";
  for (const Machine& m : fleet.machines) {
    out << "  machine " << m.name << (m.address.empty() ? "" : " (" + m.address + ")") << ": hub " << m.hub.name
        << ", sidecars prefer";
    for (const Hub* hub : fleet.hubsFor(m)) out << " " << hub->name;
    out << "\n";
  }
  const Thresholds& t = fleet.thresholds;
  out << "  migration: soak " << seconds(t.soak_s) << ", baseline window " << seconds(t.baseline_window_s) << " (at least "
      << t.min_samples << " samples), breach when p99 latency > " << number(t.max_latency_ratio_p99)
      << "x baseline (and > baseline + " << number(t.min_latency_delta_ms) << " ms) or error rate > " << number(t.max_error_rate) << "; flip timeout " << seconds(t.flip_timeout_s)
      << ", provisional deadline " << seconds(t.provisional_deadline_s) << "\n";
}

}  // namespace

std::string planTable(const Fleet& fleet) {
  std::ostringstream out;
  printHeader(out, fleet);
  const BatchIndex index(fleet);
  const Row heading = {"agent", "machine", "front", "agent", "health", "metrics", "deps (batch)"};
  for (size_t b = 0; b < fleet.batches.size(); ++b) {
    const Batch& batch = fleet.batches[b];
    out << "\nbatch " << b + 1 << ": " << batch.name << " (" << batch.agents.size() << " agents)\n";
    std::vector<Row> rows{heading};
    for (const NamedRef& ref : batch.agents) {
      if (const Agent* a = fleet.findAgent(ref.name)) rows.push_back(agentRow(fleet, *a, index));
    }
    printRows(out, rows);
  }
  std::vector<Row> kept{heading};
  for (const Agent& a : fleet.agents) {
    if (!a.migrate) kept.push_back(agentRow(fleet, a, index));
  }
  if (kept.size() > 1) {
    out << "\nnot migrated (migrate: false; sidecar configs only)\n";
    printRows(out, kept);
  }
  return out.str();
}

}  // namespace twinhub::fleet
