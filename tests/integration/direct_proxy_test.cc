// The sidecar as an L4 proxy in direct mode, driven through real sockets: byte-exactness, half-close,
// resets, an agent that is down, backpressure against a slow reader, many connections, the
// connection limit, IPv6. Each test starts its own twinhub-sidecar on port 0.
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <stdexcept>
#include <catch2/catch.hpp>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>

#include "support/process.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"

namespace twinhub::test {
namespace {

constexpr uint64_t kMiB = 1024 * 1024;
// Generous: sanitizer builds start slowly on a shared machine.
constexpr auto kStartTimeout = 10s;
// The contract's log line with the bound /metrics address.
const char* const kMetricsLine = R"(metrics on http://(\S+)/metrics)";

// A running twinhub-sidecar and the addresses it announced.
class Sidecar {
 public:
  explicit Sidecar(const std::vector<std::string>& args) : process_(binPath("twinhub-sidecar"), args) {}
  // In sanitizer builds a report aborts the sidecar; make sure it is not lost with the log.
  ~Sidecar() {
    const std::string out = process_.output();
    INFO("sidecar output:\n" << out);
    CHECK(out.find("Sanitizer") == std::string::npos);
    CHECK(out.find("runtime error:") == std::string::npos);
  }
  Sidecar(const Sidecar&) = delete;
  Sidecar& operator=(const Sidecar&) = delete;

  // Waits for the first front's (and, when asked, the metrics') "listening on" line.
  void waitReady(bool with_metrics = true) {
    front_ = process_.waitForOutput(R"(front \S+ listening on (\S+))", kStartTimeout);
    if (with_metrics) metrics_ = process_.waitForOutput(kMetricsLine, kStartTimeout);
    INFO("sidecar output:\n" << process_.output());
    REQUIRE(!front_.empty());
    REQUIRE((!with_metrics || !metrics_.empty()));
  }

  Process& process() { return process_; }
  const std::string& front() const { return front_; }
  std::string output() const { return process_.output(); }

  // The metric's value summed over series matching `labels`; -1 when absent or unreachable.
  double metric(const std::string& name, const std::string& labels = "") const {
    return metricValue(httpGet(metrics_, "/metrics"), name, labels);
  }
  // Polls /metrics (every 20 ms, not to steal the proxy's CPU) until `ok(value)` or the timeout;
  // returns the last value seen.
  double waitMetric(const std::string& name, const std::string& labels, const std::function<bool(double)>& ok,
                    std::chrono::milliseconds timeout = 5s) const {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    double value = metric(name, labels);
    while (!ok(value) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(20ms);
      value = metric(name, labels);
    }
    return value;
  }

 private:
  Process process_;
  std::string front_;
  std::string metrics_;
};

std::unique_ptr<Sidecar> startDirect(const std::string& upstream, const std::string& listen = "127.0.0.1:0") {
  auto sidecar = std::make_unique<Sidecar>(std::vector<std::string>{
      "--listen", listen, "--direct", upstream, "--service", "echo", "--metrics", "127.0.0.1:0"});
  sidecar->waitReady();
  return sidecar;
}

std::string describe(const PatternCheck& check) {
  return "received " + std::to_string(check.received) + " bytes, " +
         (check.matched ? std::string("all as sent") : "first difference at byte " + std::to_string(check.first_mismatch));
}

auto atLeast(double v) {
  return [v](double x) { return x >= v; };
}
auto equals(double v) {
  return [v](double x) { return x == v; };
}

// An agent stand-in for reset tests: accepts one connection and reads a greeting; then either
// watches how the peer closes ("eof" or "reset") or resets the connection itself.
class OneShotServer {
 public:
  enum class Mode { kWatchClose, kResetAfterGreeting };

  OneShotServer(Mode mode, std::string greeting) : mode_(mode), greeting_(std::move(greeting)) {
    uint16_t port = 0;
    listen_fd_ = test::bindLoopback(16, &port, "OneShotServer");
    address_ = "127.0.0.1:" + std::to_string(port);
    thread_ = std::thread([this] { run(); });
  }
  ~OneShotServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }

  const std::string& address() const { return address_; }
  bool greeted() const { return greeted_.load(); }
  std::string closeSeen() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return close_seen_;
  }

