// The config's metrics section (the plain address or {listen, basic_auth}) and metrics_push; the
// Pushgateway path the pusher builds from a grouping key.
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <string>

#include "config/config_loader.h"
#include "metrics_push/metrics_pusher.h"
#include "support/process.h"

namespace twinhub {
namespace {

const std::string kBase = "fronts:\n  - {listen: 127.0.0.1:0, service: A, direct: 127.0.0.1:1}\n";

std::string joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const auto& e : errors) out += e + "\n";
  return out;
}

TEST_CASE("MetricsConfig: the plain address form still works and has no auth", "[unit]") {
  ConfigLoadResult r = loadConfigText(kBase + "metrics: 127.0.0.1:9140\n", "t.yaml");
  REQUIRE(r.ok());
  REQUIRE(r.config.metrics);
  CHECK(r.config.metrics->toString() == "127.0.0.1:9140");
  CHECK(!r.config.metrics_auth);
  CHECK(!r.config.metrics_push);
}

TEST_CASE("MetricsConfig: listen with basic_auth reads the password from its file", "[unit]") {
  test::TempDir dir;
  const std::string file = dir.write("pw", "s3cret\n");
  REQUIRE(::chmod(file.c_str(), 0600) == 0);
  ConfigLoadResult r = loadConfigText(
      kBase + "metrics: {listen: 127.0.0.1:9140, basic_auth: {user: prom, password_file: " + file + "}}\n", "t.yaml");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config.metrics->toString() == "127.0.0.1:9140");
  REQUIRE(r.config.metrics_auth);
  CHECK(r.config.metrics_auth->user == "prom");
  CHECK(r.config.metrics_auth->password == "s3cret");  // the trailing newline dropped
}

