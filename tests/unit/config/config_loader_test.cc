#include "config/config_loader.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>

namespace twinhub {
namespace {

// DESIGN.md's example ("Interfaces"), plus a proxy section.
const char* kFullConfig = R"(sidecar:
  id: pc2.MemoryOrchestratorService
  machine: pc2
  state_dir: /var/lib/twinhub
  log_level: debug
mode: direct
hubs:
  - {name: edge,    url: nats://127.0.0.1:4223}
  - {name: central, url: nats://127.0.0.1:4222}
serve:
  service: MemoryOrchestratorService
  address: 127.0.0.1:17140
  probe: {type: zmq, address: 127.0.0.1:8140, interval_ms: 500, timeout_ms: 300}
fronts:
  - {listen: 0.0.0.0:7140, service: MemoryOrchestratorService, direct: 127.0.0.1:17140}
  - listen: "[::1]:7113"
    service: ResourceManager
    direct: 127.0.0.1:17113
    max_connections: 10
    connect_timeout_ms: 250
metrics: 127.0.0.1:9140
proxy:
  connect_timeout_ms: 1500
  drain_timeout_ms: 5000
  max_connections: 2000
  high_watermark: 2097152
  low_watermark: 524288
)";

ConfigLoadResult load(const std::string& text) { return loadConfigText(text, "test.yaml"); }

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

// True when some error starts with `prefix` (e.g. "test.yaml:3:5: ") and contains `words`.
bool hasError(const ConfigLoadResult& r, const std::string& prefix, const std::string& words) {
  for (const auto& e : r.errors) {
    if (e.rfind(prefix, 0) == 0 && e.find(words) != std::string::npos) return true;
  }
  return false;
}

TEST_CASE("ConfigLoader: a full direct-mode file loads every field", "[unit]") {
  ConfigLoadResult r = load(kFullConfig);
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  const SidecarConfig& c = r.config;
  CHECK(c.id == "pc2.MemoryOrchestratorService");
  CHECK(c.machine == "pc2");
  CHECK(c.state_dir == "/var/lib/twinhub");
  CHECK(c.log_level == "debug");
  CHECK(c.mode == Mode::kDirect);
  REQUIRE(c.hubs.size() == 2);
  CHECK(c.hubs[0].name == "edge");
  CHECK(c.hubs[0].url == "nats://127.0.0.1:4223");
  CHECK(c.hubs[1].name == "central");
  CHECK(c.hubs[1].url == "nats://127.0.0.1:4222");

  REQUIRE(c.serve.has_value());
  CHECK(c.serve->service == "MemoryOrchestratorService");
  CHECK(c.serve->address.toString() == "127.0.0.1:17140");
  REQUIRE(c.serve->probe.has_value());
  CHECK(c.serve->probe->type == ProbeType::kZmq);
  CHECK(c.serve->probe->address.toString() == "127.0.0.1:8140");
  CHECK(c.serve->probe->interval_ms == 500);
  CHECK(c.serve->probe->timeout_ms == 300);

  REQUIRE(c.fronts.size() == 2);
  CHECK(c.fronts[0].listen.toString() == "0.0.0.0:7140");
  CHECK(c.fronts[0].service == "MemoryOrchestratorService");
  REQUIRE(c.fronts[0].direct.has_value());
  CHECK(c.fronts[0].direct->toString() == "127.0.0.1:17140");
  // Not given on the front: the proxy section's values, although that section comes later.
  CHECK(c.fronts[0].max_connections == 2000);
  CHECK(c.fronts[0].connect_timeout_ms == 1500);
  CHECK(c.fronts[1].listen.toString() == "[::1]:7113");
  CHECK(c.fronts[1].listen.isV6());
  CHECK(c.fronts[1].service == "ResourceManager");
  CHECK(c.fronts[1].max_connections == 10);
  CHECK(c.fronts[1].connect_timeout_ms == 250);

  REQUIRE(c.metrics.has_value());
  CHECK(c.metrics->toString() == "127.0.0.1:9140");
  CHECK(c.proxy.connect_timeout_ms == 1500);
  CHECK(c.proxy.drain_timeout_ms == 5000);
  CHECK(c.proxy.max_connections == 2000);
  CHECK(c.proxy.high_watermark == 2097152);
  CHECK(c.proxy.low_watermark == 524288);
}

TEST_CASE("ConfigLoader: a minimal file gets the documented defaults", "[unit]") {
  ConfigLoadResult r = load("fronts:\n  - {listen: 127.0.0.1:0, service: echo, direct: 127.0.0.1:9}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  const SidecarConfig& c = r.config;
  CHECK(c.mode == Mode::kDirect);
  CHECK(c.log_level == "info");
  CHECK_FALSE(c.metrics.has_value());
  CHECK_FALSE(c.serve.has_value());
  CHECK(c.hubs.empty());
  CHECK_FALSE(c.id.empty());
  const ProxyConfig defaults;
  CHECK(c.proxy.max_connections == defaults.max_connections);
  CHECK(c.proxy.drain_timeout_ms == defaults.drain_timeout_ms);
  REQUIRE(c.fronts.size() == 1);
  CHECK(c.fronts[0].max_connections == defaults.max_connections);
  CHECK(c.fronts[0].connect_timeout_ms == defaults.connect_timeout_ms);
  CHECK(c.fronts[0].listen.port() == 0);
}

TEST_CASE("ConfigLoader: the sidecar id defaults to machine.service", "[unit]") {
  ConfigLoadResult r = load(
      "sidecar: {machine: pc2}\n"
      "hubs: [{name: edge, url: nats://127.0.0.1:4223}]\n"
      "serve: {service: TaskScheduler, address: 127.0.0.1:17115}\n");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config.id == "pc2.TaskScheduler");
  REQUIRE(r.config.serve.has_value());
  CHECK_FALSE(r.config.serve->probe.has_value());
}

TEST_CASE("ConfigLoader: an unknown key is rejected with its line and column", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - listen: 127.0.0.1:7140\n"
      "    service: echo\n"
      "    direct: 127.0.0.1:17140\n"
      "    max_conections: 5\n");
  REQUIRE(r.errors.size() == 1);
  CHECK_THAT(r.errors[0], Catch::StartsWith("test.yaml:5:5: "));
  CHECK_THAT(r.errors[0], Catch::Contains("unknown key 'max_conections'"));
  // The message lists what would have been accepted.
  CHECK_THAT(r.errors[0], Catch::Contains("max_connections"));
}

TEST_CASE("ConfigLoader: an unknown top-level key is rejected", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:17140}\n"
      "metric: 127.0.0.1:9140\n");
  INFO(joined(r.errors));
  CHECK_FALSE(r.ok());
  CHECK(hasError(r, "test.yaml:3:1: ", "unknown key 'metric'"));
}

