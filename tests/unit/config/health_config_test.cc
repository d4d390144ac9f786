// The config's health section and the machine name (a subject token of health.status.<machine>).
#include <catch2/catch.hpp>

#include "config/config_loader.h"

namespace twinhub {
namespace {

const std::string kBase = "fronts:\n  - {listen: 127.0.0.1:0, service: A, direct: 127.0.0.1:1}\n";

TEST_CASE("ConfigLoader: health.interval_ms defaults to 500 and is read with its range", "[unit]") {
  ConfigLoadResult r = loadConfigText(kBase, "t.yaml");
  REQUIRE(r.ok());
  CHECK(r.config.health.interval_ms == 500);
  r = loadConfigText(kBase + "health: {interval_ms: 250}\n", "t.yaml");
  REQUIRE(r.ok());
  CHECK(r.config.health.interval_ms == 250);
  r = loadConfigText(kBase + "health: {interval_ms: 5}\n", "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "t.yaml:3:23: health.interval_ms must be a whole number from 50 to 60000");
  r = loadConfigText(kBase + "health: {period: 5}\n", "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("unknown key 'period' in health") != std::string::npos);
}

TEST_CASE("ConfigLoader: a machine name that is not one subject token is refused", "[unit]") {
  ConfigLoadResult r = loadConfigText("sidecar: {machine: pc2.lan}\n" + kBase, "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "t.yaml:1:20: sidecar.machine must be up to 64 characters from A-Z a-z 0-9 _ -");
  CHECK(loadConfigText("sidecar: {machine: pc2_lab-1}\n" + kBase, "t.yaml").ok());
}

}  // namespace
}  // namespace twinhub
