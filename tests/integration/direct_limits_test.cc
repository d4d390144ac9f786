// Resource limits of the direct-mode proxy under abuse (issue 7): idle and half-close timeouts
// against a silent agent, the whole-process buffer budget against clients that never read, and
// memory given back to the OS once stuck clients have left. Each test runs its own
// twinhub-sidecar from a YAML config on port 0.
#include <fcntl.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"

namespace twinhub::test {
namespace {

using namespace std::chrono_literals;

constexpr uint64_t kMiB = 1024 * 1024;
constexpr auto kStartTimeout = 10s;

std::string directYaml(const std::string& agent, const std::string& proxy) {
  return "sidecar: {id: test.limits, machine: test}\n"
         "mode: direct\n"
         "fronts:\n"
         "  - {listen: 127.0.0.1:0, service: svc, direct: " + agent + "}\n"
         "metrics: 127.0.0.1:0\n"
         "proxy: " + proxy + "\n";
}

std::unique_ptr<SidecarFixture> startSidecar(const std::string& agent, const std::string& proxy) {
  auto sidecar = std::make_unique<SidecarFixture>(directYaml(agent, proxy));
  const bool ready = sidecar->waitReady(1, true, kStartTimeout);
  INFO("sidecar output:\n" << sidecar->output());
  REQUIRE(ready);
  return sidecar;
}

auto equalTo(double v) {
  return [v](double x) { return x == v; };
}
auto atLeast(double v) {
  return [v](double x) { return x >= v; };
}

const char* const kClosed = "twinhub_front_connections_closed_total";
const char* const kActive = "twinhub_front_connections_active";

TEST_CASE("Sidecar: with a silent agent, connections whose clients closed are reset after fin_timeout_ms",
          "[integration]") {
  // The issue's case: the agent accepts and never answers nor closes; 50 clients send and close.
  // Without a half-close timeout the sidecar held all 51 for minutes.
  constexpr int kClients = 50;
  constexpr auto kFinTimeout = 1500ms;
  SilentServer agent;
  auto sidecar = startSidecar(agent.address(), "{fin_timeout_ms: 1500, idle_timeout_ms: 600000}");
  {
    std::vector<std::unique_ptr<TcpClient>> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(std::make_unique<TcpClient>(sidecar->front()));
      REQUIRE(clients.back()->isConnected());
      REQUIRE(clients.back()->sendAll("request " + std::to_string(i)));
    }
    REQUIRE(waitFor([&] { return agent.connectionsAccepted() == kClients; }, 5s));
  }  // every client closes: a FIN each, passed on to the agent
  const auto closed_at = std::chrono::steady_clock::now();

  // Half-closed and silent, but not yet timed out: all still held.
  std::this_thread::sleep_for(300ms);
  CHECK(sidecar->metric(kActive) == kClients);
  CHECK(agent.connectionsReset() == 0);

