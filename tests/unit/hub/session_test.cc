// Session protocol under a hostile network: two sidecars' session ends joined by an in-process
// "hub" that loses, duplicates and reorders frames and changes hubs, with real sockets at both
// ends (a client and an echo server). Every byte must arrive once and in order.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <deque>
#include <random>
#include <thread>
#include <unordered_map>

#include "hub/session.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"
#include "wire/subjects.h"

using namespace twinhub;
using wire::FrameType;

namespace {

struct Faults {
  double loss = 0;
  double duplicate = 0;
  int max_delay_ticks = 0;  // random delay per message: reorders
  int hub_change_every_ticks = 0;
  int reader_pause_ms = 0;  // after every 256 KiB read, the caller pauses this long: its socket fills
  uint32_t idle_timeout_ms = 0;  // SessionSettings: 0 off
  uint32_t fin_timeout_ms = 0;
  uint32_t keepalive_ms = 2000;
};

class Network;

class FakeHost : public SessionHost, public ConnectionOwner {
 public:
  // Host 0 holds client ends, host 1 server ends.
  FakeHost(Network& network, int index) : network_(network), inbox_("h" + std::to_string(index)) {
    frames_ = inbox_ + ".s";
  }
  bool publish(const std::string& subject, const std::string& reply, std::string_view data) override;
  bool hubAvailable() const override { return true; }
  const std::string& framesSubject(SessionRole) const override { return frames_; }
  bool isPeerSubject(std::string_view subject) const override { return subject == "h0.s" || subject == "h1.s"; }
  const std::string& inbox() const override { return inbox_; }
  std::string serviceOpenSubject(const std::string& service) const override { return "svc." + service; }
  void ackDue(Session* session) override {
    if (session->ackQueued()) return;
    session->setAckQueued(true);
    due_.push_back(session);
  }
  void sessionEnded(Session* session) override {
    sessions.erase(session->id());
    due_.erase(std::remove(due_.begin(), due_.end(), session), due_.end());
    ++ended;
  }
  HubStats& hubStats() override { return stats_; }
  void outOfFds() override {}
  void onConnectionClosed(FrontConnection* connection) override {
    delete connection;
    ++closed;
  }
  void flushAcks() {
    std::vector<Session*> due;
    due.swap(due_);
    for (Session* s : due) {
      s->setAckQueued(false);
      s->flushAck();
    }
  }

  std::unordered_map<uint64_t, Session*> sessions;
  int ended = 0;
  int closed = 0;

