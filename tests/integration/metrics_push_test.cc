// The sidecar's metrics beyond a plain scrape: pushing to a real Prometheus Pushgateway
// (Debian's prometheus-pushgateway, started here on 127.0.0.1), a gateway that is down or frozen,
// and HTTP basic auth on /metrics with the probes left open.
//
// Real processes and sockets, 127.0.0.1 only; every wait is a condition with a deadline. Without
// the prometheus-pushgateway binary (scripts/install-deps.sh installs it) the tests that need it
// print "SKIPPED: ..." and ctest reports them skipped.
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <iostream>
#include <memory>
#include <string>

#include "metrics_push/metrics_pusher.h"
#include "support/process.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"

namespace twinhub::test {
namespace {

constexpr auto kStartTimeout = std::chrono::seconds(10);
constexpr auto kWait = std::chrono::seconds(10);
constexpr const char* kGatewayBin = "/usr/bin/prometheus-pushgateway";

// Debian's Pushgateway on a free 127.0.0.1 port, ready when constructed (or not available()).
class Pushgateway {
 public:
  Pushgateway() : address_(unusedAddress()) {
    if (::access(kGatewayBin, X_OK) != 0) return;
    process_ = std::make_unique<Process>(kGatewayBin, std::vector<std::string>{"--web.listen-address=" + address_});
    ready_ = waitFor([&] { return httpStatus(address_, "/-/ready") == 200; }, kStartTimeout);
  }
  bool available() const { return process_ != nullptr; }
  bool ready() const { return ready_; }
  const std::string& address() const { return address_; }
  std::string url() const { return "http://" + address_; }
  std::string page() const { return httpGet(address_, "/metrics"); }
  double metric(const std::string& name, const std::string& labels) const { return metricValue(page(), name, labels); }
  std::string log() const { return process_ ? process_->output() : ""; }

 private:
  std::string address_;
  std::unique_ptr<Process> process_;
  bool ready_ = false;
};

bool skippedWithoutGateway(const Pushgateway& gateway) {
  if (gateway.available()) return false;
  std::cout << "SKIPPED: " << kGatewayBin << " is not installed (scripts/install-deps.sh installs prometheus-pushgateway)"
            << std::endl;
  return true;
}

std::string pushConfig(const std::string& id, const std::string& agent, const std::string& push) {
  return "sidecar: {id: " + id + ", machine: testbox}\n"
         "fronts:\n"
         "  - {listen: 127.0.0.1:0, service: PushService, direct: " + agent + "}\n"
         "metrics: 127.0.0.1:0\n"
         "metrics_push: " + push + "\n";
}

TEST_CASE("MetricsPush: the series reach a real Pushgateway grouped by instance and machine, and SIGTERM pushes once more",
          "[integration]") {
  Pushgateway gateway;
  if (skippedWithoutGateway(gateway)) return;
  REQUIRE(gateway.ready());
  EchoServer agent;
  // A long interval: after the first push at start, only the final push can bring news.
  SidecarFixture sidecar(pushConfig("test.push", agent.address(),
                                    "{url: " + gateway.url() + ", job: twinhub_sidecar, interval_ms: 60000, timeout_ms: 1000}"));
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));

  const std::string group = R"(instance="test.push",job="twinhub_sidecar",machine="testbox")";
  double mode = -1;
  waitFor([&] { return (mode = gateway.metric("twinhub_mode", group + R"(,mode="direct")")) == 1; }, kWait);
  INFO("gateway page:\n" << gateway.page() << "\nsidecar log:\n" << sidecar.output());
  CHECK(mode == 1);
  CHECK(gateway.metric("push_time_seconds", group) > 0);
  CHECK(gateway.metric("twinhub_front_connections_total", group + R"(,service="PushService")") == 0);
  CHECK(gateway.metric("twinhub_metrics_push_failures_total", group) == 0);
  CHECK(sidecar.countLog("metrics push to http://\\S+/metrics/job/twinhub_sidecar/instance/test.push/machine/testbox") >= 1);

  {
    TcpClient client(sidecar.front());
    REQUIRE(client.isConnected());
    CHECK(echoes(client, "one request"));
  }
  CHECK(sidecar.waitMetric("twinhub_front_connections_total", R"(service="PushService")", [](double v) { return v == 1; },
                           kWait) == 1);
  CHECK(gateway.metric("twinhub_front_connections_total", group + R"(,service="PushService")") == 0);

  sidecar.process().signal(SIGTERM);
  CHECK(sidecar.process().wait(kWait) == 0);
  CHECK(sidecar.countLog("metrics push: final push to ") == 1);
  CHECK(gateway.metric("twinhub_front_connections_total", group + R"(,service="PushService")") == 1);
}

