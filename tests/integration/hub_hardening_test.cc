// Hub mode under attack and under a hub that misbehaves (issue 7): a NATS client on the hubs
// holding the shared sidecar credentials (deploy/nats/users.conf; per-sidecar permissions stop
// most of this, see hub_permissions_test.cc, but a sidecar must survive it anyway) forges OPENs, OPEN_OKs and RSTs naming subjects the hub would choke on, floods a serving
// sidecar with OPENs; a hub drops the sidecar's connection with an error. The sidecar must keep
// both hubs, refuse what is over its caps at once, and tell a peer whose session ended within a
// round trip. Plus a sidecar that fronts the service it serves reaching itself.
//
// Real nats-servers, sidecars and echo agents on 127.0.0.1, ports 0.
#include <catch2/catch.hpp>
#include <chrono>
#include <random>
#include <string>
#include <thread>

#include "support/hub_fixtures.h"
#include "support/nats_error_relay.h"
#include "support/process.h"

namespace twinhub::test {
namespace {

using Clock = std::chrono::steady_clock;

const char* const kService = "EchoService";
const std::string kOpenSubject = std::string("th.svc.") + kService + ".open";

// Subjects a peer might name that must never reach a PUB line: too long for the hub's control
// line, a space, CR/LF (a protocol injection), a wildcard, and one of the right shape but 5 KB.
std::vector<std::string> hostileSubjects() {
  return {
      "th.sc." + std::string(5000, 'a') + ".n.c",
      "th.sc.a b.n.c",
      "th.sc.a.n.c\r\nPUB th.x 1\r\nx",
      "th.sc.a.*.c",
      std::string(5000, 'x'),
  };
}

// Both hubs of the sidecar are up (twinhub_hub_state 2 each) at every scrape for `period`.
bool hubsStayUp(const SidecarFixture& sidecar, std::chrono::milliseconds period) {
  const auto until = Clock::now() + period;
  while (Clock::now() < until) {
    if (sidecar.metric("twinhub_hub_state") != 4) return false;
    std::this_thread::sleep_for(50ms);
  }
  return true;
}

// An echo path through a pair of hubs with one live session on it, and an attacker on edge
// that watched the session's OPEN go by: any client with the shared sidecar user can, and the OPEN names the session
// and the front's frames subject.
struct WatchedSession {
  WatchedSession() : path(order(), order(), kService), attacker(hubs.edge()) {
    REQUIRE(leaf_up);
    const int opens = attacker.subscribe(kOpenSubject);
    live = std::make_unique<TcpClient>(path.front->front());  // after the subscription: its OPEN is seen
    REQUIRE(echoes(*live, "first turn"));
    auto open = attacker.next(opens, 5s);
    REQUIRE(open.has_value());
    session = frameSession(open->data);
    front_frames = framePayload(open->data);
    REQUIRE(session != 0);
  }
  HubOrder order() { return {&hubs.edge(), &hubs.central()}; }