TEST_CASE("ConfigLoader: several problems are listed at once, each with its position", "[unit]") {
  ConfigLoadResult r = load(
      "mode: direct\n"
      "fronts:\n"
      "  - {listen: 127.0.0.1:99999, service: echo, direct: 127.0.0.1:17140}\n"
      "  - {listen: 127.0.0.1:7141, service: two, direct: 127.0.0.1:17141, colour: red}\n"
      "proxy:\n"
      "  max_connections: lots\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 3);
  CHECK(hasError(r, "test.yaml:3:14: ", "port"));
  CHECK(hasError(r, "test.yaml:4:69: ", "unknown key 'colour'"));
  CHECK(hasError(r, "test.yaml:6:20: ", "proxy.max_connections"));
  const std::regex shape(R"(^test\.yaml:\d+:\d+: \S.*$)");
  for (const auto& e : r.errors) CHECK(std::regex_match(e, shape));
}

TEST_CASE("ConfigLoader: a bad address names the value and where it is", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - listen: 127.0.0.1:7140\n"
      "    service: echo\n"
      "    direct: agent.local:17140\n"
      "metrics: 127.0.0.1\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 2);
  CHECK(hasError(r, "test.yaml:4:13: ", "agent.local:17140"));
  CHECK(hasError(r, "test.yaml:5:10: ", "metrics"));
}

TEST_CASE("ConfigLoader: a direct-mode front without a direct address is rejected", "[unit]") {
  ConfigLoadResult r = load("fronts:\n  - {listen: 127.0.0.1:7140, service: echo}\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 1);
  CHECK(hasError(r, "test.yaml:2:5: ", "direct"));
}

TEST_CASE("ConfigLoader: mode hub without hubs is rejected", "[unit]") {
  ConfigLoadResult r = load(
      "mode: hub\n"
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: echo}\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 1);
  CHECK(hasError(r, "test.yaml:1:7: ", "hubs"));

  // With hubs, a hub-mode front needs no direct address.
  ConfigLoadResult with_hubs = load(
      "mode: hub\n"
      "hubs: [{name: edge, url: nats://127.0.0.1:4223}]\n"
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: echo}\n");
  INFO(joined(with_hubs.errors));
  CHECK(with_hubs.ok());
  CHECK(with_hubs.config.mode == Mode::kHub);
}

TEST_CASE("ConfigLoader: hub_options.direct_writes still loads, is ignored with a warning, and takes only true or false",
          "[unit]") {
  const std::string base =
      "mode: hub\n"
      "hubs: [{name: edge, url: nats://127.0.0.1:4223}]\n"
      "fronts: [{listen: 127.0.0.1:7140, service: echo}]\n";
  ConfigLoadResult defaults = load(base);
  REQUIRE(defaults.ok());
  CHECK(defaults.warnings.empty());

  for (const char* value : {"true", "false"}) {
    ConfigLoadResult old = load(base + "hub_options: {direct_writes: " + value + "}\n");
    INFO(joined(old.errors));
    REQUIRE(old.ok());
    CHECK(old.config.hub == defaults.config.hub);  // nothing changes
    REQUIRE(old.warnings.size() == 1);
    CHECK(old.warnings[0].rfind("test.yaml:4:30: hub_options.direct_writes is ignored", 0) == 0);
  }

  ConfigLoadResult bad = load(base + "hub_options: {direct_writes: maybe}\n");
  INFO(joined(bad.errors));
  REQUIRE(bad.errors.size() == 1);
  CHECK(hasError(bad, "test.yaml:4:30: ", "true or false"));
  CHECK(bad.warnings.empty());
}

TEST_CASE("ConfigLoader: an unknown mode is rejected", "[unit]") {
  ConfigLoadResult r = load(
      "mode: sideways\n"
      "fronts: [{listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:1}]\n");
  INFO(joined(r.errors));
  CHECK(hasError(r, "test.yaml:1:7: ", "sideways"));
}

TEST_CASE("ConfigLoader: duplicate hub names are rejected", "[unit]") {
  ConfigLoadResult r = load(
      "mode: hub\n"
      "hubs:\n"
      "  - {name: edge, url: nats://127.0.0.1:4223}\n"
      "  - {name: edge, url: nats://127.0.0.1:4222}\n"
      "fronts: [{listen: 127.0.0.1:7140, service: echo}]\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 1);
  CHECK(hasError(r, "test.yaml:4:12: ", "'edge' appears twice"));
}

TEST_CASE("ConfigLoader: a hub url must be nats://host:port", "[unit]") {
  ConfigLoadResult r = load(
      "hubs:\n"
      "  - {name: edge, url: http://127.0.0.1:4223}\n"
      "  - {name: central}\n"
      "fronts: [{listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:1}]\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 2);
  CHECK(hasError(r, "test.yaml:2:23: ", "nats://"));
  CHECK(hasError(r, "test.yaml:3:5: ", "url"));
}

TEST_CASE("ConfigLoader: the low watermark must be below the high watermark", "[unit]") {
  SECTION("equal") {
    ConfigLoadResult r = load(
        "fronts: [{listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:1}]\n"
        "proxy:\n"
        "  high_watermark: 65536\n"
        "  low_watermark: 65536\n");
    INFO(joined(r.errors));
    REQUIRE(r.errors.size() == 1);
    CHECK(hasError(r, "test.yaml:3:3: ", "low_watermark"));
  }
  SECTION("above") {
    ConfigLoadResult r = load(
        "fronts: [{listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:1}]\n"
        "proxy: {low_watermark: 4194304}\n");
    INFO(joined(r.errors));
    REQUIRE(r.errors.size() == 1);
    CHECK_THAT(r.errors[0], Catch::StartsWith("test.yaml:2:8: "));
    CHECK_THAT(r.errors[0], Catch::Contains("4194304"));
  }
  SECTION("below is fine") {
    ConfigLoadResult r = load(
        "fronts: [{listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:1}]\n"
        "proxy: {high_watermark: 65536, low_watermark: 16384}\n");
    INFO(joined(r.errors));
    CHECK(r.ok());
    CHECK(r.config.proxy.high_watermark == 65536);
    CHECK(r.config.proxy.low_watermark == 16384);
  }
}

TEST_CASE("ConfigLoader: two fronts on one listen address are rejected, port 0 twice is not", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: a, direct: 127.0.0.1:1}\n"
      "  - {listen: 127.0.0.1:7140, service: b, direct: 127.0.0.1:2}\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 1);
  CHECK(hasError(r, "test.yaml:3:14: ", "127.0.0.1:7140"));

  ConfigLoadResult ephemeral = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:0, service: a, direct: 127.0.0.1:1}\n"
      "  - {listen: 127.0.0.1:0, service: b, direct: 127.0.0.1:2}\n");
  INFO(joined(ephemeral.errors));
  CHECK(ephemeral.ok());
}