 private:
  Network& network_;
  std::string inbox_;
  std::string frames_;
  std::vector<Session*> due_;
  NullHubStats stats_;
};

class Network {
 public:
  Network(uv_loop_t* loop, Faults faults, std::string agent)
      : context_(loop),
        faults_(faults),
        agent_(std::move(agent)),
        client_(*this, 0),
        server_(*this, 1) {
    uv_timer_init(loop, &timer_);
    timer_.data = this;
    uv_timer_start(&timer_, onTimer, 1, 1);
    uv_tcp_init(loop, &listener_);
    listener_.data = this;
    auto addr = NetAddress::parse("127.0.0.1:0", nullptr);
    uv_tcp_bind(&listener_, addr->sockaddrPtr(), 0);
    uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), 16, onConnection);
    sockaddr_storage name{};
    int len = sizeof name;
    uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&name), &len);
    address_ = NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&name)).toString();
  }

  void send(std::string subject, std::string reply, std::string data) {
    const bool session_frame = subject.size() > 2 && subject.compare(subject.size() - 2, 2, ".s") == 0;
    if (session_frame && chance(faults_.loss)) {
      ++lost;
      return;
    }
    int copies = session_frame && chance(faults_.duplicate) ? 2 : 1;
    for (int i = 0; i < copies; ++i) {
      const int delay = faults_.max_delay_ticks ? static_cast<int>(random_() % (faults_.max_delay_ticks + 1)) : 0;
      queue_.push_back({tick_ + delay, subject, reply, data});
    }
  }

  void close() {
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_), nullptr);
    uv_close(reinterpret_cast<uv_handle_t*>(&listener_), nullptr);
  }

  const std::string& address() const { return address_; }
  bool idle() const { return client_.sessions.empty() && server_.sessions.empty() && client_.closed == 1 && server_.closed == 1; }
  FakeHost& client() { return client_; }
  FakeHost& server() { return server_; }
  int lost = 0;
  int hub_changes = 0;

 private:
  struct Message {
    uint64_t due;
    std::string subject, reply, data;
  };

  bool chance(double p) { return p > 0 && std::uniform_real_distribution<double>(0, 1)(random_) < p; }

  static void onConnection(uv_stream_t* server, int status) {
    auto* self = static_cast<Network*>(server->data);
    auto* session = new Session(self->context_, self->client_, SessionRole::kClient, 0x5e55, "Echo", self->settings(),
                                std::make_shared<NullFrontStats>(), self->client_);
    self->client_.sessions[session->id()] = session;
    uv_accept(server, session->clientStream());
    session->start();
  }

  SessionSettings settings() const {
    SessionSettings s;
    s.window_bytes = 256 * 1024;
    s.retransmit_ms = 30;
    s.open_timeout_ms = 5000;
    s.idle_timeout_ms = faults_.idle_timeout_ms;
    s.fin_timeout_ms = faults_.fin_timeout_ms;
    s.keepalive_ms = faults_.keepalive_ms;
    return s;
  }

  static void onTimer(uv_timer_t* timer) { static_cast<Network*>(timer->data)->step(); }

  void step() {
    ++tick_;
    std::deque<Message> due;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if (it->due <= tick_) {
        due.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    for (Message& m : due) deliver(m);
    client_.flushAcks();
    server_.flushAcks();
    const uint64_t now = uv_hrtime();
    for (FakeHost* host : {&client_, &server_}) {
      std::vector<Session*> open;
      for (auto& [id, s] : host->sessions) open.push_back(s);
      for (Session* s : open) s->tick(now);
      if (faults_.hub_change_every_ticks && tick_ % faults_.hub_change_every_ticks == 0) {
        for (Session* s : open) s->onHubChanged();
        if (host == &client_) ++hub_changes;
      }
    }
  }

  void deliver(Message& m) {
    if (m.subject == "svc.Echo") {
      auto frame = wire::decodeFrame(m.data, nullptr);
      REQUIRE(frame);
      const uint64_t id = frame->header.session;
      if (auto it = server_.sessions.find(id); it != server_.sessions.end()) {
        it->second->onDuplicateOpen();
        return;
      }
      auto* session = new Session(context_, server_, SessionRole::kServer, id, "Echo", settings(),
                                  std::make_shared<NullFrontStats>(), server_);
      server_.sessions[id] = session;
      session->startServer(*NetAddress::parse(agent_, nullptr), std::string(frame->payload));
      return;
    }
    FakeHost& host = m.subject.rfind("h0", 0) == 0 ? client_ : server_;
    if (m.subject == host.framesSubject(SessionRole::kClient)) {
      HubPayload message(std::move(m.data));
      auto frame = wire::decodeFrame(message.view(), nullptr);
      REQUIRE(frame);
      if (auto it = host.sessions.find(frame->header.session); it != host.sessions.end()) {
        const FrameType type = frame->header.type;
        if (type == FrameType::kOpenOk || type == FrameType::kOpenFail) {
          it->second->onOpenReply(type, frame->payload);
        } else {
          it->second->onFrame(*frame, std::move(message));
        }
      }
      return;
    }
    const uint64_t id = wire::sessionFromOpenReply(host.inbox(), m.subject);
    auto frame = wire::decodeFrame(m.data, nullptr);
    if (auto it = host.sessions.find(id); frame && it != host.sessions.end()) {
      it->second->onOpenReply(frame->header.type, frame->payload);
    }
  }

  ProxyContext context_;
  Faults faults_;
  std::string agent_;
  FakeHost client_;
  FakeHost server_;
  uv_timer_t timer_;
  uv_tcp_t listener_;
  std::string address_;
  std::deque<Message> queue_;
  uint64_t tick_ = 0;
  std::mt19937_64 random_{42};
};

bool FakeHost::publish(const std::string& subject, const std::string& reply, std::string_view data) {
  network_.send(subject, reply, std::string(data));
  return true;
}

// Sends `bytes` through the network to the echo server and checks every byte that comes back.
void runEcho(const Faults& faults, size_t bytes) {
  test::EchoServer echo;
  uv_loop_t loop;
  uv_loop_init(&loop);
  Network network(&loop, faults, echo.address());

  std::atomic<bool> client_done{false};
  std::atomic<bool> client_ok{false};
  std::thread client([&] {
    test::TcpClient tcp(network.address());
    if (!tcp.isConnected()) {
      client_done = true;
      return;
    }
    std::thread writer([&] {
      std::vector<char> chunk(48 * 1024);
      for (size_t sent = 0; sent < bytes;) {
        const size_t n = std::min(chunk.size(), bytes - sent);
        test::fillPattern(7, sent, chunk.data(), n);
        if (!tcp.sendAll(chunk.data(), n)) return;
        sent += n;
      }
      tcp.shutdownWrite();
    });
    std::vector<char> got(64 * 1024), want(64 * 1024);
    bool ok = true;
    for (size_t received = 0; received < bytes && ok;) {
      const size_t n = std::min(got.size(), bytes - received);
      if (tcp.recvExact(got.data(), n, std::chrono::seconds(20)) != n) {
        ok = false;
        break;
      }
      test::fillPattern(7, received, want.data(), n);
      ok = std::equal(got.begin(), got.begin() + n, want.begin());
      received += n;
      if (faults.reader_pause_ms && received % (256 * 1024) < n) {
        // A slow reader, not a synchronisation: meanwhile the socket fills and the loop queues.
        std::this_thread::sleep_for(std::chrono::milliseconds(faults.reader_pause_ms));
      }
    }
    std::string rest;
    // After the echo of every byte, the half-close comes back as EOF.
    ok = ok && tcp.recvUntilEof(&rest, std::chrono::seconds(10)) && rest.empty();
    writer.join();
    client_ok = ok;
    client_done = true;
  });

  const uint64_t deadline = uv_hrtime() + 60ull * 1000000000;
  while (!(client_done && network.idle()) && uv_hrtime() < deadline) uv_run(&loop, UV_RUN_ONCE);
  client.join();
  const bool idle = network.idle();
  network.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(client_ok);
  CHECK(idle);  // both ends finished cleanly and were freed
  CHECK(uv_loop_close(&loop) == 0);
  INFO("frames lost: " << network.lost << ", hub changes: " << network.hub_changes);
}

