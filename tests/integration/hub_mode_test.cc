// Hub mode end to end: a front sidecar carries TCP connections as sessions through two real
// nats-servers (HubPair: central, and edge as its leaf node) to a serving sidecar, which connects
// them to its agent. Bulk transfers stay byte-exact and ZeroMQ REQ/REP loses nothing while the hub
// under them is killed (SIGKILL) or frozen (SIGSTOP); failback to the primary waits for the
// hold-down; an unhealthy agent stops getting sessions, and with no healthy replica a caller is
// refused promptly; malformed frames are counted and dropped; SIGHUP flips a front from direct to
// hub without touching the connections already open.
//
// Real processes (nats-server, twinhub-sidecar, twinhub-agent-sim) and real sockets, 127.0.0.1
// only, ports 0. Every wait is a condition with a deadline.
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>
#include <zmq.hpp>

#include "support/hub_fixtures.h"
#include "support/nats_hubs.h"
#include "support/process.h"
#include "support/sidecar_fixture.h"
#include "support/tcp_client.h"
#include "support/test_servers.h"
#include "support/zmq_client.h"

namespace twinhub::test {
namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr uint64_t kMiB = 1024 * 1024;
// A hub change (detection, failover, re-send) takes well under a second; this is the test's
// patience on a loaded machine, not the target.
constexpr auto kFailoverTimeout = 5s;
// The original agents' callers give up after 5000 ms.
constexpr int kCallerTimeoutMs = 5000;

long long msSince(Clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count();
}

// ---- ZeroMQ -------------------------------------------------------------------------------

json processRequest(const std::string& id, const std::string& caller, int seq) {
  return {{"action", "process"},
          {"request_id", id},
          {"source_agent", caller},
          {"timestamp", "2024-05-01T12:00:00.000000"},
          {"payload", {{"caller", caller}, {"seq", seq}}}};
}

// One request on a fresh REQ socket (a new TCP connection, hence a new session); true when its own
// answer came back.
bool oneCall(zmq::context_t& context, const std::string& address, std::mt19937_64& rng, int timeout_ms) {
  zmq::socket_t socket = reqSocket(context, address, timeout_ms);
  const std::string id = uuid4(rng);
  std::optional<json> reply = call(socket, processRequest(id, "OneShot", 0));
  return reply && reply->value("status", "") == "success" && reply->value("request_id", "") == id;
}

// A twinhub-agent-sim and its control socket.
class AgentSim {
 public:
  explicit AgentSim(const std::string& name) : process_(binPath("twinhub-agent-sim"), {"--name", name, "--port", "0"}) {
    address_ = process_.waitForOutput(R"(serving on (\S+) health \S+)", kStartTimeout);
    health_ = process_.waitForOutput(R"(serving on \S+ health (\S+))", kStartTimeout);
    INFO("agent-sim output:\n" << process_.output());
    REQUIRE(!address_.empty());
    REQUIRE(!health_.empty());
  }
  const std::string& address() const { return address_; }
  const std::string& health() const { return health_; }
  std::string output() const { return process_.output(); }

  // {served, unique_request_ids, duplicates, ...}; REQUIREs an answer.
  json stats() {
    std::optional<json> reply = control({{"action", "sim_stats"}});
    REQUIRE(reply.has_value());
    return *reply;
  }
  bool setHealth(const std::string& health) {
    std::optional<json> reply = control({{"action", "sim_set"}, {"health", health}});
    return reply && reply->value("ok", false);
  }

 private:
  std::optional<json> control(const json& request) {
    zmq::socket_t socket = reqSocket(context_, health_, 3000);
    return call(socket, request);
  }

  Process process_;
  zmq::context_t context_;
  std::string address_;
  std::string health_;
};

int64_t served(const json& stats) { return stats.at("served").get<int64_t>(); }

// Callers on their own threads, each with one REQ socket (one long-lived session), sending
// `requests` requests with `pause` between them. A caller stops at its first lost answer: a REQ
// socket cannot go on after one.
class ZmqLoad {
 public:
  ZmqLoad(zmq::context_t& context, const std::string& address, int callers, int requests,
          std::chrono::milliseconds pause) {
    for (int caller = 0; caller < callers; ++caller) {
      threads_.emplace_back([this, &context, address, caller, requests, pause] {
        std::mt19937_64 rng(std::random_device{}() ^ static_cast<uint64_t>(caller));
        zmq::socket_t socket = reqSocket(context, address, kCallerTimeoutMs);
        const std::string name = "Caller" + std::to_string(caller);
        for (int i = 0; i < requests; ++i) {
          const std::string id = uuid4(rng);
          const json request = processRequest(id, name, i);
          std::optional<json> reply = call(socket, request);
          if (!reply) {
            ++unanswered;
            return;
          }
          const bool matches = reply->value("status", "") == "success" && reply->value("request_id", "") == id &&
                               reply->value("echo", json()) == request["payload"];
          ++(matches ? answered : mismatched);
          std::this_thread::sleep_for(pause);  // pacing between requests, not synchronisation
        }
      });
    }
  }
  ~ZmqLoad() { join(); }
  ZmqLoad(const ZmqLoad&) = delete;
  ZmqLoad& operator=(const ZmqLoad&) = delete;

