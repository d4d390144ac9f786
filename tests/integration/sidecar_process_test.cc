// The sidecar as a process: --check-config, SIGTERM drain (in-flight transfers finish, new
// connections are refused, the drain timeout is honoured), and SIGHUP reload (fronts added,
// removed, a bad file keeps the running config).
#include <catch2/catch.hpp>
#include <csignal>
#include <functional>
#include <optional>
#include <regex>
#include <set>
#include <sstream>

#include "support/process.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"

namespace twinhub::test {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
constexpr auto kStartTimeout = 10s;
const char* const kFrontLine = R"(front \S+ listening on (\S+))";
// The contract's log line with the bound /metrics address.
const char* const kMetricsLine = R"(metrics on http://(\S+)/metrics)";

using Clock = std::chrono::steady_clock;

std::chrono::milliseconds since(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// A new connection to `address` is refused (retried briefly: the listener closes just after the
// log line that announced it).
bool refusesConnections(const std::string& address) {
  return waitFor([&] { return !TcpClient(address, 200ms).isConnected(); }, 2s);
}

double scrape(const std::string& metrics, const std::string& name, const std::string& labels = "") {
  return metricValue(httpGet(metrics, "/metrics"), name, labels);
}

double waitMetric(const std::string& metrics, const std::string& name, const std::string& labels, double want,
                  std::chrono::milliseconds timeout = 5s) {
  auto deadline = Clock::now() + timeout;
  double value = scrape(metrics, name, labels);
  while (value != want && Clock::now() < deadline) {
    std::this_thread::sleep_for(20ms);
    value = scrape(metrics, name, labels);
  }
  return value;
}

std::string frontYaml(const std::string& service, const std::string& direct) {
  return "  - {listen: 127.0.0.1:0, service: " + service + ", direct: " + direct + "}\n";
}

// Line numbers of the output lines shaped "PATH:LINE:COL: message".
std::multiset<int> problemLines(const std::string& output, const std::string& path) {
  std::multiset<int> lines;
  std::istringstream in(output);
  std::string line;
  const std::regex shape(R"(^:(\d+):(\d+): \S.*)");
  while (std::getline(in, line)) {
    std::smatch m;
    if (line.rfind(path, 0) == 0) {
      std::string rest = line.substr(path.size());
      if (std::regex_match(rest, m, shape)) lines.insert(std::stoi(m[1].str()));
    }
  }
  return lines;
}

TEST_CASE("Sidecar: --check-config accepts a valid file with status 0", "[integration]") {
  TempDir dir;
  std::string path = dir.write("good.yaml",
                               "sidecar: {machine: pc2}\n"
                               "mode: direct\n"
                               "fronts:\n" +
                                   frontYaml("MemoryOrchestratorService", "127.0.0.1:17140") +
                                   "metrics: 127.0.0.1:9140\n"
                                   "proxy: {drain_timeout_ms: 5000}\n");
  Process check(binPath("twinhub-sidecar"), {"--check-config", path});
  auto status = check.wait(10s);
  INFO("output:\n" << check.output());
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(problemLines(check.output(), path).empty());
}

TEST_CASE("Sidecar: --check-config lists every problem as FILE:LINE:COL and fails", "[integration]") {
  TempDir dir;
  // Three problems: a bad port (line 3), an unknown key (line 4), a bad number (line 6).
  std::string path = dir.write("bad.yaml",
                               "mode: direct\n"
                               "fronts:\n"
                               "  - {listen: 127.0.0.1:99999, service: echo, direct: 127.0.0.1:17140}\n"
                               "  - {listen: 127.0.0.1:7141, service: two, direct: 127.0.0.1:17141, colour: red}\n"
                               "proxy:\n"
                               "  max_connections: lots\n");
  Process check(binPath("twinhub-sidecar"), {"--check-config", path});
  auto status = check.wait(10s);
  INFO("output:\n" << check.output());
  REQUIRE(status.has_value());
  CHECK(*status != 0);
  CHECK(*status == 2);  // the contract's "invalid config" status
  CHECK(problemLines(check.output(), path) == std::multiset<int>{3, 4, 6});

  Process missing(binPath("twinhub-sidecar"), {"--check-config", dir.path() + "/missing.yaml"});
  auto missing_status = missing.wait(10s);
  INFO("output:\n" << missing.output());
  REQUIRE(missing_status.has_value());
  CHECK(*missing_status == 2);
  CHECK_THAT(missing.output(), Catch::Contains(dir.path() + "/missing.yaml:"));
}

// Runs the sidecar with `args` and returns its exit status (-1 if it did not exit within 10 s).
int runToExit(const std::vector<std::string>& args, std::string* output) {
  Process p(binPath("twinhub-sidecar"), args);
  std::optional<int> status = p.wait(10s);
  *output = p.output();
  return status.value_or(-1);
}

TEST_CASE("Sidecar: a missing file or a directory exits 2 with the reason, for --config and --check-config alike",
          "[integration]") {
  TempDir dir;
  const std::string missing = dir.path() + "/missing.yaml";
  for (const auto& [path, reason] : {std::pair{missing, std::string("No such file or directory")},
                                     std::pair{dir.path(), std::string("is a directory")}}) {
    std::string checked, run;
    const int check_status = runToExit({"--check-config", path}, &checked);
    const int run_status = runToExit({"--config", path}, &run);
    INFO("--check-config:\n" << checked << "--config:\n" << run);
    CHECK(check_status == 2);
    CHECK(run_status == 2);
    CHECK_THAT(checked, Catch::Contains(path + ":1:1: ") && Catch::Contains(reason));
    CHECK_THAT(run, Catch::Contains(path + ":1:1: ") && Catch::Contains(reason));
  }
}

TEST_CASE("Sidecar: thousands of problems print as the first 50 and a count of the rest", "[integration]") {
  TempDir dir;
  std::string yaml = "fronts:\n";
  for (int i = 0; i < 3000; ++i) yaml += "  - {listen: 127.0.0.1:99999, service: s, direct: 127.0.0.1:1}\n";
  const std::string path = dir.write("huge.yaml", yaml);
  for (const char* flag : {"--check-config", "--config"}) {
    std::string output;
    const int status = runToExit({flag, path}, &output);
    INFO(flag << " output:\n" << output.substr(0, 4000));
    CHECK(status == 2);
    CHECK(problemLines(output, path).size() == 50);
    CHECK_THAT(output, Catch::Contains("... and 2950 more problem(s)"));
    CHECK_THAT(output, Catch::Contains(path + ": 3000 problem(s)"));
    CHECK(output.size() < 50 * 200);
  }
}

TEST_CASE("Sidecar: an IPv6 /metrics address is refused up front with the reason", "[integration]") {
  TempDir dir;
  const std::string path =
      dir.write("v6.yaml", "fronts:\n" + frontYaml("a", "127.0.0.1:1") + "metrics: \"[::1]:0\"\n");
  std::string checked, run, flag;
  CHECK(runToExit({"--check-config", path}, &checked) == 2);
  CHECK(runToExit({"--config", path}, &run) == 2);
  CHECK(runToExit({"--listen", "127.0.0.1:0", "--direct", "127.0.0.1:1", "--metrics", "[::1]:0"}, &flag) == 2);
  INFO("--check-config:\n" << checked << "--config:\n" << run << "--metrics:\n" << flag);
  CHECK_THAT(checked, Catch::Contains(path + ":3:10: ") && Catch::Contains("IPv6"));
  CHECK_THAT(run, Catch::Contains(path + ":3:10: ") && Catch::Contains("IPv6"));
  CHECK_THAT(flag, Catch::Contains("IPv6"));
}

TEST_CASE("Sidecar: SIGTERM drain lets an in-flight transfer finish whole and refuses new connections",
          "[integration]") {
  constexpr uint64_t kTotal = 50 * kMiB;
  constexpr uint64_t kSeed = 0x5eed0101;
  EchoServer echo;
  Process sidecar(binPath("twinhub-sidecar"),
                  {"--listen", "127.0.0.1:0", "--direct", echo.address(), "--drain-timeout-ms", "20000"});
  const std::string front = sidecar.waitForOutput(kFrontLine, kStartTimeout);
  INFO("sidecar output:\n" << sidecar.output());
  REQUIRE(!front.empty());

  TcpClient client(front);
  REQUIRE(client.isConnected());
  // ~25 MB/s at most: the transfer lasts about two seconds, so it is surely in flight at SIGTERM.
  PatternSender sender(client, kSeed, kTotal, 10ms);
  PatternReceiver receiver(client, kSeed, kTotal, 10s);
  REQUIRE(waitFor([&] { return receiver.progress() >= 8 * kMiB; }, 10s));

  sidecar.signal(SIGTERM);
  const uint64_t at_signal = receiver.progress();
  REQUIRE(!sidecar.waitForOutput("draining", 5s).empty());
  CHECK(refusesConnections(front));
  // Still running: the open connection holds it up.
  CHECK(sidecar.running());

  REQUIRE(sender.wait());
  PatternCheck check = receiver.wait();
  INFO("at SIGTERM " << at_signal << " bytes were back; in the end " << check.received << " ("
                     << (check.matched ? "all as sent" : "first difference at byte " + std::to_string(check.first_mismatch))
                     << ")\nsidecar output:\n" << sidecar.output());
  REQUIRE(at_signal < kTotal);  // else the test proved nothing
  REQUIRE(check.received == kTotal);
  REQUIRE(check.matched);

  // Ending the last connection ends the drain long before its timeout.
  client.shutdownWrite();
  CHECK(client.waitClosed(3s) == "eof");
  auto status = sidecar.wait(5s);
  INFO("sidecar output:\n" << sidecar.output());
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(!sidecar.waitForOutput(R"(\bexit\b)", 0ms).empty());
}

TEST_CASE("Sidecar: SIGTERM with no open connection exits at once with status 0", "[integration]") {
  EchoServer echo;
  Process sidecar(binPath("twinhub-sidecar"), {"--listen", "127.0.0.1:0", "--direct", echo.address(), "--metrics",
                                               "127.0.0.1:0", "--drain-timeout-ms", "20000"});
  const std::string front = sidecar.waitForOutput(kFrontLine, kStartTimeout);
  const std::string metrics = sidecar.waitForOutput(kMetricsLine, kStartTimeout);
  INFO("sidecar output:\n" << sidecar.output());
  REQUIRE(!front.empty());
  REQUIRE(!metrics.empty());
  {
    TcpClient client(front);
    REQUIRE(echoes(client, "a connection that comes and goes"));
  }
  REQUIRE(waitMetric(metrics, "twinhub_front_connections_active", "", 0) == 0);

  auto start = Clock::now();
  sidecar.signal(SIGTERM);
  auto status = sidecar.wait(3s);
  INFO("exit after " << since(start).count() << " ms\nsidecar output:\n" << sidecar.output());
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(since(start) < 1000ms);
  CHECK_THAT(sidecar.output(), Catch::Contains("draining"));
}

TEST_CASE("Sidecar: the drain timeout closes an idle connection and the process exits 0", "[integration]") {
  EchoServer echo;
  Process sidecar(binPath("twinhub-sidecar"),
                  {"--listen", "127.0.0.1:0", "--direct", echo.address(), "--drain-timeout-ms", "300"});
  const std::string front = sidecar.waitForOutput(kFrontLine, kStartTimeout);
  INFO("sidecar output:\n" << sidecar.output());
  REQUIRE(!front.empty());
  TcpClient client(front);
  REQUIRE(echoes(client, "ping"));

  auto start = Clock::now();
  sidecar.signal(SIGTERM);
  auto status = sidecar.wait(2s);
  auto took = since(start);
  INFO("exit after " << took.count() << " ms\nsidecar output:\n" << sidecar.output());
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  CHECK(took >= 250ms);  // it did wait for the open connection first
  CHECK(client.waitClosed(1s) != "timeout");
  CHECK_THAT(sidecar.output(), Catch::Contains("draining"));
}

TEST_CASE("Sidecar: a second SIGTERM during the drain exits at once", "[integration]") {
  EchoServer echo;
  Process sidecar(binPath("twinhub-sidecar"),
                  {"--listen", "127.0.0.1:0", "--direct", echo.address(), "--drain-timeout-ms", "30000"});
  const std::string front = sidecar.waitForOutput(kFrontLine, kStartTimeout);
  INFO("sidecar output:\n" << sidecar.output());
  REQUIRE(!front.empty());
  TcpClient client(front);
  REQUIRE(echoes(client, "ping"));

  sidecar.signal(SIGTERM);
  REQUIRE(!sidecar.waitForOutput("draining", 5s).empty());
  CHECK(sidecar.running());  // held up by the open connection
  auto start = Clock::now();
  sidecar.signal(SIGTERM);
  auto status = sidecar.wait(2s);
  INFO("exit after " << since(start).count() << " ms\nsidecar output:\n" << sidecar.output());
  REQUIRE(status.has_value());
  CHECK(since(start) < 1000ms);
  CHECK(*status < 128);  // an exit of its own, not death by the signal
  CHECK(client.waitClosed(1s) != "timeout");
}

TEST_CASE("Sidecar: SIGHUP reload opens a new front, and a bad file keeps the running fronts", "[integration]") {
  EchoServer echo;
  TempDir dir;
  const std::string head = "metrics: 127.0.0.1:0\nfronts:\n";
  std::string path = dir.write("sidecar.yaml", head + frontYaml("alpha", echo.address()));
  Process sidecar(binPath("twinhub-sidecar"), {"--config", path});
  const std::string alpha = sidecar.waitForOutput(R"(front alpha listening on (\S+))", kStartTimeout);
  const std::string metrics = sidecar.waitForOutput(kMetricsLine, kStartTimeout);
  {
    INFO("sidecar output:\n" << sidecar.output());
    REQUIRE(!alpha.empty());
    REQUIRE(!metrics.empty());
  }
  TcpClient a1(alpha);
  REQUIRE(echoes(a1, "alpha before reload"));

  // Add a front.
  dir.write("sidecar.yaml", head + frontYaml("alpha", echo.address()) + frontYaml("beta", echo.address()));
  sidecar.signal(SIGHUP);
  const std::string ok = sidecar.waitForOutput("reload ok", 5s);
  const std::string beta = sidecar.waitForOutput(R"(front beta listening on (\S+))", 5s);
  {
    INFO("sidecar output:\n" << sidecar.output());
    REQUIRE(!ok.empty());
    REQUIRE(!beta.empty());
    // The unchanged front was kept, not reopened: the second "listening on" line is beta's.
    CHECK(sidecar.waitForOutput(kFrontLine, 0ms, 1) == beta);
    CHECK(sidecar.waitForOutput(kFrontLine, 0ms, 2).empty());
  }
  TcpClient b1(beta);
  CHECK(echoes(b1, "beta after reload"));
  CHECK(echoes(a1, "alpha's open connection after reload"));
  TcpClient a2(alpha);
  CHECK(echoes(a2, "alpha's new connection after reload"));
  CHECK(waitMetric(metrics, "twinhub_config_reloads_total", R"(result="ok")", 1) == 1);

  // A bad file: nothing changes.
  dir.write("sidecar.yaml",
            head + frontYaml("alpha", echo.address()) + frontYaml("gamma", "nowhere:1") + "bogus_key: 1\n");
  sidecar.signal(SIGHUP);
  const std::string failed = sidecar.waitForOutput("reload failed", 5s);
  {
    INFO("sidecar output:\n" << sidecar.output());
    REQUIRE(!failed.empty());
    // The problems follow, with their positions.
    CHECK(!sidecar.waitForOutput(R"(bogus_key)", 2s).empty());
    CHECK(!sidecar.waitForOutput(R"(nowhere:1)", 2s).empty());
    CHECK(sidecar.waitForOutput("reload ok", 0ms, 1).empty());
  }
  CHECK(sidecar.running());
  CHECK(waitMetric(metrics, "twinhub_config_reloads_total", R"(result="failed")", 1) == 1);
  CHECK(scrape(metrics, "twinhub_config_reloads_total", R"(result="ok")") == 1);
  TcpClient a3(alpha);
  CHECK(echoes(a3, "alpha after the failed reload"));
  TcpClient b2(beta);
  CHECK(echoes(b2, "beta after the failed reload"));
  CHECK(echoes(a1, "alpha's first connection, still open"));
  CHECK(echoes(b1, "beta's first connection, still open"));
}

TEST_CASE("Sidecar: a front removed by reload stops accepting but keeps its open connection", "[integration]") {
  EchoServer echo;
  TempDir dir;
  const std::string head = "metrics: 127.0.0.1:0\nfronts:\n";
  std::string path =
      dir.write("sidecar.yaml", head + frontYaml("alpha", echo.address()) + frontYaml("beta", echo.address()));
  Process sidecar(binPath("twinhub-sidecar"), {"--config", path});
  const std::string alpha = sidecar.waitForOutput(R"(front alpha listening on (\S+))", kStartTimeout);
  const std::string beta = sidecar.waitForOutput(R"(front beta listening on (\S+))", kStartTimeout);
  const std::string metrics = sidecar.waitForOutput(kMetricsLine, kStartTimeout);
  {
    INFO("sidecar output:\n" << sidecar.output());
    REQUIRE(!alpha.empty());
    REQUIRE(!beta.empty());
    REQUIRE(!metrics.empty());
  }
  auto b1 = std::make_unique<TcpClient>(beta);
  REQUIRE(echoes(*b1, "beta before reload"));

  dir.write("sidecar.yaml", head + frontYaml("alpha", echo.address()));
  sidecar.signal(SIGHUP);
  {
    INFO("sidecar output:\n" << sidecar.output());
    REQUIRE(!sidecar.waitForOutput("reload ok", 5s).empty());
  }
  CHECK(refusesConnections(beta));
  CHECK(echoes(*b1, "beta's open connection after its front was removed"));
  TcpClient a1(alpha);
  CHECK(echoes(a1, "alpha is untouched"));
  CHECK(scrape(metrics, "twinhub_front_connections_active", R"(service="beta")") == 1);

  b1.reset();
  CHECK(waitMetric(metrics, "twinhub_front_connections_active", R"(service="beta")", 0) == 0);
  CHECK(echoes(a1, "alpha after beta is gone"));
  INFO("sidecar output:\n" << sidecar.output());
  CHECK(sidecar.running());
}

TEST_CASE("Sidecar: after SIGHUP the command line's --log-level still wins over the file's", "[integration]") {
  EchoServer echo;
  // The file says info; the command line says debug, which shows each accepted connection.
  SidecarFixture sidecar("sidecar: {log_level: info}\nfronts:\n" + frontYaml("alpha", echo.address()),
                         {"--log-level", "debug"});
  REQUIRE(sidecar.waitReady(1, false, kStartTimeout));
  const char* const kAccepted = R"(conn \d+: accepted on)";
  {
    TcpClient before(sidecar.front());
    REQUIRE(echoes(before, "before"));
    REQUIRE(!sidecar.waitLog(kAccepted, 2s).empty());
  }
  REQUIRE(sidecar.reload("sidecar: {log_level: info}\nfronts:\n" + frontYaml("alpha", echo.address()), 5s));
  TcpClient after(sidecar.front());
  REQUIRE(echoes(after, "after"));
  INFO("sidecar output:\n" << sidecar.output());
  CHECK(!sidecar.waitLog(kAccepted, 2s, 1).empty());
}

TEST_CASE("Sidecar: renaming a front's service on the same port applies on SIGHUP", "[integration]") {
  EchoServer echo;
  const std::string port = unusedAddress().substr(std::string("127.0.0.1:").size());
  auto yaml = [&](const std::string& service) {
    return "metrics: 127.0.0.1:0\nfronts:\n  - {listen: 127.0.0.1:" + port + ", service: " + service +
           ", direct: " + echo.address() + "}\n";
  };
  SidecarFixture sidecar(yaml("alpha"));
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));
  TcpClient old_client(sidecar.front());
  REQUIRE(echoes(old_client, "alpha"));

  const bool reloaded = sidecar.reload(yaml("beta"), 5s);
  INFO("sidecar output:\n" << sidecar.output());
  REQUIRE(reloaded);
  CHECK(!sidecar.waitLog(R"(front alpha on \S+ now serves beta)", 0ms).empty());
  TcpClient new_client(sidecar.front());
  CHECK(echoes(new_client, "beta"));
  CHECK(echoes(old_client, "alpha's connection carries on"));
  CHECK(sidecar.metric("twinhub_front_connections_total", R"(service="beta")") == 1);
  CHECK(sidecar.metric("twinhub_front_connections_total", R"(service="alpha")") == 1);
  CHECK(sidecar.metric("twinhub_config_reloads_total", R"(result="ok")") == 1);
}

}  // namespace
}  // namespace twinhub::test
