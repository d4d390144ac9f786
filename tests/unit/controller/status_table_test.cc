// The status table and twinhubctl's exit statuses, from aggregates.
#include <catch2/catch.hpp>

#include "status/status_table.h"

namespace twinhub::ctl {
namespace {

health::Aggregate fleet() {
  health::Aggregate a;
  a.observer = "obs";
  a.hubs = {{"edge", "up"}, {"central", "up"}};
  a.leaf = "up";
  health::SidecarSummary s;
  s.id = "pc2.MemoryOrchestratorService";
  s.machine = "pc2";
  s.served = {"MemoryOrchestratorService"};
  s.mode = "hub";
  s.hub_in_use = "edge";
  s.agent = "ok";
  s.state = "ok";
  s.age_ms = 210;
  s.sync_ms = 0.8;
  a.sidecars = {s};
  return a;
}

TEST_CASE("StatusTable: one row per sidecar with its columns, hubs and leaf below", "[unit]") {
  const std::string table = renderStatusTable(fleet(), "heartbeats");
  CHECK(table.find("MACHINE") == 0);
  CHECK(table.find("pc2.MemoryOrchestratorService") != std::string::npos);
  CHECK(table.find("0.8") != std::string::npos);
  CHECK(table.find("hubs: edge=up central=up  leaf: up") != std::string::npos);
}

TEST_CASE("StatusTable: exit status says whether the fleet is fine", "[unit]") {
  health::Aggregate a = fleet();
  CHECK(statusExitCode(a) == kExitOk);
  a.sidecars[0].agent = "failing";
  CHECK(statusExitCode(a) == kExitUnhealthy);
  a = fleet();
  a.sidecars[0].state = "lost";
  CHECK(statusExitCode(a) == kExitUnhealthy);
  a = fleet();
  a.partitioned = {"pc2"};
  CHECK(statusExitCode(a) == kExitUnhealthy);
  a.sidecars.clear();
  CHECK(statusExitCode(a) == kExitNothingHeard);
  CHECK(renderStatusTable(a, "x").find("no heartbeats heard") != std::string::npos);
}

}  // namespace
}  // namespace twinhub::ctl