  void join() {
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }

  std::atomic<int> answered{0};
  std::atomic<int> mismatched{0};
  std::atomic<int> unanswered{0};

 private:
  std::vector<std::thread> threads_;
};

// ---- hub inspection -----------------------------------------------------------------------

// Whether the connection named `connection` on `hub` has a subscription on `subject`; nullopt when
// the hub does not answer or has no such connection.
std::optional<bool> hasSubscription(const NatsHub& hub, const std::string& connection, const std::string& subject) {
  const json parsed = json::parse(hub.monitorGet("/connz?subs=detail&limit=4096"), nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("connections")) return std::nullopt;
  for (const json& c : parsed["connections"]) {
    if (c.value("name", "") != connection) continue;
    if (c.contains("subscriptions_list_detail")) {
      for (const json& sub : c["subscriptions_list_detail"]) {
        if (sub.value("subject", "") == subject) return true;
      }
    }
    return false;
  }
  return std::nullopt;
}

// Every hub has (or has dropped) the sidecar's subscription on `subject`.
bool waitSubscribed(HubPair& hubs, const std::string& sidecar_id, const std::string& subject, bool subscribed,
                    std::chrono::milliseconds timeout) {
  return waitFor(
      [&] {
        for (NatsHub* hub : {&hubs.edge(), &hubs.central()}) {
          if (hasSubscription(*hub, sidecar_id + "@" + hub->name(), subject) != subscribed) return false;
        }
        return true;
      },
      timeout);
}

// Whether `hub` has learnt over its leaf link that the other hub has interest in `subject`. After
// the last subscriber leaves, a hub that has not yet heard so forwards a message over the link
// instead of answering "no responders".
std::optional<bool> leafInterest(const NatsHub& hub, const std::string& subject) {
  const json parsed = json::parse(hub.monitorGet("/leafz?subs=1"), nullptr, false);
  if (parsed.is_discarded() || !parsed.contains("leafs")) return std::nullopt;
  for (const json& leaf : parsed["leafs"]) {
    if (!leaf.contains("subscriptions_list")) continue;
    for (const json& sub : leaf["subscriptions_list"]) {
      if (sub.is_string() && sub.get<std::string>() == subject) return true;
    }
  }
  return false;
}

// Nobody has interest in `subject` on either hub, directly or over the leaf link.
bool waitNoInterest(HubPair& hubs, const std::string& subject, std::chrono::milliseconds timeout) {
  return waitFor(
      [&] {
        for (NatsHub* hub : {&hubs.edge(), &hubs.central()}) {
          if (leafInterest(*hub, subject) != false) return false;
          const json subsz = json::parse(hub->monitorGet("/subsz?subs=1&limit=4096"), nullptr, false);
          if (subsz.is_discarded()) return false;
          for (const json& sub : subsz.value("subscriptions_list", json::array())) {
            if (sub.value("subject", "") == subject) return false;
          }
        }
        return true;
      },
      timeout);
}

// The time of day in a sidecar log line ("2026-01-02T10:11:12.345 ..."), in milliseconds.
std::optional<long long> logTimeMs(const std::string& line) {
  int h = 0, m = 0, s = 0, ms = 0;
  const size_t t = line.find('T');
  if (t == std::string::npos || std::sscanf(line.c_str() + t + 1, "%d:%d:%d.%d", &h, &m, &s, &ms) != 4) {
    return std::nullopt;
  }
  return ((h * 60LL + m) * 60 + s) * 1000 + ms;
}


// Messages that no sidecar may accept as a session frame.
std::vector<std::string> garbageFrames() {
  std::mt19937_64 rng(0x6a7ba6e);
  auto randomBytes = [&](size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    s[0] = 'x';  // not the magic
    return s;
  };
  const std::string body = "some bytes";
  const auto len = static_cast<uint32_t>(body.size());
  return {
      std::string(),                                               // empty
      randomBytes(1000),                                           // random
      randomBytes(512 * 1024),                                     // large random
      std::string("tH\x01\x04", 4),                                // short: magic, version, type only
      std::string("tH\x01\x04\x00\x00\x00\x0a", 8) + "0123456789",  // shorter than a header
      rawFrame(2, kData, len, 7, 1, 0, 0, body),                   // right magic, wrong version
      rawFrame(1, kData, 0xffffffffu, 7, 1, 0, 0, body),           // huge length field
      rawFrame(1, kData, len + 1, 7, 1, 0, 0, body),               // length one past the bytes
      rawFrame(1, 99, len, 7, 1, 0, 0, body),                      // unknown type
      rawFrame(1, kData, len, 0, 1, 0, 0, body),                   // session 0
      rawFrame(1, kData, len, 7, 0, 0, 0, body),                   // DATA without seq
      rawFrame(1, kAck, 0, 7, 5, 0, 0, ""),                        // ACK with a seq
      rawFrame(1, kData, len, 7, 1, 3, 9, body),                   // written_seq above recv_seq
      rawFrame(1, kData, 0, 7, 1, 0, 0, ""),                       // empty DATA
  };
}

}  // namespace

