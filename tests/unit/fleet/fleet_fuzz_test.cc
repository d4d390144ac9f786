// Random and mutated fleet files never crash the loader or what runs on a loaded fleet: each
// either loads or comes back with problems in the FILE:LINE:COL form. Seeds are fixed, so a
// failure reproduces.
#include <catch2/catch.hpp>

#include <fstream>
#include <random>
#include <regex>
#include <sstream>

#include "fleet/fleet_loader.h"
#include "fleet/plan_json.h"
#include "fleet/plan_table.h"
#include "fleet/ports.h"
#include "fleet/sidecar_config_gen.h"
#include "fleet_test_util.h"

namespace twinhub::fleet::test {
namespace {

std::string referenceText() {
  std::ifstream in(std::string(TWINHUB_SOURCE_DIR) + "/config/fleet/reference.yaml");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Flips, deletes, duplicates or inserts YAML-significant bytes at random places.
std::string mutate(std::string text, std::mt19937& rng) {
  static const std::string kTokens[] = {":", "-", "[", "]", "{", "}", ",", "\n", "  ", "&a", "*a", "---", "? ",
                                        "!!int ", "\"", "'", "#", "|", ">", "\t", "\xff", std::string(1, '\0'),
                                        "99999999999", "-1", "port: 1\n", "name: A\n"};
  const int edits = std::uniform_int_distribution<int>(1, 8)(rng);
  for (int i = 0; i < edits && !text.empty(); ++i) {
    const size_t at = std::uniform_int_distribution<size_t>(0, text.size() - 1)(rng);
    switch (std::uniform_int_distribution<int>(0, 3)(rng)) {
      case 0: text[at] = static_cast<char>(rng()); break;
      case 1: text.erase(at, std::uniform_int_distribution<size_t>(1, 40)(rng)); break;
      case 2: text.insert(at, text.substr(at, std::uniform_int_distribution<size_t>(1, 200)(rng))); break;
      default: text.insert(at, kTokens[rng() % std::size(kTokens)]); break;
    }
  }
  return text;
}

// Everything a command does with a fleet: plan output, and configs when it is valid.
void useFleet(const FleetLoadResult& r) {
  (void)planJsonText(r);
  if (!r.ok()) return;
  (void)planTable(r.fleet);
  for (const Agent& a : r.fleet.agents) {
    for (const std::string& m : placementsOf(a)) (void)sidecarConfigYaml(r.fleet, a, *r.fleet.findMachine(m));
  }
}

void checkProblemsArePositioned(const FleetLoadResult& r) {
  static const std::regex kLine(R"(^fleet\.yaml:[0-9]+:[0-9]+: .+|^\.\.\. and [0-9]+ more (problem|warning)s?$)");
  for (const std::string& line : r.problems.formatted(Severity::kError)) {
    if (!std::regex_search(line, kLine)) FAIL("badly formed problem line: " << line);
  }
}

TEST_CASE("FleetFuzz: mutated reference fleets load or report problems, never crash", "[unit]") {
  const std::string base = referenceText();
  REQUIRE(load(base).ok());
  std::mt19937 rng(20261130);
  int loaded = 0;
  for (int i = 0; i < 1500; ++i) {
    const FleetLoadResult r = load(mutate(base, rng));
    checkProblemsArePositioned(r);
    useFleet(r);
    loaded += r.ok() ? 1 : 0;
  }
  // Some mutations land in comments and keep the fleet valid; most must not.
  CHECK(loaded < 1500);
}

TEST_CASE("FleetFuzz: random token soup never crashes the loader", "[unit]") {
  static const std::string kPieces[] = {"machines", "agents", "batches", "name", "port", "deps", ":", " ", "\n",
                                        "- ", "[", "]", "{", "}", ",", "A", "pc2", "7140", "&x ", "*x", "---\n",
                                        "hub", "url", "nats://1.2.3.4:5", "replicas", "migration", "soak_s", "-"};
  std::mt19937 rng(7);
  for (int i = 0; i < 1500; ++i) {
    std::string text;
    const int n = std::uniform_int_distribution<int>(0, 120)(rng);
    for (int j = 0; j < n; ++j) text += kPieces[rng() % std::size(kPieces)];
    const FleetLoadResult r = load(text);
    checkProblemsArePositioned(r);
    useFleet(r);
  }
}

TEST_CASE("FleetFuzz: a lone ',' ends (yaml-cpp 0.7 reports a new document for it forever)", "[unit]") {
  // Found by the token soup above: HandleNextDocument returns true on "," without consuming it.
  const FleetLoadResult r = load(",");
  CHECK_FALSE(r.ok());
  checkProblemsArePositioned(r);
  CHECK_FALSE(load("machines: []\n,\n").ok());
}

TEST_CASE("FleetFuzz: deep nesting and alias fan-out are reported, not followed", "[unit]") {
  const FleetLoadResult deep = load(std::string(100000, '[') + std::string(100000, ']'));
  CHECK_FALSE(deep.ok());
  checkProblemsArePositioned(deep);
  // Each level names the one below nine times: 9^12 nodes if anything expanded the aliases.
  std::string laughs = "a0: &a0 [x]\n";
  for (int i = 1; i <= 12; ++i) {
    const std::string prev = "*a" + std::to_string(i - 1);
    laughs += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) laughs += (j ? "," : "") + prev;
    laughs += "]\n";
  }
  const FleetLoadResult bomb = load(laughs + "agents: *a12\n");
  CHECK_FALSE(bomb.ok());
  checkProblemsArePositioned(bomb);
}

}  // namespace
}  // namespace twinhub::fleet::test