// A caller sends a few bytes (and a FIN when `half_close`) to an agent that accepts and then
// never reads, answers or closes. Returns how long the caller's connection stayed open after its
// last byte, or -1 when it was still open after `patience_ms`.
long long runSilentAgent(const Faults& faults, bool half_close, int patience_ms) {
  uint16_t port = 0;
  const int silent = test::bindLoopback(16, &port, "silent agent");  // the kernel accepts; nobody reads
  uv_loop_t loop;
  uv_loop_init(&loop);
  Network network(&loop, faults, "127.0.0.1:" + std::to_string(port));
  std::atomic<long long> open_ms{-2};
  std::thread client([&] {
    test::TcpClient tcp(network.address());
    if (!tcp.isConnected() || !tcp.sendAll("hello")) return;
    if (half_close) tcp.shutdownWrite();
    const auto start = std::chrono::steady_clock::now();
    const std::string how = tcp.waitClosed(std::chrono::milliseconds(patience_ms));
    open_ms = how == "timeout" ? -1
                               : std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - start)
                                     .count();
  });
  const uint64_t deadline = uv_hrtime() + (patience_ms + 3000ull) * 1000000;
  while (open_ms == -2 && uv_hrtime() < deadline) uv_run(&loop, UV_RUN_ONCE);
  client.join();
  for (FakeHost* host : {&network.client(), &network.server()}) {
    std::vector<Session*> open;
    for (auto& [id, session] : host->sessions) open.push_back(session);
    for (Session* session : open) session->abort();
  }
  network.close();
  uv_run(&loop, UV_RUN_DEFAULT);
  CHECK(uv_loop_close(&loop) == 0);
  ::close(silent);
  return open_ms;
}

}  // namespace

TEST_CASE("Session: an idle session ends by the idle timeout, keep-alive PINGs notwithstanding", "[unit]") {
  Faults faults;
  faults.keepalive_ms = 50;  // PINGs flow all the time; they are no traffic
  faults.idle_timeout_ms = 300;
  const long long ms = runSilentAgent(faults, false, 3000);
  CHECK(ms >= 250);
  CHECK(ms < 2000);
}

TEST_CASE("Session: a half-closed session that goes quiet ends by the fin timeout", "[unit]") {
  Faults faults;
  faults.fin_timeout_ms = 300;
  const long long ms = runSilentAgent(faults, true, 3000);
  CHECK(ms >= 250);
  CHECK(ms < 2000);
}

TEST_CASE("Session: with both timeouts off, a quiet half-closed session stays open", "[unit]") {
  Faults faults;
  faults.keepalive_ms = 50;
  CHECK(runSilentAgent(faults, true, 1000) == -1);
}

TEST_CASE("Session: carries bytes both ways and passes the half-close on", "[unit]") {
  runEcho(Faults{}, 4 * 1024 * 1024);
}

TEST_CASE("Session: nothing lost, duplicated or reordered when the hub loses, copies and delays frames", "[unit]") {
  Faults faults;
  faults.loss = 0.05;
  faults.duplicate = 0.05;
  faults.max_delay_ticks = 3;
  runEcho(faults, 2 * 1024 * 1024);
}

TEST_CASE("Session: nothing lost or duplicated across repeated hub changes", "[unit]") {
  Faults faults;
  faults.hub_change_every_ticks = 7;
  faults.max_delay_ticks = 2;
  runEcho(faults, 2 * 1024 * 1024);
}

TEST_CASE("Session: a caller that reads slowly gets every byte once and in order", "[unit]") {
  Faults faults;
  faults.reader_pause_ms = 50;  // its socket fills: the loop writes partly and queues the rest
  runEcho(faults, 8 * 1024 * 1024);
}

TEST_CASE("Session: nothing lost or duplicated under loss, copies, delays and hub changes at once", "[unit]") {
  Faults faults;
  faults.loss = 0.05;
  faults.duplicate = 0.05;
  faults.max_delay_ticks = 3;
  faults.hub_change_every_ticks = 7;
  runEcho(faults, 2 * 1024 * 1024);
}