// ---- 1. bulk ---------------------------------------------------------------------------------

TEST_CASE("HubMode: carries 100 MB byte-exact both ways between sidecars on different hubs", "[integration]") {
  constexpr uint64_t kTotal = 100 * kMiB;
  constexpr uint64_t kSeed = 0x4b0b0001;
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  // The front prefers edge and the server central: every frame crosses the leaf link.
  EchoPath path({&hubs.edge(), &hubs.central()}, {&hubs.central(), &hubs.edge()});
  REQUIRE(activeHub(*path.front) == "edge");
  REQUIRE(activeHub(*path.server) == "central");

  TcpClient client(path.front->front());
  REQUIRE(client.isConnected());
  const auto started = Clock::now();
  PatternCheck check;
  bool sent = false;
  {
    PatternSender sender(client, kSeed, kTotal, {}, /*shutdown_write_after=*/true);
    check = recvPattern(client, kSeed, 0, kTotal, 10s);
    sent = sender.wait();
  }
  const long long elapsed_ms = msSince(started);
  std::printf("hub mode: 100 MB echoed through edge -> central in %lld ms (%.1f MB/s each way)\n", elapsed_ms,
              100.0 * 1000 / static_cast<double>(std::max(1LL, elapsed_ms)));
  INFO(path.logs());
  INFO("received " << check.received << ", first mismatch at byte " << check.first_mismatch);
  CHECK(sent);
  REQUIRE(check.received == kTotal);
  REQUIRE(check.matched);
  // The client's FIN went through, the echo server answered with its own, and that came back.
  CHECK(client.waitClosed(5s) == "eof");

  CHECK(path.front->waitMetric("twinhub_front_bytes_total", R"(direction="upstream")", atLeast(kTotal), 5s) >= kTotal);
  CHECK(path.front->waitMetric("twinhub_front_bytes_total", R"(direction="downstream")", atLeast(kTotal), 5s) >=
        kTotal);
  CHECK(path.front->waitMetric("twinhub_sessions_active", R"(role="client")", equalTo(0), 5s) == 0);
  CHECK(path.server->waitMetric("twinhub_sessions_active", R"(role="server")", equalTo(0), 5s) == 0);
}

// ---- 2, 3. a transfer across a hub failure ---------------------------------------------------

