// The fleets shipped in config/fleet: the corrected reference loads (26 agents in the plan's four
// batches), the plan's literal batch 4 does not, and says where ExperienceTracker is listed twice.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "fleet/fleet_loader.h"
#include "fleet/ports.h"
#include "fleet_test_util.h"

namespace twinhub::fleet::test {
namespace {

const std::string kReference = std::string(TWINHUB_SOURCE_DIR) + "/config/fleet/reference.yaml";
const std::string kAsPlanned = std::string(TWINHUB_SOURCE_DIR) + "/config/fleet/reference-as-planned.yaml";

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// 1-based numbers of the lines equal to `wanted`.
std::vector<int> linesEqualTo(const std::string& text, const std::string& wanted) {
  std::vector<int> out;
  std::istringstream in(text);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    line = line.substr(0, line.find(" #"));
    line.erase(line.find_last_not_of(' ') + 1);
    if (line == wanted) out.push_back(n);
  }
  return out;
}

TEST_CASE("ReferenceFleet: reference.yaml is valid with 26 pc2 agents in the plan's four batches", "[unit]") {
  const FleetLoadResult r = loadFleetFile(kReference);
  INFO(dump(r.problems.formatted(Severity::kError)));
  REQUIRE(r.ok());
  const Fleet& f = r.fleet;
  CHECK(f.agents.size() == 26);
  REQUIRE(f.batches.size() == 4);
  CHECK(f.batches[0].agents.size() == 7);
  CHECK(f.batches[1].agents.size() == 6);
  CHECK(f.batches[2].agents.size() == 7);
  CHECK(f.batches[3].agents.size() == 6);
  std::set<std::string> batched;
  for (const Batch& b : f.batches) {
    for (const NamedRef& ref : b.agents) batched.insert(ref.name);
  }
  CHECK(batched.size() == 26);
  CHECK(batched.count("KnowledgeBaseAgent") == 1);
  for (const Agent& a : f.agents) {
    CHECK(a.machine.name == "pc2");
    CHECK(portsOf(a, f.layout).health == a.port + 1000);  // the inventory's convention holds for all 26
  }
  const Agent* mos = f.findAgent("MemoryOrchestratorService");
  REQUIRE(mos);
  const AgentPorts p = portsOf(*mos, f.layout);
  CHECK((p.front == 7140 && p.agent == 17140 && p.health == 8140 && p.metrics == 9140));
  const std::vector<const Hub*> hubs = f.hubsFor(*f.findMachine("pc2"));
  REQUIRE(hubs.size() == 2);
  CHECK((hubs[0]->name == "edge" && hubs[1]->name == "central"));
  CHECK(f.thresholds.soak_s == 5);
  CHECK(f.thresholds.provisional_deadline_s == 30);
  // The plan's own batch 1 has TaskScheduler depend on batch 3's AsyncProcessor: a warning only.
  const auto warnings = r.problems.formatted(Severity::kWarning);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find("'TaskScheduler'") != std::string::npos);
  CHECK(warnings[0].find("'AsyncProcessor'") != std::string::npos);
}

TEST_CASE("ReferenceFleet: reference-as-planned.yaml fails naming ExperienceTracker and both places", "[unit]") {
  const std::string text = readFile(kAsPlanned);
  const std::vector<int> listed = linesEqualTo(text, "      - ExperienceTracker");
  REQUIRE(listed.size() == 2);
  const FleetLoadResult r = loadFleetFile(kAsPlanned);
  CHECK_FALSE(r.ok());
  const auto errors = r.problems.formatted(Severity::kError);
  INFO(dump(errors));
  const std::string second = kAsPlanned + ":" + std::to_string(listed[1]) + ":9: ";
  const std::string first = kAsPlanned + ":" + std::to_string(listed[0]) + ":9";
  CHECK(hasLine(errors, second, {"agent 'ExperienceTracker' is in batch 4", "already in batch 2", first}));
  // The plan's batch 4 left out the 26th agent as well.
  CHECK(hasLine(errors, kAsPlanned + ":", {"agent 'KnowledgeBaseAgent' is in no batch"}));
  CHECK(errors.size() == 2);
}

}  // namespace
}  // namespace twinhub::fleet::test
