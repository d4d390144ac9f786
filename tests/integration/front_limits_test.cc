// A front under a connection flood: over max_connections and at the open-file limit every
// refused client is closed at once, counted by reason and logged at most once a second, and
// legitimate clients are served again as soon as the flood ends.
#include <catch2/catch.hpp>
#include <memory>
#include <regex>
#include <sstream>
#include <vector>

#include "support/process.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"

namespace twinhub::test {
namespace {

using Clients = std::vector<std::unique_ptr<TcpClient>>;

const char* const kRefusedLine = R"(front \S+ on \S+: refused (\d+) connection\(s\))";

std::string frontYaml(const std::string& direct, const std::string& extra = "") {
  return "metrics: 127.0.0.1:0\nfronts:\n  - {listen: 127.0.0.1:0, service: flood, direct: " + direct + extra + "}\n";
}

// The counts of the refusal report lines so far.
std::vector<int> refusalReports(const std::string& output) {
  std::vector<int> counts;
  const std::regex re(kRefusedLine);
  std::istringstream in(output);
  std::string line;
  std::smatch m;
  while (std::getline(in, line)) {
    if (std::regex_search(line, m, re)) counts.push_back(std::stoi(m[1].str()));
  }
  return counts;
}

int sum(const std::vector<int>& values) {
  int total = 0;
  for (int v : values) total += v;
  return total;
}

Clients connectMany(const std::string& address, int n) {
  Clients clients;
  for (int i = 0; i < n; ++i) clients.push_back(std::make_unique<TcpClient>(address));
  return clients;
}

TEST_CASE("Front: a flood over max_connections is refused, counted, and logged once a second with the count",
          "[integration]") {
  EchoServer echo;
  SidecarFixture sidecar(frontYaml(echo.address(), ", max_connections: 5"));
  REQUIRE(sidecar.waitReady(1, true, 10s));
  Clients admitted = connectMany(sidecar.front(), 5);
  for (auto& client : admitted) REQUIRE(echoes(*client, "admitted"));

  constexpr int kFlood = 300;
  const auto start = std::chrono::steady_clock::now();
  Clients flood = connectMany(sidecar.front(), kFlood);
  for (auto& client : flood) CHECK(client->waitClosed(2s) != "timeout");
  const auto seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  const auto reason = R"(reason="max_connections")";
  CHECK(sidecar.waitMetric("twinhub_front_connections_rejected_total", reason, [](double v) { return v >= kFlood; },
                           5s) == kFlood);
  // Every refusal is in some line, held-back ones included (the last line comes after a second).
  REQUIRE(waitFor([&] { return sum(refusalReports(sidecar.output())) == kFlood; }, 3s));
  const std::vector<int> reports = refusalReports(sidecar.output());
  INFO("flood took " << seconds << " s; sidecar output:\n" << sidecar.output());
  CHECK(reports.size() <= static_cast<size_t>(seconds) + 2);
  CHECK(reports.front() == 1);  // the first refusal is told at once
  CHECK(sidecar.metric("twinhub_front_connections_rejected_total", R"(reason="fd_limit")") == 0);

  // The admitted ones were untouched, and a slot that frees serves the next client.
  for (auto& client : admitted) CHECK(echoes(*client, "still here"));
  admitted.pop_back();
  CHECK(sidecar.waitMetric("twinhub_front_connections_active", "", [](double v) { return v == 4; }, 5s) == 4);
  TcpClient next(sidecar.front());
  CHECK(echoes(next, "served after the flood"));
}

TEST_CASE("Front: at the open-file limit a flood is shed, counted and logged, and accept works again after",
          "[integration]") {
  if (!SidecarFixture::prlimitAvailable()) {
    WARN("no /usr/bin/prlimit here; skipping the fd-limit test");
    return;
  }
  EchoServer echo;
  // Enough descriptors to start (loop, signals, /metrics, the reserve) and a dozen connections.
  constexpr unsigned kFdLimit = 64;
  SidecarFixture sidecar(frontYaml(echo.address()), {}, kFdLimit);
  REQUIRE(sidecar.waitReady(1, true, 10s));

  Clients flood = connectMany(sidecar.front(), 150);
  const std::string reported = sidecar.waitLog(kRefusedLine, 5s);
  {
    INFO("sidecar output:\n" << sidecar.output());
    REQUIRE(!reported.empty());
    CHECK_THAT(sidecar.output(), Catch::Contains("out of file descriptors"));
  }

  flood.clear();
  CHECK(sidecar.waitMetric("twinhub_front_connections_active", "", [](double v) { return v == 0; }, 10s) == 0);
  INFO("sidecar output:\n" << sidecar.output());
  CHECK(sidecar.metric("twinhub_front_connections_rejected_total", R"(reason="fd_limit")") > 0);
  // Accepting did not stop at the limit: the next clients are served.
  for (int i = 0; i < 20; ++i) {
    TcpClient client(sidecar.front());
    CHECK(echoes(client, "after the flood " + std::to_string(i)));
  }
  CHECK(sidecar.process().running());
}

}  // namespace
}  // namespace twinhub::test
