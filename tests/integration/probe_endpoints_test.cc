// /healthz and /readyz on a real sidecar's /metrics listener: liveness is 200 from the start;
// readiness is 503 until what the mode needs is there (a hub up in hub mode, the direct target
// reachable in direct mode), 200 then, and 503 again when it goes away.
//
// Real processes (twinhub-sidecar, nats-server) and sockets, 127.0.0.1 only, ports 0; every wait
// is a condition with a deadline.
#include <csignal>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "support/hub_fixtures.h"
#include "support/nats_hubs.h"
#include "support/process.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"

namespace twinhub::test {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kStateTimeout = std::chrono::seconds(10);

bool statusBecomes(const SidecarFixture& sidecar, const std::string& path, int status) {
  return waitFor([&] { return httpStatus(sidecar.metricsAddress(), path) == status; }, kStateTimeout);
}

TEST_CASE("ProbeEndpoints: hub mode is ready only while a hub is up", "[integration]") {
  HubPair hubs;
  hubs.edge().kill();
  hubs.central().kill();
  const std::string yaml =
      "sidecar: {id: test.probe}\n"
      "mode: hub\n"
      "hubs:\n"
      "  - {name: edge, url: " + hubs.edge().url() + hubSecurityYaml(hubs.edge(), "sidecar") + "}\n"
      "  - {name: central, url: " + hubs.central().url() + hubSecurityYaml(hubs.central(), "sidecar") + "}\n"
      "fronts:\n"
      "  - {listen: 127.0.0.1:0, service: ProbeService}\n"
      "metrics: 127.0.0.1:0\n";
  SidecarFixture sidecar(yaml);
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));

  CHECK(httpStatus(sidecar.metricsAddress(), "/healthz") == 200);
  std::string body;
  CHECK(httpStatus(sidecar.metricsAddress(), "/readyz", &body) == 503);
  CHECK(body.find("no hub") != std::string::npos);

  hubs.central().restart();
  CHECK(statusBecomes(sidecar, "/readyz", 200));
  CHECK(httpStatus(sidecar.metricsAddress(), "/readyz", &body) == 200);
  CHECK(body.find("central up") != std::string::npos);

  hubs.central().kill();
  CHECK(statusBecomes(sidecar, "/readyz", 503));
  CHECK(httpStatus(sidecar.metricsAddress(), "/healthz") == 200);
  // /metrics still answers beside them.
  CHECK(sidecar.metric("twinhub_hub_state", R"(hub="central")") == 0);
}

TEST_CASE("ProbeEndpoints: direct mode is ready only while the target accepts connections", "[integration]") {
  auto agent = std::make_unique<EchoServer>();
  const std::string yaml =
      "sidecar: {id: test.probe-direct}\n"
      "mode: direct\n"
      "fronts:\n"
      "  - {listen: 127.0.0.1:0, service: EchoService, direct: " + agent->address() + "}\n"
      "metrics: 127.0.0.1:0\n";
  SidecarFixture sidecar(yaml);
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));
  CHECK(httpStatus(sidecar.metricsAddress(), "/healthz") == 200);
  CHECK(statusBecomes(sidecar, "/readyz", 200));

  agent.reset();  // nothing listens on the target any more
  CHECK(statusBecomes(sidecar, "/readyz", 503));
  std::string body;
  CHECK(httpStatus(sidecar.metricsAddress(), "/readyz", &body) == 503);
  CHECK(body.find("not reachable") != std::string::npos);
}

TEST_CASE("ProbeEndpoints: SIGTERM makes the sidecar unready while it drains", "[integration]") {
  EchoServer agent;
  const std::string yaml =
      "sidecar: {id: test.probe-drain}\n"
      "mode: direct\n"
      "fronts:\n"
      "  - {listen: 127.0.0.1:0, service: EchoService, direct: " + agent.address() + "}\n"
      "metrics: 127.0.0.1:0\n"
      "proxy: {drain_timeout_ms: 10000}\n";
  SidecarFixture sidecar(yaml);
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));
  REQUIRE(statusBecomes(sidecar, "/readyz", 200));
  TcpClient open(sidecar.front());  // keeps the drain going
  REQUIRE(echoes(open, "hold"));
  sidecar.process().signal(SIGTERM);
  REQUIRE(!sidecar.waitLog("draining", kStateTimeout).empty());
  CHECK(httpStatus(sidecar.metricsAddress(), "/readyz") == 503);
  CHECK(httpStatus(sidecar.metricsAddress(), "/healthz") == 200);
}

}  // namespace
}  // namespace twinhub::test
