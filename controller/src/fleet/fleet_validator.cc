#include "fleet/fleet_validator.h"

#include <map>
#include <set>

#include "fleet/batch_index.h"
#include "fleet/port_clash_checker.h"
#include "fleet/ports.h"

namespace twinhub::fleet {

namespace {

// "batch 4 (specialized-services)", or "batch 4" when the batch has no name of its own.
std::string batchLabel(const Fleet& fleet, size_t index) {
  const std::string number = "batch " + std::to_string(index + 1);
  const std::string& name = fleet.batches[index].name;
  return name == number ? number : number + " (" + name + ")";
}

// Reports the second and later definitions of a name, naming the first.
template <typename T, typename PosOf>
void checkUniqueNames(const std::vector<T>& items, const std::string& what, PosOf posOf, ProblemList& problems,
                      std::map<std::string, SourcePos>& seen) {
  for (const T& item : items) {
    if (item.name.empty()) continue;  // already reported as missing
    auto [it, inserted] = seen.emplace(item.name, posOf(item));
    if (!inserted) {
      problems.error(posOf(item), what + " '" + item.name + "' is defined twice (first at " +
                                      where(problems.file(), it->second) + ")");
    }
  }
}

void checkNames(const Fleet& fleet, ProblemList& problems) {
  std::map<std::string, SourcePos> machines, hubs, services;
  checkUniqueNames(fleet.machines, "machine", [](const Machine& m) { return m.pos; }, problems, machines);
  std::vector<Hub> all_hubs;
  for (const Machine& m : fleet.machines) all_hubs.push_back(m.hub);
  checkUniqueNames(all_hubs, "hub", [](const Hub& h) { return h.pos; }, problems, hubs);
  // Agents and externals share one namespace: a dependency names either.
  checkUniqueNames(fleet.agents, "agent", [](const Agent& a) { return a.pos; }, problems, services);
  checkUniqueNames(fleet.externals, "service", [](const External& e) { return e.pos; }, problems, services);
  std::map<std::string, SourcePos> batches;
  checkUniqueNames(fleet.batches, "batch", [](const Batch& b) { return b.pos; }, problems, batches);
}

void checkMachines(const Fleet& fleet, ProblemList& problems) {
  if (fleet.machines.empty()) problems.error({}, "the fleet has no machines");
  for (const Machine& m : fleet.machines) {
    std::set<std::string> seen;
    for (const NamedRef& hub : m.prefer) {
      if (!fleet.findHub(hub.name)) {
        problems.error(hub.pos, "machine '" + m.name + "' prefers hub '" + hub.name + "', which no machine runs");
      } else if (!seen.insert(hub.name).second) {
        problems.error(hub.pos, "machine '" + m.name + "' lists hub '" + hub.name + "' twice in prefer");
      }
    }
  }
}

void checkAgentRefs(const Fleet& fleet, const Agent& a, ProblemList& problems) {
  if (!a.machine.name.empty() && !fleet.findMachine(a.machine.name)) {
    problems.error(a.machine.pos, "agent '" + a.name + "' is on machine '" + a.machine.name + "', which is not under machines");
  }
  std::set<std::string> placed{a.machine.name};
  for (const NamedRef& r : a.replicas) {
    if (!fleet.findMachine(r.name)) {
      problems.error(r.pos, "agent '" + a.name + "' has a replica on machine '" + r.name + "', which is not under machines");
    } else if (!placed.insert(r.name).second) {
      problems.error(r.pos, "agent '" + a.name + "' is placed on machine '" + r.name + "' twice");
    }
  }
  for (const NamedRef& d : a.deps) {
    if (d.name == a.name) {
      problems.error(d.pos, "agent '" + a.name + "' depends on itself");
    } else if (!fleet.findAgent(d.name) && !fleet.findExternal(d.name)) {
      problems.error(d.pos, "agent '" + a.name + "' depends on '" + d.name +
                                "', which is neither an agent nor under externals");
    }
  }
}

void checkBatches(const Fleet& fleet, const BatchIndex& index, ProblemList& problems) {
  if (fleet.batches.empty()) problems.error({}, "the fleet has no batches: nothing to migrate");
  for (const BatchIndex::Misplaced& m : index.repeats()) {
    const std::string first = where(problems.file(), m.first_pos);
    const std::string batch = batchLabel(fleet, m.batch);
    if (m.batch == m.first_batch) {
      problems.error(m.pos, "agent '" + m.agent + "' is listed twice in " + batch + " (first at " + first + ")");
    } else {
      problems.error(m.pos, "agent '" + m.agent + "' is in " + batch + " and already in " +
                                batchLabel(fleet, m.first_batch) + ", at " + first + "; an agent migrates once");
    }
  }
  for (size_t b = 0; b < fleet.batches.size(); ++b) {
    for (const NamedRef& ref : fleet.batches[b].agents) {
      const Agent* a = fleet.findAgent(ref.name);
      if (!a) {
        problems.error(ref.pos, batchLabel(fleet, b) + " names agent '" + ref.name + "', which is not under agents");
      } else if (!a->migrate) {
        problems.error(ref.pos, batchLabel(fleet, b) + " names agent '" + ref.name + "', which says migrate: false");
      }
    }
  }
  for (const Agent& a : fleet.agents) {
    if (a.migrate && !a.name.empty() && !index.batchOf(a.name)) {
      problems.error(a.pos, "agent '" + a.name + "' is in no batch; add it to one, or set migrate: false to leave it in direct mode");
    }
  }
}

// A dependency that moves later than its dependent: the dependent runs on the hubs a while
// calling a service that is still direct. That works (fronts reach direct agents), so it is a
// warning: the plan's own batch 1 has TaskScheduler depend on batch 3's AsyncProcessor.
void checkDependencyOrder(const Fleet& fleet, const BatchIndex& index, ProblemList& problems) {
  for (const Agent& a : fleet.agents) {
    const std::optional<size_t> mine = index.batchOf(a.name);
    if (!mine) continue;
    for (const NamedRef& d : a.deps) {
      const std::optional<size_t> theirs = index.batchOf(d.name);
      if (theirs && *theirs > *mine) {
        problems.warning(d.pos, "agent '" + a.name + "' in " + batchLabel(fleet, *mine) + " depends on '" + d.name +
                                    "', which migrates later, in " + batchLabel(fleet, *theirs));
      }
    }
  }
}

}  // namespace

void validateFleet(const Fleet& fleet, ProblemList& problems) {
  checkNames(fleet, problems);
  checkMachines(fleet, problems);
  for (const Agent& a : fleet.agents) checkAgentRefs(fleet, a, problems);
  checkPorts(fleet, problems);
  const BatchIndex index(fleet);
  checkBatches(fleet, index, problems);
  checkDependencyOrder(fleet, index, problems);
}

}  // namespace twinhub::fleet