 private:
  // Waits (in short polls, so that stop_ is noticed) until fd is readable.
  bool readable(int fd) {
    while (!stop_) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) return true;
    }
    return false;
  }

  void run() {
    if (!readable(listen_fd_)) return;
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    std::string got;
    char buf[4096];
    while (got.size() < greeting_.size() && readable(fd)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      got.append(buf, static_cast<size_t>(n));
    }
    greeted_ = got == greeting_;
    if (mode_ == Mode::kResetAfterGreeting) {
      linger lg{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      ::close(fd);
      return;
    }
    while (readable(fd)) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n > 0) continue;
      std::lock_guard<std::mutex> lock(mutex_);
      close_seen_ = n == 0 ? "eof" : (errno == ECONNRESET ? "reset" : std::string("error: ") + strerror(errno));
      break;
    }
    ::close(fd);
  }

  Mode mode_;
  std::string greeting_;
  int listen_fd_ = -1;
  std::string address_;
  std::atomic<bool> stop_{false};
  std::atomic<bool> greeted_{false};
  mutable std::mutex mutex_;
  std::string close_seen_;
  std::thread thread_;
};

bool ipv6LoopbackAvailable() {
  int fd = ::socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in6 sa{};
  sa.sin6_family = AF_INET6;
  sa.sin6_addr = in6addr_loopback;
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0;
  ::close(fd);
  return ok;
}

TEST_CASE("Sidecar: carries 100 MB byte-exact both ways", "[integration]") {
  constexpr uint64_t kTotal = 100 * kMiB;
  constexpr uint64_t kSeed = 0x5eed0001;
  EchoServer echo;
  auto sidecar = startDirect(echo.address());
  TcpClient client(sidecar->front());
  REQUIRE(client.isConnected());

  PatternCheck check;
  bool sent = false;
  {
    PatternSender sender(client, kSeed, kTotal);
    check = recvPattern(client, kSeed, 0, kTotal, 10s);
    if (check.received == kTotal) sent = sender.wait();
  }
  INFO("sidecar output:\n" << sidecar->output());
  INFO(describe(check));
  CHECK(sent);
  REQUIRE(check.received == kTotal);
  REQUIRE(check.matched);

  CHECK(sidecar->waitMetric("twinhub_front_bytes_total", R"(direction="upstream")", atLeast(kTotal)) >= kTotal);
  CHECK(sidecar->waitMetric("twinhub_front_bytes_total", R"(direction="downstream")", atLeast(kTotal)) >= kTotal);
  CHECK(sidecar->metric("twinhub_front_connections_total") == 1);
}

TEST_CASE("Sidecar: a client's half-close reaches the agent and the whole answer still comes back", "[integration]") {
  // More than the socket buffers hold, so the FIN travels while data is still in flight.
  constexpr uint64_t kLen = 4 * kMiB;
  constexpr uint64_t kSeed = 0x5eed0002;
  EchoServer echo;
  auto sidecar = startDirect(echo.address());
  TcpClient client(sidecar->front());
  REQUIRE(client.isConnected());

  PatternSender sender(client, kSeed, kLen, {}, /*shutdown_write_after=*/true);
  PatternCheck check = recvPattern(client, kSeed, 0, kLen, 5s);
  INFO("sidecar output:\n" << sidecar->output());
  INFO(describe(check));
  REQUIRE(check.received == kLen);
  REQUIRE(check.matched);
  CHECK(sender.wait());
  // The echo server closes only after it saw the client's FIN through the sidecar.
  CHECK(client.waitClosed(3s) == "eof");
  CHECK(sidecar->waitMetric("twinhub_front_connections_active", "", equals(0)) == 0);
}

TEST_CASE("Sidecar: an agent's half-close reaches the client, which can still send", "[integration]") {
  constexpr uint64_t kLen = 1 * kMiB;
  constexpr uint64_t kSeed = 0x5eed0003;
  SourceServer source(kLen, kSeed);
  auto sidecar = startDirect(source.address());
  TcpClient client(sidecar->front());
  REQUIRE(client.isConnected());

  PatternCheck check = recvPattern(client, kSeed, 0, kLen, 5s);
  INFO("sidecar output:\n" << sidecar->output());
  INFO(describe(check));
  REQUIRE(check.received == kLen);
  REQUIRE(check.matched);
  REQUIRE(client.waitClosed(3s) == "eof");

  // Only the agent-to-client direction ended: what the client sends now still reaches the agent.
  const std::string late(3000, 'L');
  REQUIRE(client.sendAll(late));
  CHECK(waitFor([&] { return source.bytesReceived() == late.size(); }, 3s));
  CHECK(sidecar->metric("twinhub_front_connections_active") == 1);

  // Once the client ends its direction too, both are done and the sidecar lets the pair go
  // (the client has not closed its socket).
  client.shutdownWrite();
  CHECK(sidecar->waitMetric("twinhub_front_connections_active", "", equals(0)) == 0);
}