TEST_CASE("MetricsConfig: problems of the metrics mapping are reported where they are", "[unit]") {
  test::TempDir dir;
  const std::string empty = dir.write("empty", "\n");
  REQUIRE(::chmod(empty.c_str(), 0600) == 0);
  const std::string exposed = dir.write("exposed", "s3cret\n");
  REQUIRE(::chmod(exposed.c_str(), 0644) == 0);
  ConfigLoadResult r = loadConfigText(kBase + "metrics: {basic_auth: {user: prom, password_file: /x}}\n", "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "t.yaml:3:10: metrics needs a listen address (e.g. 127.0.0.1:9140)");

  r = loadConfigText(kBase +
                         "metrics:\n"
                         "  listen: 127.0.0.1:9140\n"
                         "  basic_auth: {user: prom, password_file: /nonexistent/twinhub-pw}\n",
                     "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].rfind("t.yaml:5:43: metrics.basic_auth.password_file: ", 0) == 0);
  CHECK(r.errors[0].find("/nonexistent/twinhub-pw") != std::string::npos);

  r = loadConfigText(kBase + "metrics: {listen: 127.0.0.1:9140, basic_auth: {user: prom, password_file: " + empty + "}}\n",
                     "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find(empty + ": empty") != std::string::npos);

  // A password others may read is refused, as for the hubs' password files.
  r = loadConfigText(kBase + "metrics: {listen: 127.0.0.1:9140, basic_auth: {user: prom, password_file: " + exposed + "}}\n",
                     "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find(exposed + ": others may read") != std::string::npos);
  CHECK(r.errors[0].find("s3cret") == std::string::npos);

  const std::string fifo = dir.path() + "/fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  r = loadConfigText(kBase + "metrics: {listen: 127.0.0.1:9140, basic_auth: {user: prom, password_file: " + fifo + "}}\n",
                     "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find(fifo + ": not a regular file") != std::string::npos);

  const std::string big = dir.write("big", std::string(5000, 'x'));
  REQUIRE(::chmod(big.c_str(), 0600) == 0);
  r = loadConfigText(kBase + "metrics: {listen: 127.0.0.1:9140, basic_auth: {user: prom, password_file: " + big + "}}\n",
                     "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find(big + ": larger than 4096 bytes") != std::string::npos);
  CHECK(r.errors[0].find("xxxx") == std::string::npos);

  r = loadConfigText(kBase + "metrics: {listen: 127.0.0.1:9140, basic_auth: {user: prom, password: x}}\n", "t.yaml");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 2);
  CHECK(r.errors[0].find("needs a password_file") != std::string::npos);
  CHECK(r.errors[1].find("unknown key 'password' in metrics.basic_auth") != std::string::npos);

  r = loadConfigText(kBase + "metrics: {listen: 127.0.0.1:9140, tls: true}\n", "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("t.yaml:3:35: unknown key 'tls' in metrics") == 0);

  r = loadConfigText(kBase + "metrics: {listen: \"[::1]:9140\"}\n", "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("is IPv6") != std::string::npos);
}

TEST_CASE("MetricsConfig: metrics_push defaults and values", "[unit]") {
  ConfigLoadResult r = loadConfigText(kBase + "metrics_push: {url: \"http://127.0.0.1:9091/\"}\n", "t.yaml");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  REQUIRE(r.config.metrics_push);
  const MetricsPushConfig& p = *r.config.metrics_push;
  CHECK(p.url == "http://127.0.0.1:9091");
  CHECK(p.job == "twinhub_sidecar");
  CHECK(p.interval_ms == 10000);
  CHECK(p.timeout_ms == 2000);
  CHECK(!p.delete_on_exit);
  CHECK(!p.basic_auth);

  r = loadConfigText(kBase + "metrics_push: {url: http://pushgateway:9091, job: j, interval_ms: 500, timeout_ms: 100, "
                             "on_exit: delete}\n",
                     "t.yaml");
  INFO(joined(r.errors));
  REQUIRE(r.ok());
  CHECK(r.config.metrics_push->url == "http://pushgateway:9091");
  CHECK(r.config.metrics_push->job == "j");
  CHECK(r.config.metrics_push->interval_ms == 500);
  CHECK(r.config.metrics_push->timeout_ms == 100);
  CHECK(r.config.metrics_push->delete_on_exit);
}

TEST_CASE("MetricsConfig: metrics_push problems carry FILE:LINE:COL", "[unit]") {
  ConfigLoadResult r = loadConfigText(kBase +
                                          "metrics_push:\n"
                                          "  url: ftp://127.0.0.1:9091\n"
                                          "  interval_ms: 50\n"
                                          "  on_exit: keep\n"
                                          "  every: 1\n",
                                      "t.yaml");
  INFO(joined(r.errors));
  REQUIRE(r.errors.size() == 4);
  CHECK(r.errors[0] == "t.yaml:4:8: metrics_push.url must start with http:// or https://, got 'ftp://127.0.0.1:9091'");
  CHECK(r.errors[1] == "t.yaml:5:16: metrics_push.interval_ms must be a whole number from 100 to 3600000");
  CHECK(r.errors[2] == "t.yaml:6:12: metrics_push.on_exit must be push or delete, got 'keep'");
  CHECK(r.errors[3].rfind("t.yaml:7:3: unknown key 'every' in metrics_push", 0) == 0);

  r = loadConfigText(kBase + "metrics_push: {job: x}\n", "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0] == "t.yaml:3:15: metrics_push needs the Pushgateway's url (e.g. http://127.0.0.1:9091)");

  r = loadConfigText(kBase + "metrics_push: {url: \"http://u:p@127.0.0.1:9091\"}\n", "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("must not carry credentials") != std::string::npos);

  r = loadConfigText(kBase + "metrics_push: {url: \"http://127.0.0.1:9091\", interval_ms: 1000, timeout_ms: 5000}\n", "t.yaml");
  REQUIRE(r.errors.size() == 1);
  CHECK(r.errors[0].find("metrics_push.timeout_ms (5000) must not exceed interval_ms (1000)") != std::string::npos);
}

TEST_CASE("MetricsPush: the grouping path escapes what is not URL-safe as base64url", "[unit]") {
  CHECK(pushGroupingPath("twinhub_sidecar", {{"instance", "pc2.MemoryOrchestratorService"}, {"machine", "pc2"}}) ==
        "/metrics/job/twinhub_sidecar/instance/pc2.MemoryOrchestratorService/machine/pc2");
  CHECK(pushGroupingPath("a/b", {{"instance", ""}, {"machine", "x y"}}) ==
        "/metrics/job@base64/YS9i/instance@base64/=/machine@base64/eCB5");
  CHECK(base64Encode("prom:s3cret", false) == "cHJvbTpzM2NyZXQ=");
  CHECK(base64Encode("ab?>", true) == "YWI_Pg==");
}

}  // namespace
}  // namespace twinhub
