#include "fleet/plan_json.h"

#include "fleet/ports.h"

namespace twinhub::fleet {

namespace {

// Ordered: keys print in the order written, the order docs/fleet.md lists them.
using json = nlohmann::ordered_json;

// The first ProblemList::kMaxListed, like the text output; the counts say how many there were.
json problemsJson(const ProblemList& problems, Severity severity) {
  json out = json::array();
  const std::vector<Problem> all = problems.sorted(severity);
  for (size_t i = 0; i < all.size() && i < ProblemList::kMaxListed; ++i) {
    const Problem& p = all[i];
    out.push_back({{"file", problems.file()}, {"line", p.pos.line}, {"column", p.pos.column}, {"message", p.message}});
  }
  return out;
}

json names(const std::vector<NamedRef>& refs) {
  json out = json::array();
  for (const NamedRef& r : refs) out.push_back(r.name);
  return out;
}

json machineJson(const Fleet& fleet, const Machine& m) {
  json hubs = json::array();
  for (const Hub* hub : fleet.hubsFor(m)) hubs.push_back(hub->name);
  return {{"name", m.name}, {"address", m.address}, {"hub", {{"name", m.hub.name}, {"urls", m.hub.urls}}},
          {"hub_preference", hubs}};
}

json agentJson(const Fleet& fleet, const Agent& a) {
  const AgentPorts p = portsOf(a, fleet.layout);
  json sidecars = json::array();
  for (const std::string& m : placementsOf(a)) sidecars.push_back(sidecarId(m, a.name));
  return {{"name", a.name},
          {"machine", a.machine.name},
          {"replicas", names(a.replicas)},
          {"sidecars", sidecars},
          {"ports", {{"front", p.front}, {"agent", p.agent}, {"health", p.health}, {"metrics", p.metrics}}},
          {"health", healthProtocolName(healthOf(a, fleet.layout))},
          {"deps", names(a.deps)},
          {"migrate", a.migrate}};
}

json thresholdsJson(const Thresholds& t) {
  return {{"soak_s", t.soak_s},
          {"baseline_window_s", t.baseline_window_s},
          {"min_samples", t.min_samples},
          {"max_latency_ratio_p99", t.max_latency_ratio_p99},
          {"min_latency_delta_ms", t.min_latency_delta_ms},
          {"max_error_rate", t.max_error_rate},
          {"flip_timeout_s", t.flip_timeout_s},
          {"provisional_deadline_s", t.provisional_deadline_s}};
}

json batchesJson(const Fleet& fleet) {
  json out = json::array();
  for (size_t b = 0; b < fleet.batches.size(); ++b) {
    json agents = json::array();
    for (const NamedRef& ref : fleet.batches[b].agents) {
      if (const Agent* a = fleet.findAgent(ref.name)) agents.push_back(agentJson(fleet, *a));
    }
    out.push_back({{"index", b + 1}, {"name", fleet.batches[b].name}, {"agents", agents}});
  }
  return out;
}

}  // namespace

json planJson(const FleetLoadResult& loaded) {
  const Fleet& fleet = loaded.fleet;
  json out = {{"v", 1},
              {"fleet", fleet.source},
              {"valid", loaded.ok()},
              {"error_count", loaded.problems.count(Severity::kError)},
              {"warning_count", loaded.problems.count(Severity::kWarning)},
              {"errors", problemsJson(loaded.problems, Severity::kError)},
              {"warnings", problemsJson(loaded.problems, Severity::kWarning)}};
  if (!loaded.ok()) return out;
  json machines = json::array(), kept = json::array();
  for (const Machine& m : fleet.machines) machines.push_back(machineJson(fleet, m));
  for (const Agent& a : fleet.agents) {
    if (!a.migrate) kept.push_back(agentJson(fleet, a));
  }
  out["machines"] = machines;
  out["thresholds"] = thresholdsJson(fleet.thresholds);
  out["batches"] = batchesJson(fleet);
  out["not_migrated"] = kept;
  return out;
}

std::string planJsonText(const FleetLoadResult& loaded) {
  return planJson(loaded).dump(2, ' ', false, json::error_handler_t::replace);
}

}  // namespace twinhub::fleet