TEST_CASE("Sidecar: a client's reset resets the agent's connection", "[integration]") {
  OneShotServer agent(OneShotServer::Mode::kWatchClose, "hello");
  auto sidecar = startDirect(agent.address());
  TcpClient client(sidecar->front());
  REQUIRE(client.isConnected());
  REQUIRE(client.sendAll("hello"));
  REQUIRE(waitFor([&] { return agent.greeted(); }, 3s));

  client.resetClose();
  bool closed = waitFor([&] { return !agent.closeSeen().empty(); }, 2s);
  INFO("sidecar output:\n" << sidecar->output());
  REQUIRE(closed);
  CHECK(agent.closeSeen() == "reset");
  CHECK(sidecar->waitMetric("twinhub_front_connections_active", "", equals(0)) == 0);
}

TEST_CASE("Sidecar: an agent's reset resets the client's connection", "[integration]") {
  OneShotServer agent(OneShotServer::Mode::kResetAfterGreeting, "hello");
  auto sidecar = startDirect(agent.address());
  TcpClient client(sidecar->front());
  REQUIRE(client.isConnected());
  REQUIRE(client.sendAll("hello"));

  std::string how = client.waitClosed(2s);
  INFO("sidecar output:\n" << sidecar->output());
  CHECK(agent.greeted());
  CHECK(how == "reset");
  CHECK(sidecar->waitMetric("twinhub_front_connections_active", "", equals(0)) == 0);
}

TEST_CASE("Sidecar: with the agent down the client is closed promptly and the failure counted", "[integration]") {
  auto sidecar = startDirect(unusedAddress());
  for (int attempt = 1; attempt <= 2; ++attempt) {
    TcpClient client(sidecar->front());
    REQUIRE(client.isConnected());
    auto start = std::chrono::steady_clock::now();
    std::string how = client.waitClosed(1000ms);
    auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    INFO("attempt " << attempt << " closed as '" << how << "' after " << took.count() << " ms\nsidecar output:\n"
                    << sidecar->output());
    CHECK(how != "timeout");
    CHECK(sidecar->waitMetric("twinhub_upstream_connect_failures_total", "", equals(attempt)) == attempt);
  }
  CHECK(sidecar->process().running());
}

TEST_CASE("Sidecar: a slow reader pauses the agent's side and bounds the sidecar's memory", "[integration]") {
  // Far more than every socket buffer on the path together (~20 MB), so an unbounded proxy would
  // have to hold most of it.
  constexpr uint64_t kTotal = 256 * kMiB;
  constexpr uint64_t kSeed = 0x5eed0004;
  constexpr size_t kAllowance = 32 * kMiB;
  SourceServer source(kTotal, kSeed);
  auto sidecar = startDirect(source.address());
  const size_t idle_rss = sidecar->process().rssBytes();
  REQUIRE(idle_rss > 0);

  TcpClient client(sidecar->front());
  REQUIRE(client.isConnected());
  // The client reads nothing for now.
  double paused = sidecar->waitMetric("twinhub_front_read_paused_total", "", atLeast(1));
  INFO("sidecar output:\n" << sidecar->output());
  REQUIRE(paused >= 1);

  // Wait until the source stops making progress (every buffer on the way is full), watching the
  // sidecar's memory meanwhile.
  size_t peak_rss = 0;
  uint64_t last_sent = 0;
  auto last_change = std::chrono::steady_clock::now();
  bool blocked = waitFor(
      [&] {
        peak_rss = std::max(peak_rss, sidecar->process().rssBytes());
        uint64_t sent = source.bytesSent();
        auto now = std::chrono::steady_clock::now();
        if (sent != last_sent) {
          last_sent = sent;
          last_change = now;
        }
        return now - last_change >= 300ms;
      },
      10s);
  INFO("idle RSS " << idle_rss / kMiB << " MiB, peak " << peak_rss / kMiB << " MiB; source sent "
                   << source.bytesSent() / kMiB << " MiB of " << kTotal / kMiB);
  REQUIRE(blocked);
  CHECK(source.bytesSent() < kTotal / 2);
  CHECK(peak_rss < idle_rss + kAllowance);

  // Now read it all: nothing lost or reordered while paused.
  PatternCheck check = recvPattern(client, kSeed, 0, kTotal, 10s);
  INFO(describe(check));
  REQUIRE(check.received == kTotal);
  REQUIRE(check.matched);
  CHECK(client.waitClosed(3s) == "eof");
}

