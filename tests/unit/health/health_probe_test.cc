#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "health/health_checker.h"
#include "health/probe.h"
#include "support/net_address_parse.h"
#include "support/process.h"
#include "support/test_servers.h"

namespace twinhub {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using test::mustParse;
using test::waitFor;

std::chrono::milliseconds elapsedSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start);
}

// A TCP socket listening on 127.0.0.1 port 0. The kernel completes handshakes into the backlog,
// so a connect succeeds without anyone calling accept.
class Listener {
 public:
  Listener() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    sockaddr_storage bound{};
    socklen_t len = sizeof bound;
    REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&bound), &len) == 0);
    address_ = NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&bound));
  }
  ~Listener() { ::close(fd_); }
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;
  int fd() const { return fd_; }
  const NetAddress& address() const { return address_; }

 private:
  int fd_ = -1;
  NetAddress address_;
};

// A one-connection-at-a-time HTTP stand-in on its own thread: reads a request up to its blank
// line, records it, writes `response` verbatim and closes. With no response it holds the
// connection open and silent until the stub dies.
class HttpStub {
 public:
  explicit HttpStub(std::optional<std::string> response) : response_(std::move(response)) {
    wake_fd_ = ::eventfd(0, EFD_CLOEXEC);
    REQUIRE(wake_fd_ >= 0);
    thread_ = std::thread([this] { run(); });
  }
  ~HttpStub() {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
    (void)ignored;
    thread_.join();
    ::close(wake_fd_);
  }
  const NetAddress& address() const { return listener_.address(); }
  std::string lastRequest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_request_;
  }

 private:
  // Waits for `fd` to be readable; false when the stub is being torn down.
  bool waitReadable(int fd) {
    while (true) {
      pollfd fds[2] = {{fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}};
      int rc = ::poll(fds, 2, -1);
      if (rc < 0 && errno == EINTR) continue;
      if (rc < 0 || fds[1].revents != 0) return false;
      return true;
    }
  }

  void run() {
    std::vector<int> held;
    while (waitReadable(listener_.fd())) {
      int conn = ::accept4(listener_.fd(), nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      std::string request;
      bool stopping = false;
      while (request.find("\r\n\r\n") == std::string::npos) {
        if (!waitReadable(conn)) {
          stopping = true;
          break;
        }
        char buf[512];
        ssize_t n = ::recv(conn, buf, sizeof buf, 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        last_request_ = request;
      }
      if (stopping) {
        ::close(conn);
        break;
      }
      if (!response_) {
        held.push_back(conn);
        continue;
      }
      size_t sent = 0;
      while (sent < response_->size()) {
        ssize_t n = ::send(conn, response_->data() + sent, response_->size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      ::close(conn);
    }
    for (int fd : held) ::close(fd);
  }

  Listener listener_;
  const std::optional<std::string> response_;
  int wake_fd_ = -1;
  mutable std::mutex mutex_;
  std::string last_request_;
  std::thread thread_;
};

// An agent's health socket: a ZeroMQ REP on tcp://127.0.0.1:* answering every request with the
// current reply text (after any queued one-shot replies), on its own thread. With no reply set it
// reads a request and never answers.
class RepServer {
 public:
  explicit RepServer(std::optional<std::string> reply) : socket_(context_, zmq::socket_type::rep), reply_(reply) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.bind("tcp://127.0.0.1:*");
    std::string endpoint = socket_.get(zmq::sockopt::last_endpoint);  // "tcp://127.0.0.1:PORT"
    address_ = mustParse(endpoint.substr(std::string("tcp://").size()));
    thread_ = std::thread([this] { run(); });
  }
  ~RepServer() {
    context_.shutdown();  // the thread's blocking recv or poll ends with ETERM
    thread_.join();
  }
  const NetAddress& address() const { return address_; }
  void setReply(std::optional<std::string> reply) {
    std::lock_guard<std::mutex> lock(mutex_);
    reply_ = std::move(reply);
  }
  // The next request gets `reply`, whatever the current reply is.
  void queueOnce(std::string reply) {
    std::lock_guard<std::mutex> lock(mutex_);
    queued_.push_back(std::move(reply));
  }
  // How many times `reply` was sent. Counted before sending, so a prober that has its reply in
  // hand sees it counted.
  int served(const std::string& reply) const {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = served_.find(reply);
    return it == served_.end() ? 0 : it->second;
  }
  int requests() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return requests_;
  }
  std::string lastRequest() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return last_request_;
  }

 private:
  void run() {
    try {
      while (true) {
        zmq::message_t request;
        (void)socket_.recv(request, zmq::recv_flags::none);
        std::optional<std::string> reply;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          ++requests_;
          last_request_ = request.to_string();
          if (!queued_.empty()) {
            reply = std::move(queued_.front());
            queued_.pop_front();
          } else {
            reply = reply_;
          }
          if (reply) ++served_[*reply];
        }
        if (!reply) {
          // A REP that owes a reply has no input to offer, so this blocks until shutdown.
          zmq::pollitem_t item{socket_.handle(), 0, ZMQ_POLLIN, 0};
          while (true) zmq::poll(&item, 1, std::chrono::milliseconds(-1));
        }
        (void)socket_.send(zmq::buffer(*reply), zmq::send_flags::none);
      }
    } catch (const zmq::error_t&) {
      // ETERM: the server is being destroyed.
    }
    socket_.close();
  }

  zmq::context_t context_;
  zmq::socket_t socket_;
  NetAddress address_;
  mutable std::mutex mutex_;
  std::optional<std::string> reply_;
  std::deque<std::string> queued_;
  std::map<std::string, int> served_;
  int requests_ = 0;
  std::string last_request_;
  std::thread thread_;
};