namespace {

enum class HubFailure { kKill, kFreeze };

void transferAcrossHubFailure(HubFailure failure) {
  constexpr uint64_t kTotal = 50 * kMiB;
  const uint64_t seed = failure == HubFailure::kKill ? 0x4b0b0002 : 0x4b0b0003;
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  // Both ends prefer the same hub, so it carries the session both ways: killing edge (the leaf)
  // and freezing central (the hub the leaf hangs off) between them cover both positions.
  NatsHub& victim = failure == HubFailure::kKill ? hubs.edge() : hubs.central();
  NatsHub& survivor = failure == HubFailure::kKill ? hubs.central() : hubs.edge();
  const HubOrder order = {&victim, &survivor};
  EchoPath path(order, order);
  REQUIRE(activeHub(*path.front) == victim.name());
  REQUIRE(activeHub(*path.server) == victim.name());

  TcpClient client(path.front->front());
  REQUIRE(client.isConnected());
  PatternSender sender(client, seed, kTotal, {}, /*shutdown_write_after=*/true);
  PatternReceiver receiver(client, seed, kTotal, 10s);
  REQUIRE(waitFor([&] { return receiver.progress() >= kTotal / 4; }, 30s));

  const auto failed_at = Clock::now();
  if (failure == HubFailure::kKill) {
    victim.kill();
  } else {
    victim.freeze();
  }
  const uint64_t at_failure = receiver.progress();
  const bool front_moved = waitActiveHub(*path.front, survivor.name(), kFailoverTimeout);
  const long long front_moved_ms = msSince(failed_at);
  const bool server_moved = waitActiveHub(*path.server, survivor.name(), kFailoverTimeout);

  PatternCheck check = receiver.wait();
  const bool sent = sender.wait();
  const std::string closed = client.waitClosed(5s);
  const char* what = failure == HubFailure::kKill ? "kill -9" : "SIGSTOP";
  std::printf("hub mode: %s %s at %llu of %llu bytes; front on %s after %lld ms\n", what, victim.name().c_str(),
              static_cast<unsigned long long>(at_failure), static_cast<unsigned long long>(kTotal),
              survivor.name().c_str(), front_moved_ms);

  INFO(path.logs());
  INFO("received " << check.received << ", first mismatch at byte " << check.first_mismatch);
  CHECK(at_failure < kTotal);  // the hub failed under a transfer in flight
  CHECK(front_moved);
  CHECK(server_moved);
  CHECK(sent);
  REQUIRE(check.received == kTotal);
  REQUIRE(check.matched);
  CHECK(closed == "eof");

  const std::string labels = "from=\"" + victim.name() + "\",to=\"" + survivor.name() + "\"";
  CHECK(path.front->metric("twinhub_hub_failovers_total", labels) >= 1);
  CHECK(path.server->metric("twinhub_hub_failovers_total", labels) >= 1);
  // Frames in flight on the failed hub were sent again through the other one.
  CHECK(orZero(path.front->metric("twinhub_session_resent_frames_total")) +
            orZero(path.server->metric("twinhub_session_resent_frames_total")) >=
        1);
  CHECK(path.front->metric("twinhub_hub_detection_seconds_count") >= 1);

  if (failure == HubFailure::kFreeze) {
    // After SIGCONT the hub delivers whatever it held: stale frames are dropped as duplicates,
    // and the hub comes back into use.
    victim.thaw();
    REQUIRE(hubs.waitLeafUp(10s));
    CHECK(path.front->waitMetric("twinhub_hub_state", "", equalTo(4), 10s) == 4);
    CHECK(path.server->waitMetric("twinhub_hub_state", "", equalTo(4), 10s) == 4);
    CHECK(waitFor([&] { return newConnectionEchoes(path.front->front()); }, 5s));
    CHECK(path.front->process().running());
    CHECK(path.server->process().running());
  }
}

}  // namespace

TEST_CASE("HubMode: a transfer survives kill -9 of the hub carrying it, byte-exact", "[integration]") {
  transferAcrossHubFailure(HubFailure::kKill);
}

TEST_CASE("HubMode: a transfer survives SIGSTOP of the hub carrying it, byte-exact", "[integration]") {
  transferAcrossHubFailure(HubFailure::kFreeze);
}

// ---- 4. failback ------------------------------------------------------------------------------

TEST_CASE("HubMode: traffic returns to the restarted primary only after the hold-down", "[integration]") {
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  const HubOrder order = {&hubs.edge(), &hubs.central()};
  EchoPath path(order, order);
  TcpClient long_lived(path.front->front());
  REQUIRE(echoes(long_lived, "before the kill"));

  hubs.edge().kill();
  {
    INFO(path.logs());
    REQUIRE(waitActiveHub(*path.front, "central", kFailoverTimeout));
    REQUIRE(waitActiveHub(*path.server, "central", kFailoverTimeout));
    CHECK(echoes(long_lived, "on the secondary"));
    CHECK(waitFor([&] { return newConnectionEchoes(path.front->front()); }, 5s));
  }

  const double failbacks_before = orZero(path.front->metric("twinhub_hub_failovers_total", R"(from="central",to="edge")"));
  hubs.edge().restart();
  // The front's own view: edge answers its probes again.
  REQUIRE(path.front->waitMetric("twinhub_hub_state", R"(hub="edge")", equalTo(2), 10s) == 2);
  const auto up_seen = Clock::now();
  // For the first 500 ms after that, sessions stay on central.
  bool stayed = true;
  while (msSince(up_seen) < 500) {
    if (activeHub(*path.front) != "central") stayed = false;
    std::this_thread::sleep_for(20ms);
  }
  const bool switched = waitActiveHub(*path.front, "edge", std::chrono::milliseconds(kFailbackHoldMs) + 5s);
  const long long switched_ms = msSince(up_seen);
  std::printf("hub mode: edge up again -> front back on edge after %lld ms (hold-down %d ms)\n", switched_ms,
              kFailbackHoldMs);
  INFO(path.logs());
  CHECK(stayed);
  REQUIRE(switched);
  CHECK(switched_ms >= 1000);

  // By the sidecar's own clock: the hold-down ran from edge's last "-> up" to the switch.
  // (At start the front may have used central for a moment, until edge's first probe came back:
  // only lines after the kill count.)
  std::optional<long long> up_at, switch_at;
  {
    std::istringstream lines(path.front->output());
    std::string line;
    bool after_kill = false;
    while (std::getline(lines, line)) {
      if (line.find("hub edge: up -> down") != std::string::npos) after_kill = true;
      if (!after_kill) continue;
      if (line.find("hub edge: ") != std::string::npos && line.find(" -> up") != std::string::npos) {
        up_at = logTimeMs(line);
      }
      if (line.find("sessions now go through hub edge (was central)") != std::string::npos) {
        switch_at = logTimeMs(line);
        break;
      }
    }
  }
  REQUIRE(up_at.has_value());
  REQUIRE(switch_at.has_value());
  const long long hold = *switch_at - *up_at;
  INFO("edge up to switch, by the front's log: " << hold << " ms");
  CHECK(hold >= kFailbackHoldMs);
  CHECK(hold < kFailbackHoldMs + 1000);

  CHECK(path.front->metric("twinhub_hub_failovers_total", R"(from="central",to="edge")") == failbacks_before + 1);
  CHECK(waitActiveHub(*path.server, "edge", 5s));
  // The connection opened before all this moved with both changes; new ones work on edge.
  CHECK(echoes(long_lived, "back on the primary"));
  CHECK(newConnectionEchoes(path.front->front()));
}