TEST_CASE("Sidecar: 1000 concurrent connections each get their own bytes back", "[integration]") {
  constexpr int kClients = 1000;
  EchoServer echo;
  auto sidecar = startDirect(echo.address());

  std::vector<std::unique_ptr<TcpClient>> clients;
  int not_connected = 0;
  for (int i = 0; i < kClients; ++i) {
    clients.push_back(std::make_unique<TcpClient>(sidecar->front()));
    if (!clients.back()->isConnected()) ++not_connected;
  }
  REQUIRE(not_connected == 0);

  auto message = [](int i) { return "client " + std::to_string(i) + " says " + std::string(i % 97 + 1, 'a' + i % 26) + "\n"; };
  int send_failures = 0;
  for (int i = 0; i < kClients; ++i) send_failures += clients[i]->sendAll(message(i)) ? 0 : 1;
  REQUIRE(send_failures == 0);
  int wrong = 0;
  int first_wrong = -1;
  for (int i = 0; i < kClients; ++i) {
    std::string want = message(i);
    std::string got(want.size(), '\0');
    if (clients[i]->recvExact(got.data(), got.size(), 5s) != got.size() || got != want) {
      if (first_wrong < 0) first_wrong = i;
      ++wrong;
    }
  }
  INFO("first wrong client: " << first_wrong << "\nsidecar output:\n" << sidecar->output());
  CHECK(wrong == 0);
  CHECK(sidecar->waitMetric("twinhub_front_connections_active", "", equals(kClients)) == kClients);
  CHECK(echo.connectionsAccepted() == kClients);

  clients.clear();
  CHECK(sidecar->waitMetric("twinhub_front_connections_active", "", equals(0), 10s) == 0);
  CHECK(sidecar->metric("twinhub_front_connections_total") == kClients);
}

TEST_CASE("Sidecar: a front over max_connections closes the extra connection and counts it", "[integration]") {
  EchoServer echo;
  TempDir dir;
  std::string path = dir.write("sidecar.yaml",
                               "fronts:\n"
                               "  - {listen: 127.0.0.1:0, service: limited, direct: " + echo.address() +
                                   ", max_connections: 2}\n"
                                   "metrics: 127.0.0.1:0\n");
  Sidecar sidecar({"--config", path});
  sidecar.waitReady();

  auto first = std::make_unique<TcpClient>(sidecar.front());
  TcpClient second(sidecar.front());
  REQUIRE(echoes(*first, "first"));
  REQUIRE(echoes(second, "second"));

  TcpClient third(sidecar.front());
  REQUIRE(third.isConnected());  // the kernel accepts; the sidecar then turns it away
  std::string how = third.waitClosed(1000ms);
  INFO("sidecar output:\n" << sidecar.output());
  CHECK(how != "timeout");
  CHECK(sidecar.waitMetric("twinhub_front_connections_rejected_total", "", equals(1)) == 1);
  CHECK(echo.connectionsAccepted() == 2);
  // The two admitted connections are unaffected.
  CHECK(echoes(*first, "first again"));
  CHECK(echoes(second, "second again"));

  // A slot frees when one closes.
  first.reset();
  CHECK(sidecar.waitMetric("twinhub_front_connections_active", "", equals(1)) == 1);
  TcpClient fourth(sidecar.front());
  CHECK(echoes(fourth, "fourth"));
  CHECK(sidecar.metric("twinhub_front_connections_rejected_total") == 1);
}

TEST_CASE("Sidecar: an IPv6 front proxies to an IPv4 agent", "[integration]") {
  if (!ipv6LoopbackAvailable()) {
    WARN("::1 is not available here; skipping the IPv6 test");
    return;
  }
  EchoServer echo;
  auto sidecar = startDirect(echo.address(), "[::1]:0");
  REQUIRE_THAT(sidecar->front(), Catch::StartsWith("[::1]:"));
  TcpClient client(sidecar->front());
  REQUIRE(client.isConnected());
  std::string big(200 * 1024, 'v');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  CHECK(echoes(client, big));
  CHECK(echo.connectionsAccepted() == 1);
}

}  // namespace
}  // namespace twinhub::test