const std::string kOkReply = R"({"status":"ok","ready":true,"message":"SimAgent is ok","uptime":12.5})";
const std::string kDegradedReply = R"({"status":"degraded","ready":true,"message":"SimAgent is degraded"})";
const std::string kErrorReply = R"({"status":"error","ready":false,"message":"SimAgent is error"})";

// ---- tcp ----

TEST_CASE("HealthProbe: tcp probe passes against a listening socket", "[unit]") {
  Listener listener;
  ProbeResult result = probeTcp(listener.address(), 1000ms);
  INFO(result.detail);
  CHECK(result.ok);
  CHECK_THAT(result.detail, Catch::Contains(listener.address().toString()));
}

TEST_CASE("HealthProbe: tcp probe fails against a closed port", "[unit]") {
  NetAddress closed = mustParse(test::unusedAddress());
  auto start = Clock::now();
  ProbeResult result = probeTcp(closed, 1000ms);
  INFO(result.detail);
  CHECK_FALSE(result.ok);
  CHECK_THAT(result.detail, Catch::Contains("tcp " + closed.toString()) && Catch::Contains("refused"));
  CHECK(elapsedSince(start) < 1000ms);
}

// ---- http ----

TEST_CASE("HealthProbe: http probe passes on a 200 and sends an HTTP/1.0 GET", "[unit]") {
  HttpStub stub(std::string("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"));
  ProbeResult result = probeHttp(stub.address(), "/healthz", 1000ms);
  INFO(result.detail);
  CHECK(result.ok);
  CHECK_THAT(result.detail, Catch::Contains("200 OK"));
  std::string request = stub.lastRequest();
  CHECK_THAT(request, Catch::StartsWith("GET /healthz HTTP/1.0\r\n"));
  CHECK_THAT(request, Catch::Contains("\r\nHost: " + stub.address().toString() + "\r\n"));
}

TEST_CASE("HealthProbe: http probe passes on any 2xx, with or without a reason phrase", "[unit]") {
  for (const char* response : {"HTTP/1.1 204 No Content\r\n\r\n", "HTTP/1.1 299\r\n\r\n", "HTTP/1.0 200 OK\n\n"}) {
    HttpStub stub{std::string(response)};
    ProbeResult result = probeHttp(stub.address(), "/", 1000ms);
    INFO(response << " -> " << result.detail);
    CHECK(result.ok);
  }
}