TEST_CASE("ConfigLoader: a YAML syntax error carries its position", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:1\n"
      "metrics: 127.0.0.1:9140\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 1);
  CHECK(std::regex_search(r.errors[0], std::regex(R"(^test\.yaml:[23]:\d+: )")));
  CHECK_THAT(r.errors[0], Catch::Contains("YAML"));
}

TEST_CASE("ConfigLoader: an empty file or a file of the wrong shape is rejected", "[unit]") {
  ConfigLoadResult empty = load("");
  CHECK_FALSE(empty.ok());
  CHECK(hasError(empty, "test.yaml:1:1: ", "empty"));

  ConfigLoadResult list = load("- a\n- b\n");
  INFO(joined(list.errors));
  CHECK_FALSE(list.ok());
  CHECK(hasError(list, "test.yaml:1:1: ", "mapping"));

  ConfigLoadResult nothing = load("mode: direct\n");
  INFO(joined(nothing.errors));
  CHECK_FALSE(nothing.ok());
  CHECK(hasError(nothing, "test.yaml:", "neither fronts nor serve"));
}

TEST_CASE("ConfigLoader: loadConfigFile reads a file and names it in errors", "[unit]") {
  char path[] = "/tmp/twinhub-config-test-XXXXXX";
  int fd = mkstemp(path);
  REQUIRE(fd >= 0);
  close(fd);
  {
    std::ofstream out(path);
    out << "fronts:\n  - {listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:1, oops: 1}\n";
  }
  ConfigLoadResult r = loadConfigFile(path);
  std::remove(path);
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 1);
  CHECK_THAT(r.errors[0], Catch::StartsWith(std::string(path) + ":2:66: "));
}