// ---- 5. agent health ----------------------------------------------------------------------------

TEST_CASE("HubMode: an unhealthy agent gets no new sessions and the healthy replica takes them all", "[integration]") {
  constexpr const char* kService = "ReplicatedService";
  constexpr int kCalls = 20;
  const std::string open_subject = std::string("th.svc.") + kService + ".open";
  const std::string pc2_id = std::string("pc2.") + kService;
  const std::string mainpc_id = std::string("mainpc.") + kService;
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  AgentSim sim_pc2("AgentPc2");
  AgentSim sim_mainpc("AgentMainpc");
  auto server_pc2 =
      startServing(pc2_id, {&hubs.edge(), &hubs.central()}, kService, sim_pc2.address(), "zmq", sim_pc2.health());
  auto server_mainpc = startServing(mainpc_id, {&hubs.central(), &hubs.edge()}, kService, sim_mainpc.address(), "zmq",
                                    sim_mainpc.health());
  auto front = startFront({&hubs.edge(), &hubs.central()}, kService);
  auto logs = [&] {
    return "front output:\n" + front->output() + "\npc2 output:\n" + server_pc2->output() + "\nmainpc output:\n" +
           server_mainpc->output();
  };
  REQUIRE(waitSubscribed(hubs, pc2_id, open_subject, true, 5s));
  REQUIRE(waitSubscribed(hubs, mainpc_id, open_subject, true, 5s));

  zmq::context_t context;
  std::mt19937_64 rng(std::random_device{}());
  // One request per new connection, so each is a new session placed by the queue group.
  auto calls = [&](int n) {
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += oneCall(context, front->front(), rng, kCallerTimeoutMs) ? 1 : 0;
    return ok;
  };
  {
    INFO(logs());
    REQUIRE(waitFor([&] { return oneCall(context, front->front(), rng, 2000); }, 10s));
  }

  // Both healthy: new sessions spread over both replicas.
  const int64_t pc2_start = served(sim_pc2.stats());
  const int64_t mainpc_start = served(sim_mainpc.stats());
  {
    INFO(logs());
    REQUIRE(calls(kCalls) == kCalls);
  }
  const int64_t pc2_both = served(sim_pc2.stats());
  const int64_t mainpc_both = served(sim_mainpc.stats());
  std::printf("hub mode: %d sessions over two healthy replicas: pc2 %lld, mainpc %lld\n", kCalls,
              static_cast<long long>(pc2_both - pc2_start), static_cast<long long>(mainpc_both - mainpc_start));
  CHECK(pc2_both - pc2_start + mainpc_both - mainpc_start == kCalls);
  CHECK(pc2_both > pc2_start);
  CHECK(mainpc_both > mainpc_start);

  // pc2's agent fails its health checks: its sidecar leaves the queue group on both hubs.
  REQUIRE(sim_pc2.setHealth("error"));
  {
    INFO(logs());
    REQUIRE(!server_pc2->waitLog("no longer serving " + std::string(kService), 5s).empty());
    REQUIRE(!server_pc2->waitLog("agent \\S+ is unhealthy", 1s).empty());
    REQUIRE(waitSubscribed(hubs, pc2_id, open_subject, false, 5s));
  }
  const int answered = calls(kCalls);
  const int64_t pc2_after = served(sim_pc2.stats());
  const int64_t mainpc_after = served(sim_mainpc.stats());
  {
    INFO(logs());
    CHECK(answered == kCalls);
    CHECK(pc2_after == pc2_both);
    CHECK(mainpc_after - mainpc_both == kCalls);
  }

  // pc2 recovers: it serves again and takes its share of new sessions.
  REQUIRE(sim_pc2.setHealth("ok"));
  {
    INFO(logs());
    REQUIRE(!server_pc2->waitLog("serving " + std::string(kService) + " through the hubs", 5s, 1).empty());
    REQUIRE(waitSubscribed(hubs, pc2_id, open_subject, true, 5s));
  }
  CHECK(calls(kCalls) == kCalls);
  CHECK(served(sim_pc2.stats()) > pc2_after);
}