TEST_CASE("HealthProbe: http probe fails on a 503 and names the status", "[unit]") {
  HttpStub stub(std::string("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"));
  ProbeResult result = probeHttp(stub.address(), "/healthz", 1000ms);
  INFO(result.detail);
  CHECK_FALSE(result.ok);
  CHECK_THAT(result.detail, Catch::Contains("status 503 Service Unavailable"));
}

TEST_CASE("HealthProbe: http probe fails with a detail on garbage, short and empty answers", "[unit]") {
  struct Case {
    std::string response;
    std::string detail;
  };
  std::vector<Case> cases = {
      {std::string("\x00\xff\x13garbage bytes\r\n\r\n", 19), "not an HTTP status line: '\\x00\\xff\\x13garbage"},
      {"SSH-2.0-OpenSSH_9.2\r\n", "not an HTTP status line"},
      {"HTTP/1.1 2", "not an HTTP status line: 'HTTP/1.1 2'"},  // cut short, then closed
      {"HTTP/1.1 2000 OK\r\n\r\n", "not an HTTP status line"},
      {"HTTP/1.1 abc OK\r\n\r\n", "not an HTTP status line"},
      {"HTTP/ 200 OK\r\n\r\n", "not an HTTP status line"},
      {"HTTP/1.1 302 Found\r\nLocation: /\r\n\r\n", "status 302 Found"},
      {"", "connection closed before a status line"},
      {std::string(5000, 'A'), "status line longer than"},
  };
  for (const auto& c : cases) {
    HttpStub stub{c.response};
    ProbeResult result = probeHttp(stub.address(), "/", 1000ms);
    INFO(c.detail << " <- " << result.detail);
    CHECK_FALSE(result.ok);
    CHECK_THAT(result.detail, Catch::Contains(c.detail));
  }
}

TEST_CASE("HealthProbe: http probe against a silent server gives up at its timeout", "[unit]") {
  HttpStub stub(std::nullopt);
  auto start = Clock::now();
  ProbeResult result = probeHttp(stub.address(), "/", 200ms);
  auto took = elapsedSince(start);
  INFO(result.detail << " after " << took.count() << " ms");
  CHECK_FALSE(result.ok);
  CHECK_THAT(result.detail, Catch::Contains("no status line within 200 ms"));
  CHECK(took >= 190ms);
  CHECK(took < 300ms);
}

TEST_CASE("HealthProbe: http probe fails against a closed port and on a bad path", "[unit]") {
  NetAddress closed = mustParse(test::unusedAddress());
  ProbeResult refused = probeHttp(closed, "/", 1000ms);
  CHECK_FALSE(refused.ok);
  CHECK_THAT(refused.detail, Catch::Contains("refused"));

  HttpStub stub(std::string("HTTP/1.0 200 OK\r\n\r\n"));
  for (const char* path : {"", "healthz", "/a b", "/x\r\nInjected: 1"}) {
    ProbeResult result = probeHttp(stub.address(), path, 1000ms);
    INFO(result.detail);
    CHECK_FALSE(result.ok);
    CHECK_THAT(result.detail, Catch::Contains("path must start with '/'"));
    CHECK(result.detail.find_first_of("\r\n") == std::string::npos);
  }
  CHECK(stub.lastRequest().empty());
}

// ---- zmq ----

TEST_CASE("HealthProbe: zmq probe passes when the agent answers status ok", "[unit]") {
  zmq::context_t context;
  RepServer agent(kOkReply);
  ProbeResult result = probeZmq(agent.address(), 1000ms, context);
  INFO(result.detail);
  CHECK(result.ok);
  CHECK_THAT(result.detail, Catch::Contains("zmq tcp://" + agent.address().toString() + ": status ok"));
  CHECK(agent.lastRequest() == R"({"action":"health_check"})");
}

