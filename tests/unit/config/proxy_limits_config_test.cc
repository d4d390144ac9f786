// The resource-limit keys of the proxy section (issue 7): timeouts, per-front overrides, the
// buffer budget, and their documented defaults.
#include <catch2/catch.hpp>
#include <string>

#include "config/config_loader.h"

namespace twinhub {
namespace {

ConfigLoadResult load(const std::string& text) { return loadConfigText(text, "limits.yaml"); }

std::string joined(const std::vector<std::string>& errors) {
  std::string all;
  for (const std::string& e : errors) all += e + "\n";
  return all;
}

TEST_CASE("ConfigLoader: resource limits default to 10 min idle, 30 s half-closed, a 256 MiB budget, 128 KiB watermark", "[unit]") {
  ConfigLoadResult r = load("fronts:\n  - {listen: 127.0.0.1:0, service: echo, direct: 127.0.0.1:9}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config.proxy.idle_timeout_ms == 600000);
  CHECK(r.config.proxy.fin_timeout_ms == 30000);
  CHECK(r.config.proxy.buffer_budget_bytes == 256u << 20);
  CHECK(r.config.proxy.high_watermark == 128 * 1024);
  CHECK(r.config.proxy.low_watermark == 32 * 1024);
  REQUIRE(r.config.fronts.size() == 1);
  CHECK_FALSE(r.config.fronts[0].idle_timeout_ms.has_value());  // follows the proxy section, also on reload
  CHECK_FALSE(r.config.fronts[0].fin_timeout_ms.has_value());
}

TEST_CASE("ConfigLoader: proxy timeouts and budget are read, a front may override the timeouts", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:0, service: a, direct: 127.0.0.1:9, idle_timeout_ms: 0, fin_timeout_ms: 250}\n"
      "  - {listen: 127.0.0.1:0, service: b, direct: 127.0.0.1:9}\n"
      "proxy: {idle_timeout_ms: 120000, fin_timeout_ms: 5000, buffer_budget_bytes: 0}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config.proxy.idle_timeout_ms == 120000);
  CHECK(r.config.proxy.fin_timeout_ms == 5000);
  CHECK(r.config.proxy.buffer_budget_bytes == 0);
  REQUIRE(r.config.fronts.size() == 2);
  CHECK(r.config.fronts[0].idle_timeout_ms == 0u);
  CHECK(r.config.fronts[0].fin_timeout_ms == 250u);
  CHECK_FALSE(r.config.fronts[1].idle_timeout_ms.has_value());
}

TEST_CASE("ConfigLoader: out-of-range limits are errors with their place", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:0, service: a, direct: 127.0.0.1:9, fin_timeout_ms: -1}\n"
      "proxy: {idle_timeout_ms: 100000000, buffer_budget_bytes: lots}\n");
  REQUIRE_FALSE(r.ok());
  const std::string all = joined(r.errors);
  INFO(all);
  CHECK(all.find("limits.yaml:2:") != std::string::npos);
  CHECK(all.find("front fin_timeout_ms must be a whole number") != std::string::npos);
  CHECK(all.find("proxy.idle_timeout_ms must be a whole number from 0 to 86400000") != std::string::npos);
  CHECK(all.find("proxy.buffer_budget_bytes must be a whole number") != std::string::npos);
}

}  // namespace
}  // namespace twinhub