TEST_CASE("ConfigLoader: loadConfigFile on a missing file fails with the path", "[unit]") {
  const std::string path = "/nonexistent/twinhub/sidecar.yaml";
  ConfigLoadResult r = loadConfigFile(path);
  REQUIRE_FALSE(r.ok());
  REQUIRE(r.errors.size() == 1);
  CHECK_THAT(r.errors[0], Catch::StartsWith(path + ":"));
  CHECK(std::regex_search(r.errors[0], std::regex(R"(:\d+:\d+: )")));
  CHECK_THAT(r.errors[0], Catch::Contains("No such file or directory"));
}

TEST_CASE("ConfigLoader: a key given twice is an error naming both places", "[unit]") {
  ConfigLoadResult r = load(
      "mode: direct\n"
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: echo, direct: 127.0.0.1:1, service: other}\n"
      "proxy:\n"
      "  max_connections: 10\n"
      "  max_connections: lots\n"
      "mode: hub\n");
  INFO(joined(r.errors));
  CHECK_FALSE(r.ok());
  CHECK(hasError(r, "test.yaml:7:1: ", "duplicate key \"mode\" (first at test.yaml:1:1)"));
  CHECK(hasError(r, "test.yaml:6:3: ", "duplicate key \"max_connections\" (first at test.yaml:5:3)"));
  CHECK(hasError(r, "test.yaml:3:66: ", "duplicate key \"service\" (first at test.yaml:3:30)"));
  CHECK(r.errors.size() == 3);  // the first of each pair is what the rest of the file was checked with
}