TEST_CASE("HealthProbe: zmq probe fails on degraded, error, non-JSON and status-less replies", "[unit]") {
  struct Case {
    std::string reply;
    std::string detail;
  };
  std::vector<Case> cases = {
      {kDegradedReply, "status degraded: SimAgent is degraded"},
      {kErrorReply, "status error: SimAgent is error"},
      {R"({"status":"OK"})", "status OK"},
      {"not json at all", "reply is not JSON: 'not json at all'"},
      {std::string("\xff\xfe{", 3), "reply is not JSON: '\\xff\\xfe{'"},
      {"", "reply is not JSON"},
      {R"(["ok"])", "reply is not a JSON object"},
      {R"({"ready":true})", "reply has no \"status\" string"},
      {R"({"status":1})", "reply has no \"status\" string"},
  };
  zmq::context_t context;
  RepServer agent(std::nullopt);
  for (const auto& c : cases) {
    agent.setReply(c.reply);
    ProbeResult result = probeZmq(agent.address(), 1000ms, context);
    INFO(c.reply << " -> " << result.detail);
    CHECK_FALSE(result.ok);
    CHECK_THAT(result.detail, Catch::Contains(c.detail));
  }
}

TEST_CASE("HealthProbe: zmq probe gives up at its timeout when the agent does not answer", "[unit]") {
  zmq::context_t context;
  RepServer agent(std::nullopt);
  auto start = Clock::now();
  ProbeResult result = probeZmq(agent.address(), 200ms, context);
  auto took = elapsedSince(start);
  INFO(result.detail << " after " << took.count() << " ms");
  CHECK_FALSE(result.ok);
  CHECK_THAT(result.detail, Catch::Contains("no reply within 200 ms"));
  CHECK(agent.requests() == 1);
  CHECK(took >= 190ms);
  CHECK(took < 300ms);
}

TEST_CASE("HealthProbe: zmq probe gives up at its timeout when nothing listens", "[unit]") {
  zmq::context_t context;
  auto start = Clock::now();
  ProbeResult result = probeZmq(mustParse(test::unusedAddress()), 200ms, context);
  auto took = elapsedSince(start);
  INFO(result.detail << " after " << took.count() << " ms");
  CHECK_FALSE(result.ok);
  CHECK_THAT(result.detail, Catch::Contains("no reply within 200 ms"));
  CHECK(took < 300ms);
}

// ---- HealthChecker ----

struct Transition {
  bool healthy;
  std::string detail;
  int ok_served;    // the agent's ok replies when the transition was reported
  int fail_served;  // its degraded replies then
};

class TransitionLog {
 public:
  void add(Transition t) {
    std::lock_guard<std::mutex> lock(mutex_);
    entries_.push_back(std::move(t));
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.size();
  }
  Transition at(size_t i) const {
    std::lock_guard<std::mutex> lock(mutex_);
    return entries_.at(i);
  }

 private:
  mutable std::mutex mutex_;
  std::vector<Transition> entries_;
};

ProbeConfig zmqProbe(const NetAddress& address) {
  ProbeConfig config;
  config.type = ProbeType::kZmq;
  config.address = address;
  config.interval_ms = 10;
  config.timeout_ms = 1000;
  return config;
}

TEST_CASE("HealthChecker: falls after `fall` failures and rises after `rise` passes", "[unit]") {
  RepServer agent(kOkReply);
  ProbeConfig config = zmqProbe(agent.address());
  config.rise = 3;
  config.fall = 2;
  TransitionLog log;
  // The checker waits for this callback before its next probe, so the agent's counters read here
  // are exactly the replies the checker had seen when it decided.
  HealthChecker checker(config, [&](bool healthy, const std::string& detail) {
    log.add({healthy, detail, agent.served(kOkReply), agent.served(kDegradedReply)});
  });
  CHECK_FALSE(checker.healthy());
  checker.start();

  // The first result counts at once, although rise is 3.
  REQUIRE(waitFor([&] { return log.size() == 1; }, 5s));
  CHECK(log.at(0).healthy);
  CHECK(log.at(0).ok_served == 1);
  CHECK(checker.healthy());

  agent.setReply(kDegradedReply);
  REQUIRE(waitFor([&] { return log.size() == 2; }, 5s));
  Transition down = log.at(1);
  INFO(down.detail);
  CHECK_FALSE(down.healthy);
  CHECK(down.fail_served == 2);
  CHECK_THAT(down.detail, Catch::Contains("status degraded"));
  CHECK_FALSE(checker.healthy());

  int ok_before = agent.served(kOkReply);
  agent.setReply(kOkReply);
  REQUIRE(waitFor([&] { return log.size() == 3; }, 5s));
  Transition up = log.at(2);
  CHECK(up.healthy);
  CHECK(up.ok_served - ok_before == 3);
  CHECK(checker.healthy());
  CHECK(checker.probesRun() >= static_cast<uint64_t>(up.ok_served + up.fail_served));
}