  HubPair hubs;
  bool leaf_up = hubs.waitLeafUp(10s);
  EchoPath path;
  RawNats attacker;
  std::unique_ptr<TcpClient> live;
  uint64_t session = 0;
  std::string front_frames;
};

}  // namespace

TEST_CASE("HubHardening: forged OPENs naming subjects the hub would choke on are dropped, and both hubs stay up",
          "[integration]") {
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  const HubOrder order = {&hubs.edge(), &hubs.central()};
  EchoPath path(order, order, kService);
  const char* const kBadSubject = R"(reason="bad_subject")";
  const double before = orZero(path.server->metric("twinhub_frames_dropped_total", kBadSubject));

  size_t forged = 0;
  std::mt19937_64 rng(42);
  for (NatsHub* hub : order) {
    RawNats attacker(*hub);
    for (const std::string& subject : hostileSubjects()) {
      attacker.publish(kOpenSubject, rawFrame(1, kOpen, static_cast<uint32_t>(subject.size()), rng() | 1, 0, 0, 0, subject),
                       "th.attacker.reply");
      ++forged;
    }
    attacker.flush();
  }
  const double after = path.server->waitMetric("twinhub_frames_dropped_total", kBadSubject,
                                               atLeast(before + static_cast<double>(forged)), 5s);
  INFO(path.logs());
  CHECK(after - before == static_cast<double>(forged));
  CHECK(hubsStayUp(*path.server, 1500ms));
  CHECK(path.server->countLog("disconnected") == 0);
  CHECK(orZero(path.server->metric("twinhub_hub_connections_recreated_total")) == 0);
  CHECK(newConnectionEchoes(path.front->front()));
}

TEST_CASE("HubHardening: a forged OPEN_OK naming a bad subject on a live session leaves the front on its hubs",
          "[integration]") {
  WatchedSession watched;
  EchoPath& path = watched.path;
  RawNats& attacker = watched.attacker;
  TcpClient& live = *watched.live;
  const uint64_t session = watched.session;
  const std::string& front_frames = watched.front_frames;

  const char* const kBadSubject = R"(reason="bad_subject")";
  const double before = orZero(path.front->metric("twinhub_frames_dropped_total", kBadSubject));
  for (const std::string& subject : hostileSubjects()) {
    attacker.publish(front_frames, rawFrame(1, kOpenOk, static_cast<uint32_t>(subject.size()), session, 0, 0, 0, subject),
                     "th.attacker.reply");
  }
  attacker.flush();
  const double expected = before + static_cast<double>(hostileSubjects().size());
  const double after = path.front->waitMetric("twinhub_frames_dropped_total", kBadSubject, atLeast(expected), 5s);
  INFO(path.logs());
  CHECK(after == expected);
  CHECK(hubsStayUp(*path.front, 1500ms));
  CHECK(path.front->countLog("disconnected") == 0);
  // The live session goes on, and new ones open.
  CHECK(echoes(live, "second turn"));
  CHECK(newConnectionEchoes(path.front->front()));
}

TEST_CASE("HubHardening: a hub connection the server drops with an error is made anew within about a second",
          "[integration]") {
  // Plain hubs: the relay writes the server's -ERR into the connection, which TLS would not let it.
  HubPair hubs(HubPair::Plain{});
  REQUIRE(hubs.waitLeafUp(10s));
  NatsErrorRelay relay(hubs.edge().clientPort());
  EchoServer echo;
  // The serving sidecar reaches edge through the relay; edge is its primary.
  const std::string yaml = "sidecar: {id: mainpc.EchoService}\nmode: hub\nhubs:\n"
                           "  - {name: edge, url: \"" + relay.url() + "\"}\n"
                           "  - {name: central, url: \"" + hubs.central().url() + "\"}\n"
                           "hub_options: {probe_interval_ms: 100, suspect_after_ms: 350, failback_hold_ms: 200}\n"
                           "serve: {service: EchoService, address: " + echo.address() +
                           ", probe: {type: tcp, address: " + echo.address() +
                           ", interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1}}\n"
                           "metrics: 127.0.0.1:0\n";
  SidecarFixture server(yaml);
  REQUIRE(server.waitReady(0, true, kStartTimeout));
  const HubOrder order = {&hubs.edge(), &hubs.central()};
  requireHubsUp(server, order);
  auto front = startFront(order, kService);
  REQUIRE(waitFor([&] { return newConnectionEchoes(front->front()); }, 10s));

  // Three times in a row: the pause before a new connection grows, but stays near a second.
  for (int round = 1; round <= 3; ++round) {
    INFO("round " << round);
    REQUIRE(relay.injectError("Unknown Protocol Operation") >= 1);
    const auto dropped = Clock::now();
    const bool down = server.waitMetric("twinhub_hub_state", R"(hub="edge")", equalTo(0), 2s) == 0;
    const bool back = server.waitMetric("twinhub_hub_state", R"(hub="edge")", equalTo(2), 5s) == 2;
    const auto usable_ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - dropped).count();
    INFO("server output:\n" << server.output());
    CHECK(down);
    REQUIRE(back);
    WARN("round " << round << ": hub edge usable again " << usable_ms << " ms after the server dropped it");
    CHECK(usable_ms < 2500);
    CHECK(server.metric("twinhub_hub_connections_recreated_total", R"(hub="edge")") == round);
    CHECK(waitActiveHub(server, "edge", 3s));
    CHECK(newConnectionEchoes(front->front()));
  }
  CHECK(relay.accepted() >= 4);
}