TEST_CASE("ConfigLoader: the same key in different mappings is not a duplicate", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: a, direct: 127.0.0.1:1}\n"
      "  - {listen: 127.0.0.1:7141, service: b, direct: 127.0.0.1:1}\n"
      "proxy: {max_connections: 5}\n"
      "sidecar: {machine: pc2}\n");
  INFO(joined(r.errors));
  CHECK(r.ok());
}

TEST_CASE("ConfigLoader: a second YAML document is refused at its start", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: a, direct: 127.0.0.1:1}\n"
      "---\n"
      "mode: hub\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 1);
  CHECK(hasError(r, "test.yaml:3:1: ", "second YAML document"));

  // An explicit start and end of the one document are fine.
  ConfigLoadResult one = load("---\nfronts:\n  - {listen: 127.0.0.1:7140, service: a, direct: 127.0.0.1:1}\n...\n");
  INFO(joined(one.errors));
  CHECK(one.ok());
}

TEST_CASE("ConfigLoader: input on which yaml-cpp keeps starting documents ends with a problem", "[unit]") {
  // yaml-cpp 0.7 reports a new document for a lone ',' forever without reading on.
  for (const char* text : {",", ",,", "a: 1\n,", "- ,"}) {
    INFO(text);
    CHECK_FALSE(load(text).ok());
  }
}

TEST_CASE("ConfigLoader: an IPv6 metrics address is refused by the check, not at start", "[unit]") {
  ConfigLoadResult r = load(
      "fronts:\n"
      "  - {listen: 127.0.0.1:7140, service: a, direct: 127.0.0.1:1}\n"
      "metrics: \"[::1]:9140\"\n");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 1);
  CHECK(hasError(r, "test.yaml:3:10: ", "IPv6"));
  CHECK(hasError(r, "test.yaml:3:10: ", "127.0.0.1:9140"));
}

TEST_CASE("ConfigLoader: a message quoting a huge value stays short", "[unit]") {
  const std::string value(1000000, 'v');
  ConfigLoadResult r = load("fronts:\n  - {listen: 127.0.0.1:7140, service: a, direct: 127.0.0.1:1}\nmode: " + value + "\n");
  REQUIRE(r.errors.size() == 1);
  CHECK_THAT(r.errors[0], Catch::StartsWith("test.yaml:3:7: mode must be direct or hub, got 'vvv"));
  CHECK(r.errors[0].size() < 600);
  CHECK_THAT(r.errors[0], Catch::Contains("more bytes)"));
}

TEST_CASE("ConfigLoader: loadConfigFile on a directory says so", "[unit]") {
  ConfigLoadResult r = loadConfigFile("/tmp");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "/tmp:1:1: is a directory, not a config file");
}

}  // namespace
}  // namespace twinhub