// The hub answers an OPEN that no server takes with "no responders": the caller is closed at once.
TEST_CASE("HubMode: with no healthy replica a caller is refused at once and counted as no_server",
          "[integration]") {
  constexpr const char* kService = "LonelyService";
  const std::string open_subject = std::string("th.svc.") + kService + ".open";
  const std::string server_id = std::string("pc2.") + kService;
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  AgentSim sim("AgentLonely");
  // The front and the server on different primaries: the OPEN crosses the leaf link.
  auto server = startServing(server_id, {&hubs.central(), &hubs.edge()}, kService, sim.address(), "zmq", sim.health());
  auto front = startFront({&hubs.edge(), &hubs.central()}, kService);
  auto logs = [&] { return "front output:\n" + front->output() + "\nserving output:\n" + server->output(); };
  zmq::context_t context;
  std::mt19937_64 rng(std::random_device{}());
  {
    INFO(logs());
    REQUIRE(waitFor([&] { return oneCall(context, front->front(), rng, 2000); }, 10s));
  }

  REQUIRE(sim.setHealth("error"));
  {
    INFO(logs());
    REQUIRE(!server->waitLog("no longer serving " + std::string(kService), 5s).empty());
    REQUIRE(waitSubscribed(hubs, server_id, open_subject, false, 5s));
    // Not even over the leaf link: both hubs know that nobody serves.
    REQUIRE(waitNoInterest(hubs, open_subject, 5s));
  }
  const int64_t served_before = served(sim.stats());
  const double no_server_before = orZero(front->metric("twinhub_session_open_failures_total", R"(reason="no_server")"));

  TcpClient client(front->front());
  REQUIRE(client.isConnected());
  const auto connected_at = Clock::now();
  REQUIRE(client.sendAll("anyone there?"));
  const std::string closed = client.waitClosed(5s);
  const long long closed_ms = msSince(connected_at);
  std::printf("hub mode: no healthy server -> caller closed (%s) after %lld ms\n", closed.c_str(), closed_ms);
  const double no_server = front->waitMetric("twinhub_session_open_failures_total", R"(reason="no_server")",
                                             atLeast(no_server_before + 1), 2s);
  INFO(logs());
  INFO("open failures: no_server=" << front->metric("twinhub_session_open_failures_total", R"(reason="no_server")")
                         << " timeout=" << front->metric("twinhub_session_open_failures_total", R"(reason="timeout")"));
  CHECK(closed != "timeout");
  CHECK(served(sim.stats()) == served_before);
  CHECK(closed_ms < 1000);
  // Refused by the hub's answer, not given up after the open timeout.
  CHECK(closed_ms < kOpenTimeoutMs / 2);
  CHECK(no_server >= no_server_before + 1);
}

// ---- 6. ZeroMQ across a hub failure --------------------------------------------------------------