TEST_CASE("HubHardening: OPENs over serve.max_sessions are refused at once and counted, the agent never sees more",
          "[integration]") {
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  const HubOrder order = {&hubs.edge(), &hubs.central()};
  EchoServer echo;
  EchoServer probed;  // the health probe's connections are not the agent's sessions
  constexpr int kCap = 20;
  constexpr int kFlood = 2000;
  const std::string yaml = "sidecar: {id: mainpc.EchoService}\nmode: hub\n" + hubsYaml(order) +
                           "serve: {service: EchoService, max_sessions: " + std::to_string(kCap) +
                           ", address: " + echo.address() + ", probe: {type: tcp, address: " + probed.address() +
                           ", interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1}}\n"
                           "metrics: 127.0.0.1:0\n";
  SidecarFixture server(yaml);
  REQUIRE(server.waitReady(0, true, kStartTimeout));
  requireHubsUp(server, order);
  REQUIRE(!server.waitLog("serving \\S+ through the hubs", kStartTimeout).empty());

  // Valid-looking OPENs whose answers go nowhere: each would hold a connection to the agent.
  RawNats attacker(hubs.edge());
  const std::string nowhere = "th.sc.attacker.0000.c";
  for (uint64_t session = 1; session <= kFlood; ++session) {
    attacker.publish(kOpenSubject, rawFrame(1, kOpen, static_cast<uint32_t>(nowhere.size()), session, 0, 0, 0, nowhere));
  }
  attacker.flush();
  const double refused =
      server.waitMetric("twinhub_session_opens_refused_total", R"(reason="capacity")", atLeast(kFlood - kCap), 10s);
  INFO("server output:\n" << server.output());
  CHECK(refused == kFlood - kCap);
  CHECK(echo.connectionsAccepted() <= kCap);
  CHECK(server.countLog("refused a session for EchoService: over capacity") >= 1);
  CHECK(server.countLog("refused a session") < 20);  // throttled, not one line per OPEN
  CHECK(hubsStayUp(server, 1000ms));
}

TEST_CASE("HubHardening: after a forged RST ends the serving end, the caller is reset within a round trip",
          "[integration]") {
  WatchedSession watched;
  EchoPath& path = watched.path;
  RawNats& attacker = watched.attacker;
  TcpClient& live = *watched.live;
  const uint64_t session = watched.session;
  // The server's OPEN_OK named its frames subject; an outside client listening on the front's
  // subject saw it. Here it is read off the serving sidecar's log instead.
  const std::string server_inbox = path.server->waitLog(R"(hub sessions: inbox (\S+))", 1s);
  REQUIRE(!server_inbox.empty());
  attacker.publish(server_inbox + ".s", rawFrame(1, kRst, 6, session, 0, 0, 0, "forged"));
  attacker.flush();
  REQUIRE(path.server->waitMetric("twinhub_sessions_closed_total", R"(reason="peer_reset")", atLeast(1), 3s) >= 1);

  // The caller's next bytes meet the ended session: a reset comes back at once, not after the
  // 15 s peer timeout.
  const auto sent = Clock::now();
  REQUIRE(live.sendAll("anyone there?"));
  const std::string how = live.waitClosed(3s);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - sent).count();
  INFO(path.logs());
  CHECK((how == "reset" || how == "eof"));
  CHECK(ms < 1500);
  CHECK(path.server->metric("twinhub_frames_dropped_total", R"(reason="ended_session")") >= 1);
  CHECK(newConnectionEchoes(path.front->front()));
}

TEST_CASE("HubHardening: a sidecar that fronts the service it serves reaches itself", "[integration]") {
  HubPair hubs;
  REQUIRE(hubs.waitLeafUp(10s));
  const HubOrder order = {&hubs.edge(), &hubs.central()};
  EchoServer echo;
  const std::string yaml = "sidecar: {id: pc2.EchoService}\nmode: hub\n" + hubsYaml(order) +
                           "serve: {service: EchoService, address: " + echo.address() +
                           ", probe: {type: tcp, address: " + echo.address() +
                           ", interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1}}\n"
                           "fronts:\n  - {listen: 127.0.0.1:0, service: EchoService}\n"
                           "metrics: 127.0.0.1:0\n";
  SidecarFixture sidecar(yaml);
  REQUIRE(sidecar.waitReady(1, true, kStartTimeout));
  requireHubsUp(sidecar, order);
  REQUIRE(!sidecar.waitLog("serving \\S+ through the hubs", kStartTimeout).empty());
  REQUIRE(waitFor([&] { return newConnectionEchoes(sidecar.front()); }, 10s));
  int worked = 0;
  for (int i = 0; i < 100; ++i) worked += newConnectionEchoes(sidecar.front()) ? 1 : 0;
  INFO("sidecar output:\n" << sidecar.output());
  CHECK(worked == 100);
}

}  // namespace twinhub::test
