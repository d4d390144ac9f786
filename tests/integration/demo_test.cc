// twinhubctl demo --short end to end (issue 10): the real hubs, agent-sims, sidecars, aggregator
// and migrate, under the demo's own ZeroMQ load, with every fault of the full demo. The test
// checks the demo's verdict and what it printed, and that nothing it started is left behind.
//
// Ports: the demo's fleet is the reference fleet shifted by -5000 (fronts 2100-2150, agents
// 12100-12150, replica +500) and hubs on 14222/14223 (monitors 18222/18223, leaf 17422): below
// the ephemeral range that port-0 tests use and outside the ranges other tests pick. 127.0.0.1 only.
#include <catch2/catch.hpp>
#include <dirent.h>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "support/process.h"

namespace twinhub::test {
namespace {

using json = nlohmann::json;

// Processes whose command line mentions `needle`.
int processesMentioning(const std::string& needle) {
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (cmd.find(needle) != std::string::npos) ++n;
  }
  return n;
}

std::string fileText(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

TEST_CASE("Demo: the short demo migrates every batch, rolls the slowed batch back and again, detects every fault, "
          "loses nothing and leaves nothing running",
          "[integration]") {
  TempDir dir;
  const std::string run_dir = dir.path() + "/run";
  const std::string report = dir.path() + "/report.html";
  Process demo(binPath("twinhubctl"), {"demo", "--short", "--json", "--port-shift", "-5000", "--hub-port-base", "14222",
                                       "--run-dir", run_dir, "--report", report, "--fleet-dir",
                                       std::string(TWINHUB_SOURCE_DIR) + "/config/fleet"});
  const std::optional<int> status = demo.wait(110s);
  const std::string out = demo.output();
  INFO(out);
  REQUIRE(status.has_value());
  CHECK(*status == 0);

  json summary;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("{\"", 0) == 0) summary = json::parse(line, nullptr, false);
  }
  REQUIRE(summary.is_object());
  CHECK(summary["pass"] == true);
  // Secure by default: the hubs want client certificates and users, and the sidecars bring them.
  CHECK(summary["hub_security"] == "tls+users");
  CHECK(fileText(run_dir + "/hubs/central.conf").find("verify: true") != std::string::npos);
  CHECK(fileText(run_dir + "/sidecars/pc2.MemoryOrchestratorService.yaml").find("password_file:") != std::string::npos);
  CHECK(summary["total_s"].get<double>() < 60);
  const json& requests = summary["requests"];
  CHECK(requests["sent"].get<int>() > 1000);
  CHECK(requests["lost"] == 0);
  CHECK(requests["served_twice"] == 0);
  CHECK(requests["ledger_duplicates"] == 0);
  // Every fault: detected, and landed while requests were in flight.
  std::vector<std::string> expected = {"migrate breach", "hub_down edge", "hub_frozen edge", "agent_down pc2.MemoryOrchestratorService",
                                       "agent_down pc2.ResourceManager", "leaf_down leaf"};
  REQUIRE(summary["faults"].size() == expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    const json& f = summary["faults"][i];
    INFO(f.dump());
    CHECK(f["expect"] == expected[i]);
    CHECK(f["detection_ms"].is_number());
    CHECK(f["in_flight_at_start"].get<int>() > 0);
  }
  // The slowed batch (the last): rolled back by itself, then migrated; every batch ends confirmed.
  const json& batches = summary["batches"];
  REQUIRE(batches.size() >= 3);
  std::map<std::string, std::vector<std::string>> outcomes;
  for (const json& b : batches) outcomes[b["name"].get<std::string>()].push_back(b["outcome"].get<std::string>());
  REQUIRE(outcomes.size() == 2);
  CHECK(outcomes["core-infrastructure"].back() == "confirmed");
  CHECK(outcomes["memory-and-context"].front() == "rolled_back");
  CHECK(outcomes["memory-and-context"].back() == "confirmed");
  CHECK(summary["rollback_ms"].is_number());
  CHECK(summary["sidecar_rss_bytes"].size() == 7);  // 6 agents and the replica

  std::ifstream html(report);
  std::string page((std::istreambuf_iterator<char>(html)), std::istreambuf_iterator<char>());
  CHECK(page.find("<svg") != std::string::npos);
  CHECK(page.find("http") == page.find("http://www.w3.org/2000/svg"));  // no other address: opens offline
  CHECK(processesMentioning(run_dir) == 0);
}

}  // namespace twinhub::test