TEST_CASE("MetricsPush: on_exit delete removes the sidecar's group from the Pushgateway", "[integration]") {
  Pushgateway gateway;
  if (skippedWithoutGateway(gateway)) return;
  REQUIRE(gateway.ready());
  EchoServer agent;
  SidecarFixture sidecar(pushConfig("test.delete", agent.address(),
                                    "{url: " + gateway.url() + ", interval_ms: 200, timeout_ms: 200, on_exit: delete}"));
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));
  const std::string group = R"(instance="test.delete",job="twinhub_sidecar",machine="testbox")";
  CHECK(waitFor([&] { return gateway.metric("twinhub_mode", group) >= 0; }, kWait));
  sidecar.process().signal(SIGTERM);
  CHECK(sidecar.process().wait(kWait) == 0);
  CHECK(sidecar.countLog("metrics push: deleted ") == 1);
  CHECK(gateway.metric("twinhub_mode", group) == -1);
  CHECK(gateway.metric("push_time_seconds", group) == -1);
}

TEST_CASE("MetricsPush: a gateway that is down costs nothing, failures are counted and logged throttled",
          "[integration]") {
  EchoServer agent;
  SidecarFixture sidecar(pushConfig("test.down", agent.address(),
                                    "{url: http://" + unusedAddress() + ", interval_ms: 100, timeout_ms: 100}"));
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));
  CHECK(sidecar.waitMetric("twinhub_metrics_push_failures_total", "", [](double v) { return v >= 5; }, kWait) >= 5);
  {
    TcpClient client(sidecar.front());
    REQUIRE(client.isConnected());
    CHECK(echoes(client, "still serving"));
  }
  CHECK(httpStatus(sidecar.metricsAddress(), "/healthz") == 200);
  // One line a minute at most, however many pushes failed.
  CHECK(sidecar.countLog("metrics push failed: ") == 1);
  sidecar.process().signal(SIGTERM);
  CHECK(sidecar.process().wait(kWait) == 0);
}

TEST_CASE("MetricsPush: a frozen gateway (accepts, never answers) times out: counted, and SIGTERM exits promptly",
          "[integration]") {
  EchoServer agent;
  SilentServer frozen;  // what a SIGSTOPped gateway looks like: the kernel accepts, nobody answers
  SidecarFixture sidecar(pushConfig("test.frozen", agent.address(),
                                    "{url: http://" + frozen.address() + ", interval_ms: 300, timeout_ms: 200}"));
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));
  CHECK(sidecar.waitMetric("twinhub_metrics_push_failures_total", "", [](double v) { return v >= 2; }, kWait) >= 2);
  INFO(sidecar.output());
  CHECK(sidecar.countLog("metrics push failed: .*(Timeout|timed out)") == 1);
  {
    TcpClient client(sidecar.front());
    REQUIRE(client.isConnected());
    CHECK(echoes(client, "still serving"));
  }
  const auto t0 = std::chrono::steady_clock::now();
  sidecar.process().signal(SIGTERM);
  CHECK(sidecar.process().wait(kWait) == 0);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
  // A push under way and the final one: two timeouts of 200 ms, plus the drain and the exit (95 ms
  // without metrics_push here); the bound leaves room for sanitizers on a loaded machine. Without a
  // timeout the final push would wait for the gateway forever.
  CHECK(ms < 5000);
  CHECK(sidecar.countLog("metrics push: the final push failed") == 1);
}

TEST_CASE("MetricsAuth: /metrics asks for basic auth, /healthz and /readyz stay open", "[integration]") {
  TempDir dir;
  const std::string password_file = dir.write("metrics-password", "s3cret-Pw\n");
  REQUIRE(::chmod(password_file.c_str(), 0600) == 0);  // a secret others may read is refused
  EchoServer agent;
  SidecarFixture sidecar("fronts:\n"
                         "  - {listen: 127.0.0.1:0, service: AuthService, direct: " + agent.address() + "}\n"
                         "metrics:\n"
                         "  listen: 127.0.0.1:0\n"
                         "  basic_auth: {user: prometheus, password_file: " + password_file + "}\n");
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));
  const std::string& at = sidecar.metricsAddress();
  auto with = [](const std::string& credentials) { return "Authorization: Basic " + base64Encode(credentials, false) + "\r\n"; };

  std::string body;
  CHECK(httpStatus(at, "/metrics", &body) == 401);
  CHECK(body.find("twinhub_") == std::string::npos);
  CHECK(httpStatusWithHeaders(at, "/metrics", with("prometheus:s3cret-Pw"), &body) == 200);
  CHECK(body.find("twinhub_front_connections_total") != std::string::npos);
  CHECK(httpStatusWithHeaders(at, "/metrics", with("prometheus:wrong"), &body) == 401);
  CHECK(httpStatusWithHeaders(at, "/metrics", with("prometheus:s3cret-Pw\n"), &body) == 401);
  CHECK(httpStatusWithHeaders(at, "/metrics", with("someone:s3cret-Pw"), &body) == 401);
  CHECK(httpStatusWithHeaders(at, "/metrics", "Authorization: Basic !!notbase64\r\n", &body) == 401);

  CHECK(httpStatus(at, "/healthz") == 200);
  CHECK(waitFor([&] { return httpStatus(at, "/readyz") == 200; }, kWait));
  CHECK(sidecar.output().find("s3cret") == std::string::npos);
  sidecar.process().signal(SIGTERM);
  CHECK(sidecar.process().wait(kWait) == 0);
}

}  // namespace
}  // namespace twinhub::test