namespace {

void zmqAcrossHubFailure(HubFailure failure) {
  constexpr const char* kService = "ZmqService";
  constexpr int kCallers = 4;
  constexpr int kRequests = 300;
  constexpr int kTotal = kCallers * kRequests;
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  // kill takes down central (the hub the leaf hangs off), freeze stops edge (the leaf).
  NatsHub& victim = failure == HubFailure::kKill ? hubs.central() : hubs.edge();
  NatsHub& survivor = failure == HubFailure::kKill ? hubs.edge() : hubs.central();
  const HubOrder order = {&victim, &survivor};
  AgentSim sim("ZmqAgent");
  auto server = startServing(std::string("pc2.") + kService, order, kService, sim.address(), "zmq", sim.health());
  auto front = startFront(order, kService);
  auto logs = [&] { return "front output:\n" + front->output() + "\nserving output:\n" + server->output(); };
  REQUIRE(activeHub(*front) == victim.name());
  REQUIRE(activeHub(*server) == victim.name());

  zmq::context_t context;
  {
    std::mt19937_64 rng(std::random_device{}());
    INFO(logs());
    REQUIRE(waitFor([&] { return oneCall(context, front->front(), rng, 2000); }, 10s));
  }
  const json before = sim.stats();

  const char* what = failure == HubFailure::kKill ? "kill -9" : "SIGSTOP";
  ZmqLoad load(context, front->front(), kCallers, kRequests, 1ms);
  const bool started = waitFor([&] { return load.answered >= kTotal / 4; }, 30s);
  const int at_failure = load.answered;
  const auto failed_at = Clock::now();
  if (started) {
    if (failure == HubFailure::kKill) {
      victim.kill();
    } else {
      victim.freeze();
    }
  }
  const bool moved = started && waitActiveHub(*front, survivor.name(), kFailoverTimeout);
  const long long moved_ms = msSince(failed_at);
  // Traffic goes on through the survivor; then the failed hub comes back under load.
  const bool went_on = waitFor([&] { return load.answered >= at_failure + kTotal / 4 || load.unanswered > 0; }, 30s);
  const int at_recovery = load.answered;
  if (failure == HubFailure::kKill) {
    victim.restart();
  } else {
    victim.thaw();
  }
  load.join();
  std::printf("hub mode: ZeroMQ, %s %s after %d answers (front moved after %lld ms), back after %d; %d of %d answered\n",
              what, victim.name().c_str(), at_failure, moved_ms, at_recovery, load.answered.load(), kTotal);

  const json after = sim.stats();
  INFO(logs());
  INFO("sim stats before " << before.dump() << ", after " << after.dump());
  REQUIRE(started);
  CHECK(at_failure < kTotal);
  CHECK(moved);
  CHECK(went_on);
  CHECK(load.unanswered == 0);
  CHECK(load.mismatched == 0);
  CHECK(load.answered == kTotal);
  CHECK(served(after) - served(before) == kTotal);
  CHECK(after.at("unique_request_ids").get<int64_t>() - before.at("unique_request_ids").get<int64_t>() == kTotal);
  CHECK(after.at("duplicates") == 0);
  const std::string labels = "from=\"" + victim.name() + "\",to=\"" + survivor.name() + "\"";
  CHECK(front->metric("twinhub_hub_failovers_total", labels) >= 1);
  CHECK(server->metric("twinhub_hub_failovers_total", labels) >= 1);
  CHECK(front->process().running());
  CHECK(server->process().running());
}

}  // namespace

TEST_CASE("HubMode: ZeroMQ REQ/REP loses and repeats nothing while the active hub is killed and restarted",
          "[integration]") {
  zmqAcrossHubFailure(HubFailure::kKill);
}

TEST_CASE("HubMode: ZeroMQ REQ/REP loses and repeats nothing while the active hub is frozen and thawed",
          "[integration]") {
  zmqAcrossHubFailure(HubFailure::kFreeze);
}

// ---- 7. malformed frames --------------------------------------------------------------------------