  const bool all_reset = waitFor([&] { return agent.connectionsReset() == kClients; }, kFinTimeout + 5s);
  const auto elapsed = std::chrono::steady_clock::now() - closed_at;
  INFO("agent saw " << agent.connectionsReset() << " resets after "
                    << std::chrono::duration_cast<std::chrono::milliseconds>(elapsed).count() << " ms");
  CHECK(all_reset);
  CHECK(elapsed >= kFinTimeout - 100ms);  // the timeout, not something else, closed them
  CHECK(sidecar->waitMetric(kActive, "", equalTo(0), 3s) == 0);
  CHECK(sidecar->metric(kClosed, R"(reason="fin_timeout")") == kClients);
  CHECK(sidecar->metric(kClosed, R"(reason="idle_timeout")") == 0);
}

TEST_CASE("Sidecar: an idle connection closes after idle_timeout_ms, a talking one stays", "[integration]") {
  EchoServer agent;
  auto sidecar = startSidecar(agent.address(), "{idle_timeout_ms: 400, fin_timeout_ms: 0}");
  TcpClient idle(sidecar->front());
  TcpClient talking(sidecar->front());
  REQUIRE(idle.isConnected());
  REQUIRE(talking.isConnected());
  std::string back(4, '\0');
  REQUIRE(idle.sendAll("ping"));
  REQUIRE(idle.recvExact(back.data(), back.size(), 2s) == 4);

  // The talking client sends every 100 ms for 1.2 s: three idle timeouts' worth.
  const auto start = std::chrono::steady_clock::now();
  bool talked = true;
  while (std::chrono::steady_clock::now() - start < 1200ms && talked) {
    talked = talking.sendAll("ping") && talking.recvExact(back.data(), back.size(), 2s) == 4;
    std::this_thread::sleep_for(100ms);
  }
  CHECK(talked);
  CHECK(idle.waitClosed(2s) == "eof");
  CHECK(sidecar->metric(kClosed, R"(reason="idle_timeout")") == 1);
  CHECK(talking.sendAll("ping"));
  CHECK(talking.recvExact(back.data(), back.size(), 2s) == 4);
  CHECK(talking.waitClosed(3s) == "eof");
  CHECK(sidecar->waitMetric(kClosed, R"(reason="idle_timeout")", equalTo(2), 3s) == 2);
}

TEST_CASE("Sidecar: over the buffer budget connections stop reading, and resume byte-exact as it drains",
          "[integration]") {
  // Per-connection watermarks far above the budget: only the budget can stop these clients'
  // agents. Four clients read nothing while the agent sends 24 MiB on each.
  constexpr int kClients = 4;
  constexpr uint64_t kTotal = 24 * kMiB;
  constexpr uint64_t kSeed = 0x5eed0007;
  constexpr double kBudget = 1 * kMiB;
  SourceServer agent(kTotal, kSeed);
  auto sidecar = startSidecar(agent.address(),
                              "{buffer_budget_bytes: 1048576, high_watermark: 16777216, low_watermark: 4194304}");
  std::vector<std::unique_ptr<TcpClient>> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TcpClient>(sidecar->front()));
    REQUIRE(clients.back()->isConnected());
  }
  CHECK(sidecar->waitMetric("twinhub_buffer_budget_paused_total", "", atLeast(1), 10s) >= 1);
  // Until the agent stops making progress: every socket buffer and the budget are full.
  uint64_t last = 0;
  auto last_change = std::chrono::steady_clock::now();
  REQUIRE(waitFor(
      [&] {
        if (agent.bytesSent() != last) {
          last = agent.bytesSent();
          last_change = std::chrono::steady_clock::now();
        }
        return std::chrono::steady_clock::now() - last_change >= 500ms;
      },
      15s));
  const double used = sidecar->metric("twinhub_buffer_budget_used_bytes");
  INFO("budget used " << used << " bytes; agent sent " << agent.bytesSent() / kMiB << " MiB");
  CHECK(used >= kBudget);
  // Each connection may queue one more read after the budget ran out, before it pauses.
  CHECK(used <= kBudget + kClients * 2 * 66 * 1024);
  CHECK(sidecar->metric("twinhub_buffer_budget_limit_bytes") == kBudget);

  for (auto& client : clients) {
    PatternCheck check = recvPattern(*client, kSeed, 0, kTotal, 10s);
    INFO("received " << check.received << " of " << kTotal << (check.matched ? ", as sent" : ", differing"));
    CHECK(check.received == kTotal);
    CHECK(check.matched);
  }
  CHECK(sidecar->waitMetric("twinhub_buffer_budget_used_bytes", "", equalTo(0), 3s) == 0);
}

// Sends on every client, never reading, until none has taken a byte for 300 ms: the proxy's
// queues and every socket buffer on the way are full.
void fillUntilStuck(const std::vector<std::unique_ptr<TcpClient>>& clients) {
  std::vector<char> chunk(64 * 1024, 's');
  for (auto& client : clients) ::fcntl(client->fd(), F_SETFL, ::fcntl(client->fd(), F_GETFL) | O_NONBLOCK);
  auto last_progress = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - last_progress < 300ms) {
    for (auto& client : clients) {
      while (::send(client->fd(), chunk.data(), chunk.size(), MSG_NOSIGNAL) > 0) {
        last_progress = std::chrono::steady_clock::now();
      }
    }
    std::this_thread::sleep_for(10ms);
  }
}

TEST_CASE("Sidecar: the memory of stuck clients goes back to the OS once they have left", "[integration]") {
  // Clients that send and never read through an echo agent, with the former 1 MiB watermarks:
  // 100 of them held 230 MB, and 94 MB of it stayed in the process after they left until the pool
  // learnt to trim (bench/stuck_memory.sh). 40 hold about 80 MB.
  constexpr int kClients = 40;
  EchoServer agent;
  auto sidecar = startSidecar(agent.address(), "{high_watermark: 1048576, low_watermark: 262144}");
  const size_t idle = sidecar->process().rssAnonBytes();
  size_t stuck = 0;
  {
    std::vector<std::unique_ptr<TcpClient>> clients;
    for (int i = 0; i < kClients; ++i) {
      clients.push_back(std::make_unique<TcpClient>(sidecar->front()));
      REQUIRE(clients.back()->isConnected());
    }
    fillUntilStuck(clients);
    stuck = sidecar->process().rssAnonBytes();
  }  // closed with unread answers: each a reset
  CHECK(sidecar->waitMetric(kActive, "", equalTo(0), 5s) == 0);
  size_t after = stuck;
  const bool returned = waitFor(
      [&] {
        after = sidecar->process().rssAnonBytes();
        return after < idle + 8 * kMiB;
      },
      15s);
  INFO("RssAnon idle " << idle / 1024 << " KiB, stuck " << stuck / 1024 << " KiB, after " << after / 1024 << " KiB");
  CHECK(stuck > idle + 32 * kMiB);  // the clients did hold memory
#ifdef __SANITIZE_ADDRESS__
  // AddressSanitizer's allocator keeps freed memory in its quarantine; malloc_trim cannot return it.
  WARN("sanitizer build: not checking that the memory went back to the OS");
#else
  CHECK(returned);
#endif
}

}  // namespace
}  // namespace twinhub::test
