// twinhubctl plan and sidecar-config as processes: exit statuses, the problems on stderr, and
// generated sidecar configs that the real twinhub-sidecar accepts (--check-config).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "support/process.h"

namespace twinhub::test {
namespace {

const std::string kReference = std::string(TWINHUB_SOURCE_DIR) + "/config/fleet/reference.yaml";
const std::string kAsPlanned = std::string(TWINHUB_SOURCE_DIR) + "/config/fleet/reference-as-planned.yaml";

struct Run {
  int status = -1;
  std::string output;  // stdout and stderr together
};

Run run(const std::string& program, const std::vector<std::string>& args) {
  Process p(program, args);
  std::optional<int> status = p.wait(20s);
  REQUIRE(status.has_value());
  return {*status, p.output()};
}

Run ctl(const std::vector<std::string>& args) { return run(binPath("twinhubctl"), args); }

// stdout only, for output a script parses.
Run ctlStdout(const std::string& args) {
  return run("/bin/sh", {"-c", "'" + binPath("twinhubctl") + "' " + args + " 2>/dev/null"});
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

TEST_CASE("twinhubctl plan: the reference fleet is valid, exits 0 and prints its four batches", "[integration]") {
  const Run r = ctl({"plan", "-f", kReference});
  INFO(r.output);
  CHECK(r.status == 0);
  CHECK(r.output.find("26 agents (26 migrating) in 4 batches") != std::string::npos);
  CHECK(r.output.find("batch 1: core-infrastructure (7 agents)") != std::string::npos);
  CHECK(r.output.find("batch 4: specialized-services (6 agents)") != std::string::npos);
  CHECK(std::regex_search(r.output, std::regex(R"(MemoryOrchestratorService +pc2 +7140 +17140 +8140 zmq +9140)")));
  CHECK(r.output.find("warning: agent 'TaskScheduler'") != std::string::npos);
}

TEST_CASE("twinhubctl plan: the plan's literal batch 4 exits 2 naming ExperienceTracker", "[integration]") {
  const Run r = ctl({"plan", "-f", kAsPlanned});
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK(std::regex_search(r.output, std::regex(kAsPlanned + R"(:\d+:9: agent 'ExperienceTracker' is in batch 4)")));
  CHECK(r.output.find("batch 1:") == std::string::npos);  // no plan is printed for an invalid fleet
}

TEST_CASE("twinhubctl plan: a duplicate agent, an unknown dependency and a port clash are all named", "[integration]") {
  TempDir dir;
  const std::string fleet = dir.write("bad.yaml", R"(machines:
  - name: pc2
    hub: {name: edge, url: nats://127.0.0.1:4223}
agents:
  - {name: A, machine: pc2, port: 7140, deps: [Missing]}
  - {name: B, machine: pc2, port: 7150, health_port: 7140}
batches:
  - {agents: [A, B]}
  - {agents: [A]}
)");
  const Run r = ctl({"plan", "-f", fleet});
  INFO(r.output);
  CHECK(r.status == 2);
  CHECK(r.output.find(fleet + ":5:48: agent 'A' depends on 'Missing'") != std::string::npos);
  CHECK(r.output.find(fleet + ":6:54: port 7140 on machine 'pc2': agent 'B' health port") != std::string::npos);
  CHECK(r.output.find(fleet + ":9:15: agent 'A' is in batch 2") != std::string::npos);
  CHECK(r.output.find(fleet + ": 3 errors") != std::string::npos);
}

TEST_CASE("twinhubctl plan --json: scripts get the plan, or the errors with their positions", "[integration]") {
  const Run good = ctlStdout("plan --json -f '" + kReference + "'");
  REQUIRE(good.status == 0);
  const nlohmann::json plan = nlohmann::json::parse(good.output);
  CHECK(plan["valid"] == true);
  REQUIRE(plan["batches"].size() == 4);
  CHECK(plan["batches"][0]["agents"][0]["sidecars"][0] == "pc2.MemoryOrchestratorService");
  CHECK(plan["batches"][0]["agents"][0]["ports"]["agent"] == 17140);
  CHECK(plan["thresholds"]["soak_s"] == 5);
  CHECK(plan["warning_count"] == 1);

  const Run bad = ctlStdout("plan --json -f '" + kAsPlanned + "'");
  CHECK(bad.status == 2);
  const nlohmann::json errors = nlohmann::json::parse(bad.output);
  CHECK(errors["valid"] == false);
  CHECK(errors["error_count"] == 2);
  CHECK(errors["errors"][1]["column"] == 9);
  CHECK(errors["errors"][1]["message"].get<std::string>().find("ExperienceTracker") != std::string::npos);
  CHECK_FALSE(errors.contains("batches"));
}

TEST_CASE("twinhubctl: bad options exit 2", "[integration]") {
  CHECK(ctl({"plan"}).status == 2);
  CHECK(ctl({"plan", "-f", "/nonexistent.yaml"}).status == 2);
  CHECK(ctl({"sidecar-config", "-f", kReference}).status == 2);
  CHECK(ctl({"sidecar-config", "-f", kReference, "--agent", "A", "--all"}).status == 2);
  CHECK(ctl({"sidecar-config", "-f", kReference, "--all"}).status == 2);
  const Run unknown = ctl({"sidecar-config", "-f", kReference, "--agent", "NoSuchAgent"});
  CHECK(unknown.status == 2);
  CHECK(unknown.output.find("no agent named NoSuchAgent") != std::string::npos);
  CHECK(ctl({"sidecar-config", "-f", kReference, "--agent", "TutorAgent", "--machine", "mainpc"}).status == 2);
  CHECK(ctl({"sidecar-config", "-f", kAsPlanned, "--agent", "TutorAgent"}).status == 2);
}

TEST_CASE("twinhubctl sidecar-config --all: every generated config passes twinhub-sidecar --check-config",
          "[integration]") {
  TempDir dir;
  const std::string out = dir.path() + "/sidecars";
  const Run r = ctl({"sidecar-config", "-f", kReference, "--all", "--out-dir", out});
  INFO(r.output);
  REQUIRE(r.status == 0);
  size_t files = 0;
  std::set<std::string> state_dirs;  // one each: a sidecar keeps its applied state there
  for (const auto& entry : std::filesystem::directory_iterator(out)) {
    ++files;
    const std::string path = entry.path().string();
    std::smatch state_dir;
    const std::string text = readFile(path);
    if (std::regex_search(text, state_dir, std::regex(R"(\n  state_dir: (.*)\n)"))) state_dirs.insert(state_dir[1]);
    const Run check = run(binPath("twinhub-sidecar"), {"--check-config", path});
    INFO(path << "\n" << check.output);
    CHECK(check.status == 0);
    // The controller will flip it to hub mode; that file must be valid too.
    std::string hub = readFile(path);
    hub.replace(hub.find("mode: direct"), 12, "mode: hub");
    const std::string hub_path = dir.write("hub-" + entry.path().filename().string(), hub);
    CHECK(run(binPath("twinhub-sidecar"), {"--check-config", hub_path}).status == 0);
  }
  CHECK(files == 26);
  CHECK(state_dirs.size() == 26);
  CHECK(std::filesystem::exists(out + "/pc2.ExperienceTracker.yaml"));
}

TEST_CASE("twinhubctl sidecar-config --agent: stdout, or --out FILE", "[integration]") {
  const Run printed = ctlStdout("sidecar-config -f '" + kReference + "' --agent ContextManager");
  CHECK(printed.status == 0);
  CHECK(printed.output.find("  id: pc2.ContextManager\n") != std::string::npos);
  CHECK(printed.output.find(R"(- {listen: "0.0.0.0:7111", service: ContextManager, direct: "127.0.0.1:17111"})") !=
        std::string::npos);
  TempDir dir;
  const std::string file = dir.path() + "/cm.yaml";
  CHECK(ctl({"sidecar-config", "-f", kReference, "--agent", "ContextManager", "--out", file}).status == 0);
  CHECK(readFile(file) == printed.output);
  CHECK(run(binPath("twinhub-sidecar"), {"--check-config", file}).status == 0);
  CHECK(ctl({"sidecar-config", "-f", kReference, "--agent", "ContextManager", "--out", "/nonexistent/x.yaml"}).status == 1);
}

}  // namespace
}  // namespace twinhub::test