TEST_CASE("HubMode: malformed frames are counted and dropped, and sessions still work", "[integration]") {
  constexpr const char* kService = "EchoService";
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  const HubOrder order = {&hubs.edge(), &hubs.central()};
  EchoPath path(order, order, kService);
  const std::string server_inbox = path.server->waitLog(R"(hub sessions: inbox (\S+))", 1s);
  const std::string front_inbox = path.front->waitLog(R"(hub sessions: inbox (\S+))", 1s);
  REQUIRE(!server_inbox.empty());
  REQUIRE(!front_inbox.empty());
  const std::string open_subject = std::string("th.svc.") + kService + ".open";

  const std::vector<std::string> garbage = garbageFrames();
  // On the open subject, frames that decode but are no OPEN a server can answer.
  std::vector<std::string> bad_opens = garbage;
  bad_opens.push_back(rawFrame(1, kAck, 0, 7, 0, 0, 0, ""));       // not an OPEN
  bad_opens.push_back(rawFrame(1, kOpen, 0, 7, 0, 0, 0, ""));      // OPEN without the opener's subject
  // Well formed, but it names a subject that is no sidecar's frames subject: never answered.
  const std::string stray_open = rawFrame(1, kOpen, 9, 7, 0, 0, 0, "t.nowhere");

  const char* const kMalformed = R"(reason="malformed")";
  const double server_before = orZero(path.server->metric("twinhub_frames_dropped_total", kMalformed));
  const double front_before = orZero(path.front->metric("twinhub_frames_dropped_total", kMalformed));
  const char* const kBadSubject = R"(reason="bad_subject")";
  const double stray_before = orZero(path.server->metric("twinhub_frames_dropped_total", kBadSubject));
  size_t to_server = 0, to_front = 0, stray = 0;
  // Through both hubs: each sidecar's subscriptions on either one must hold up.
  for (NatsHub* hub : order) {
    RawNats nats(*hub);
    for (const std::string& frame : garbage) {
      nats.publish(server_inbox + ".s", frame, "t.garbage.reply");
      nats.publish(front_inbox + ".c", frame);
      ++to_server;
      ++to_front;
    }
    for (const std::string& frame : bad_opens) {
      nats.publish(open_subject, frame, "t.garbage.reply");
      ++to_server;
    }
    nats.publish(open_subject, stray_open);
    ++stray;
    nats.flush();
  }

  const double server_after = path.server->waitMetric("twinhub_frames_dropped_total", kMalformed,
                                                      atLeast(server_before + static_cast<double>(to_server)), 5s);
  const double front_after = path.front->waitMetric("twinhub_frames_dropped_total", kMalformed,
                                                    atLeast(front_before + static_cast<double>(to_front)), 5s);
  INFO(path.logs());
  CHECK(path.server->process().running());
  CHECK(path.front->process().running());
  // Each one counted, once.
  CHECK(server_after - server_before == static_cast<double>(to_server));
  CHECK(front_after - front_before == static_cast<double>(to_front));
  CHECK(path.server->waitMetric("twinhub_frames_dropped_total", kBadSubject,
                                atLeast(stray_before + static_cast<double>(stray)), 5s) -
            stray_before ==
        static_cast<double>(stray));

  // A new session still carries bytes exactly.
  TcpClient client(path.front->front());
  REQUIRE(client.isConnected());
  PatternSender sender(client, 0x4b0b0007, kMiB, {}, /*shutdown_write_after=*/true);
  PatternCheck check = recvPattern(client, 0x4b0b0007, 0, kMiB, 5s);
  CHECK(sender.wait());
  CHECK(check.received == kMiB);
  CHECK(check.matched);
  CHECK(client.waitClosed(5s) == "eof");
}

// ---- 8. mode switch ---------------------------------------------------------------------------------

TEST_CASE("HubMode: SIGHUP from direct to hub keeps open connections direct and sends new ones through the hubs",
          "[integration]") {
  constexpr const char* kService = "FlipService";
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  const HubOrder order = {&hubs.edge(), &hubs.central()};
  EchoServer direct_agent;  // where direct mode goes
  EchoServer hub_agent;     // behind the serving sidecar
  auto server = startServing(std::string("mainpc.") + kService, order, kService, hub_agent.address(), "tcp",
                             hub_agent.address());
  auto front = startFront(order, kService, "direct", direct_agent.address());
  auto logs = [&] { return "front output:\n" + front->output() + "\nserving output:\n" + server->output(); };
  CHECK(front->metric("twinhub_mode", R"(mode="direct")") == 1);

  TcpClient opened_before(front->front());
  REQUIRE(echoes(opened_before, "direct, before the flip"));
  REQUIRE(direct_agent.connectionsAccepted() == 1);
  const double client_sessions_before = orZero(front->metric("twinhub_sessions_total", R"(role="client")"));
  CHECK(client_sessions_before == 0);

  {
    INFO(logs());
    REQUIRE(front->reload(frontYaml(order, kService, "hub", direct_agent.address()), 5s));
  }
  CHECK(front->metric("twinhub_mode", R"(mode="hub")") == 1);
  CHECK(front->front() == front->waitLog(R"(front \S+ listening on (\S+))", 1s));  // the same listener

  // A new connection goes through the hubs to the serving sidecar.
  TcpClient opened_after(front->front());
  INFO(logs());
  CHECK(echoes(opened_after, "through the hubs, after the flip"));
  CHECK(front->waitMetric("twinhub_sessions_total", R"(role="client")", atLeast(client_sessions_before + 1), 2s) >=
        client_sessions_before + 1);
  CHECK(server->waitMetric("twinhub_sessions_total", R"(role="server")", atLeast(1), 2s) >= 1);
  CHECK(direct_agent.connectionsAccepted() == 1);

  // The connection opened before the flip still goes straight to its agent.
  CHECK(echoes(opened_before, "direct, after the flip"));
  CHECK(direct_agent.connectionsAccepted() == 1);
  CHECK(front->metric("twinhub_sessions_total", R"(role="client")") == client_sessions_before + 1);
}

}  // namespace twinhub::test