TEST_CASE("HealthChecker: a single failure between passes does not flap the state", "[unit]") {
  RepServer agent(kOkReply);
  ProbeConfig config = zmqProbe(agent.address());
  config.rise = 2;
  config.fall = 2;
  TransitionLog log;
  HealthChecker checker(config, [&](bool healthy, const std::string& detail) { log.add({healthy, detail, 0, 0}); });
  checker.start();
  REQUIRE(waitFor([&] { return log.size() == 1; }, 5s));

  // Exactly one degraded reply among passes.
  agent.queueOnce(kDegradedReply);
  REQUIRE(waitFor([&] { return agent.served(kDegradedReply) == 1; }, 5s));
  int ok_after = agent.served(kOkReply) + 3;
  REQUIRE(waitFor([&] { return agent.served(kOkReply) >= ok_after; }, 5s));
  CHECK(agent.served(kDegradedReply) == 1);
  CHECK(log.size() == 1);
  CHECK(checker.healthy());
}

TEST_CASE("HealthChecker: a failing first probe reports unhealthy once, at once", "[unit]") {
  ProbeConfig config;
  config.type = ProbeType::kTcp;
  config.address = mustParse(test::unusedAddress());
  config.interval_ms = 10;
  config.timeout_ms = 500;
  config.rise = 2;
  config.fall = 5;
  TransitionLog log;
  HealthChecker checker(config, [&](bool healthy, const std::string& detail) { log.add({healthy, detail, 0, 0}); });
  checker.start();
  REQUIRE(waitFor([&] { return checker.probesRun() >= 4; }, 5s));
  REQUIRE(log.size() == 1);
  CHECK_FALSE(log.at(0).healthy);
  CHECK_THAT(log.at(0).detail, Catch::Contains("refused"));
  CHECK_FALSE(checker.healthy());
}

TEST_CASE("HealthChecker: destructor returns promptly during a long interval", "[unit]") {
  Listener listener;
  ProbeConfig config;
  config.type = ProbeType::kTcp;
  config.address = listener.address();
  config.interval_ms = 60000;
  config.timeout_ms = 1000;
  auto checker = std::make_unique<HealthChecker>(config, nullptr);
  checker->start();
  REQUIRE(waitFor([&] { return checker->probesRun() == 1; }, 5s));
  CHECK(checker->healthy());
  auto start = Clock::now();
  checker.reset();
  CHECK(elapsedSince(start) < 200ms);
}

TEST_CASE("HealthChecker: destructor cuts a zmq probe in flight short", "[unit]") {
  RepServer agent(std::nullopt);
  ProbeConfig config = zmqProbe(agent.address());
  config.timeout_ms = 10000;
  int calls = 0;
  auto checker = std::make_unique<HealthChecker>(config, [&](bool, const std::string&) { ++calls; });
  checker->start();
  REQUIRE(waitFor([&] { return agent.requests() == 1; }, 5s));
  auto start = Clock::now();
  checker.reset();
  CHECK(elapsedSince(start) < 500ms);
  CHECK(calls == 0);  // the interrupted probe is not reported
}

TEST_CASE("HealthChecker: destroying a checker that never started is fine", "[unit]") {
  ProbeConfig config = zmqProbe(mustParse("127.0.0.1:1"));
  HealthChecker checker(config, nullptr);
  CHECK(checker.probesRun() == 0);
  CHECK_FALSE(checker.healthy());
}

}  // namespace
}  // namespace twinhub
