// Least privilege on the hubs (issue 12): both hubs run the shipped configs plus the authorization
// block that `twinhubctl hub-users` renders (security/hub_users.h), with one user per sidecar,
// the controller, the aggregator and the leaf link. Real sidecars hold their own users; an
// attacker holds either no credentials or ANOTHER sidecar's (pc2.OtherService, which serves
// OtherService). The four attacks of the issue (tap-and-inject, joining a serving sidecar's inbox,
// forged RST, joining a service's queue group) fail, the sessions' bytes stay exact, desired state
// is read-only to sidecars, and heartbeats for another machine are refused.
//
// Credentials: test clients put them in the URL (nats://user:pass@127.0.0.1:PORT, native to
// cnats); real sidecars take theirs as a sidecar would, `auth: {user, password_file}` per hub.
//
// Real nats-servers, sidecars and echo agents on 127.0.0.1, ports 0.
#include <nats/nats.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "control_wire/desired_state.h"
#include "fleet/fleet_loader.h"
#include "security/hub_users.h"
#include "support/hub_fixtures.h"
#include "support/process.h"

namespace twinhub::test {
namespace {

using Clock = std::chrono::steady_clock;
using security::HubUser;
using security::SidecarGrant;

const std::string kOpenSubject = "th.svc.EchoService.open";
const char* const kServerId = "mainpc.EchoService";
const char* const kFrontId = "pc2.Caller";
const char* const kThiefId = "pc2.OtherService";  // the credentials an attacker stole
const char* const kUnknown = R"(reason="unknown_session")";

std::string passwordOf(const std::string& user) { return "pw-" + security::inboxToken(user) + "-s3cret"; }

std::vector<HubUser> testUsers() {
  std::vector<HubUser> users;
  for (const SidecarGrant& grant : {SidecarGrant{kServerId, "mainpc", "EchoService", {"EchoService"}},
                                    SidecarGrant{kFrontId, "pc2", "", {"EchoService"}},
                                    SidecarGrant{kThiefId, "pc2", "OtherService", {"OtherService"}}}) {
    users.push_back(HubUser{grant.id, passwordOf(grant.id), security::sidecarPermissions(grant)});
  }
  users.push_back(HubUser{security::kControllerUser, passwordOf(security::kControllerUser),
                          security::controllerPermissions()});
  users.push_back(HubUser{security::kAggregatorUser, passwordOf(security::kAggregatorUser),
                          security::aggregatorPermissions()});
  users.push_back(security::leafUser(passwordOf(security::kLeafUser)));
  return users;
}

std::string credUrl(const NatsHub& hub, const std::string& user, const std::string& password) {
  return "nats://" + user + ":" + password + "@127.0.0.1:" + std::to_string(hub.clientPort());
}
std::string credUrl(const NatsHub& hub, const std::string& user) { return credUrl(hub, user, passwordOf(user)); }

// A cnats client with a user's credentials that records the hub's asynchronous errors
// (permission violations arrive as "-ERR 'Permissions Violation for ...'").
class UserClient {
 public:
  // `inbox_prefix`: a sidecar's user may subscribe only to replies under its own prefix.
  explicit UserClient(const std::string& url, const std::string& inbox_prefix = "") {
    natsOptions* opts = nullptr;
    REQUIRE(natsOptions_Create(&opts) == NATS_OK);
    natsOptions_SetURL(opts, url.c_str());
    if (!inbox_prefix.empty()) natsOptions_SetCustomInboxPrefix(opts, inbox_prefix.c_str());
    natsOptions_SetErrorHandler(opts, &UserClient::onError, this);
    natsOptions_SetTimeout(opts, 2000);
    const natsStatus s = natsConnection_Connect(&nc_, opts);
    natsOptions_Destroy(opts);
    INFO("connect: " << natsStatus_GetText(s));
    REQUIRE(s == NATS_OK);
  }
  ~UserClient() {
    for (natsSubscription* sub : subs_) natsSubscription_Destroy(sub);
    if (js_) jsCtx_Destroy(js_);
    natsConnection_Close(nc_);
    natsConnection_Destroy(nc_);
  }
  UserClient(const UserClient&) = delete;
  UserClient& operator=(const UserClient&) = delete;

  natsConnection* connection() { return nc_; }
  jsCtx* js() {
    if (!js_) {
      jsOptions options;
      jsOptions_Init(&options);
      options.Wait = 1000;
      REQUIRE(natsConnection_JetStream(&js_, nc_, &options) == NATS_OK);
    }
    return js_;
  }
  void publish(const std::string& subject, const std::string& data) {
    REQUIRE(natsConnection_Publish(nc_, subject.c_str(), data.data(), static_cast<int>(data.size())) == NATS_OK);
  }
  void flush() { natsConnection_FlushTimeout(nc_, 3000); }
  // A subscription (queue when `queue` is given) the client asks for; whether the hub lets it is
  // for waitViolation to tell. Returns its index for next().
  int subscribe(const std::string& subject, const std::string& queue = "") {
    natsSubscription* sub = nullptr;
    const natsStatus s = queue.empty() ? natsConnection_SubscribeSync(&sub, nc_, subject.c_str())
                                       : natsConnection_QueueSubscribeSync(&sub, nc_, subject.c_str(), queue.c_str());
    REQUIRE(s == NATS_OK);
    subs_.push_back(sub);
    flush();
    return static_cast<int>(subs_.size()) - 1;
  }
  std::optional<std::string> next(int index, std::chrono::milliseconds timeout) {
    natsMsg* msg = nullptr;
    if (natsSubscription_NextMsg(&msg, subs_.at(index), static_cast<int64_t>(timeout.count())) != NATS_OK) {
      return std::nullopt;
    }
    std::string data(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    return data;
  }
  // Messages a subscription holds now (0 for one the hub refused).
  int pending(int index) {
    int msgs = 0, bytes = 0;
    natsSubscription_GetPending(subs_.at(index), &msgs, &bytes);
    return msgs;
  }
  // True once the hub has reported a permission violation whose text contains `what`.
  bool waitViolation(const std::string& what, std::chrono::milliseconds timeout = 3s) {
    return waitFor(
        [&] {
          std::lock_guard<std::mutex> lock(mutex_);
          for (const std::string& e : errors_) {
            if (e.find("Permissions Violation") != std::string::npos && e.find(what) != std::string::npos) return true;
          }
          return false;
        },
        timeout);
  }
  std::string errors() {
    std::lock_guard<std::mutex> lock(mutex_);
    std::string out;
    for (const std::string& e : errors_) out += e + "\n";
    return out;
  }

 private:
  static void onError(natsConnection* nc, natsSubscription*, natsStatus status, void* closure) {
    auto* self = static_cast<UserClient*>(closure);
    const char* text = nullptr;
    natsConnection_GetLastError(nc, &text);
    std::lock_guard<std::mutex> lock(self->mutex_);
    self->errors_.push_back(std::string(natsStatus_GetText(status)) + ": " + (text ? text : ""));
  }

  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
  std::vector<natsSubscription*> subs_;
  std::mutex mutex_;
  std::vector<std::string> errors_;
};

// Both hubs with authorization on, the serving sidecar (mainpc.EchoService) and a front
// (pc2.Caller) for EchoService, each with its own user, through credential relays.
struct SecuredWorld {
  explicit SecuredWorld(const std::string& front_mode = "hub")
      : hubs([](int port) { return std::string(security::kLeafUser) + ":" + passwordOf(security::kLeafUser) +
                                   "@127.0.0.1:" + std::to_string(port); },
             "\n" + security::renderAuthorization(testUsers())) {
    REQUIRE(hubs.waitLeafUp(10s));
    server = std::make_unique<SidecarFixture>(
        "sidecar: {id: " + std::string(kServerId) + ", machine: mainpc}\nmode: hub\n" + hubsYamlFor(kServerId) +
        "serve: {service: EchoService, address: " + echo.address() + ", probe: {type: tcp, address: " +
        echo.address() + ", interval_ms: 100, timeout_ms: 200, rise: 1, fall: 1}}\nmetrics: 127.0.0.1:0\n");
    REQUIRE(server->waitReady(0, true, kStartTimeout));
    requireHubsUp(*server, order());
    REQUIRE(!server->waitLog("serving \\S+ through the hubs", kStartTimeout).empty());
    front = std::make_unique<SidecarFixture>(
        "sidecar: {id: " + std::string(kFrontId) + ", machine: pc2}\nmode: " + front_mode + "\n" +
        hubsYamlFor(kFrontId) + "fronts:\n  - {listen: 127.0.0.1:0, service: EchoService, direct: " +
        echo.address() + "}\nmetrics: 127.0.0.1:0\n");
    REQUIRE(front->waitReady(1, true, kStartTimeout));
    requireHubsUp(*front, order());
    const bool works = waitFor([&] { return newConnectionEchoes(front->front()); }, 10s);
    INFO(logs());
    REQUIRE(works);
    server_inbox = server->waitLog(R"(hub sessions: inbox (\S+))", 1s);
    front_inbox = front->waitLog(R"(hub sessions: inbox (\S+))", 1s);
    REQUIRE(!server_inbox.empty());
    REQUIRE(!front_inbox.empty());
  }
  HubOrder order() { return {&hubs.edge(), &hubs.central()}; }
  std::string hubsYamlFor(const std::string& user) {
    const std::string password_file = secrets.write(user + ".password", passwordOf(user) + "\n");
    std::filesystem::permissions(password_file,
                                 std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    std::string out = "hubs:\n";
    for (NatsHub* hub : order()) {
      out += "  - {name: " + hub->name() + ", url: \"" + hub->url() + "\", auth: {user: \"" + user +
             "\", password_file: \"" + password_file + "\"}}\n";
    }
    // Failover is not under test here: detection is relaxed so that a loaded machine (shared
    // cores) does not flip hubs in the middle of a byte count.
    return out + "hub_options: {probe_interval_ms: 200, suspect_after_ms: 3000, failback_hold_ms: 1500, "
                 "ping_interval_ms: 2000, max_pings_out: 5}\n";
  }
  std::string logs() const {
    return "front output:\n" + (front ? front->output() : "") + "\nserving output:\n" + (server ? server->output() : "");
  }

  HubPair hubs;
  EchoServer echo;
  TempDir secrets;  // the sidecars' password files
  std::unique_ptr<SidecarFixture> server;
  std::unique_ptr<SidecarFixture> front;
  std::string server_inbox, front_inbox;
};

// `total` bytes through a new connection to the echo agent and back, compared byte for byte,
// while `meanwhile` runs on the test thread.
PatternCheck bulkEcho(const std::string& front, uint64_t total, uint64_t seed, const std::function<void()>& meanwhile) {
  TcpClient client(front);
  REQUIRE(client.isConnected());
  PatternSender sender(client, seed, total, std::chrono::microseconds(2000), /*shutdown_write_after=*/true);
  PatternReceiver receiver(client, seed, total, 10s);
  meanwhile();
  CHECK(sender.wait());
  return receiver.wait();
}

bool connectRefused(const std::string& url, std::string* why) {
  natsConnection* nc = nullptr;
  natsOptions* opts = nullptr;
  natsOptions_Create(&opts);
  natsOptions_SetURL(opts, url.c_str());
  natsOptions_SetTimeout(opts, 2000);
  natsOptions_SetMaxReconnect(opts, 0);
  const natsStatus s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  *why = natsStatus_GetText(s);
  if (s != NATS_OK) {
    natsStatus last_status = NATS_OK;
    if (const char* last = nats_GetLastError(&last_status)) *why += std::string(": ") + last;
  }
  if (nc) {
    natsConnection_Close(nc);
    natsConnection_Destroy(nc);
  }
  return s != NATS_OK;
}

void randomFrames(std::mt19937_64& rng, uint8_t type, int count, std::vector<std::string>* out) {
  for (int i = 0; i < count; ++i) {
    const uint64_t session = rng() | 1;
    const std::string payload = type == kData ? std::string("INJECTED") : std::string("forged");
    out->push_back(rawFrame(1, type, static_cast<uint32_t>(payload.size()), session, type == kData ? 1 + (i % 4) : 0,
                            0, 0, payload));
  }
}

}  // namespace

TEST_CASE("Security: a client without credentials, or with a wrong password, is refused by both hubs, so none "
          "of the four attacks starts",
          "[integration][security]") {
  HubPair hubs([](int port) { return std::string(security::kLeafUser) + ":" + passwordOf(security::kLeafUser) +
                                     "@127.0.0.1:" + std::to_string(port); },
               "\n" + security::renderAuthorization(testUsers()));
  REQUIRE(hubs.waitLeafUp(10s));
  for (NatsHub* hub : {&hubs.central(), &hubs.edge()}) {
    INFO("hub " << hub->name());
    std::string why;
    CHECK(connectRefused(hub->url(), &why));  // tap, inbox join, RST, queue join all need a connection
    INFO(why);
    CHECK(why.find("uthorization") != std::string::npos);
    CHECK(connectRefused(credUrl(*hub, kThiefId, "guessed"), &why));
    // The leaf link's user may not connect as a client.
    CHECK(connectRefused(credUrl(*hub, security::kLeafUser), &why));
    // A sidecar's own credentials do connect.
    UserClient ok(credUrl(*hub, kThiefId));
  }
}

TEST_CASE("Security: with another sidecar's credentials, tapping OPENs and session frames is refused",
          "[integration][security]") {
  SecuredWorld world;
  UserClient thief(credUrl(world.hubs.edge(), kThiefId));
  const int open_tap = thief.subscribe(kOpenSubject);
  CHECK(thief.waitViolation(kOpenSubject));
  const int frames_tap = thief.subscribe("th.sc.>");
  CHECK(thief.waitViolation("th.sc.>"));
  const int server_tap = thief.subscribe(world.server_inbox + ".>");
  CHECK(thief.waitViolation(world.server_inbox));
  const int front_tap = thief.subscribe(world.front_inbox + ".c");
  CHECK(thief.waitViolation(world.front_inbox));
  const int all_tap = thief.subscribe(">");
  CHECK(thief.waitViolation("\">\""));

  // Sessions open and carry bytes; the taps see none of it.
  const PatternCheck check = bulkEcho(world.front->front(), 1 << 20, 0x5ec0001, [] {});
  INFO(world.logs() << "\nthief errors:\n" << thief.errors());
  CHECK(check.matched);
  CHECK(check.received == 1u << 20);
  for (int tap : {open_tap, frames_tap, server_tap, front_tap, all_tap}) {
    CHECK(!thief.next(tap, 300ms).has_value());
  }
}

TEST_CASE("Security: frames injected into a live session with guessed session ids are dropped and counted while "
          "the session's bytes stay exact",
          "[integration][security]") {
  SecuredWorld world;
  UserClient thief(credUrl(world.hubs.edge(), kThiefId));
  const double server_before = orZero(world.server->metric("twinhub_frames_dropped_total", kUnknown));
  const double front_before = orZero(world.front->metric("twinhub_frames_dropped_total", kUnknown));
  std::mt19937_64 rng(std::random_device{}());
  constexpr int kEach = 400;
  const PatternCheck check = bulkEcho(world.front->front(), 8u << 20, 0x5ec0002, [&] {
    // While the bulk session runs: DATA with low sequence numbers (the next one of a young
    // session) to both ends' frames subjects, each with a guessed 64-bit session id.
    std::vector<std::string> frames;
    randomFrames(rng, kData, kEach, &frames);
    for (size_t i = 0; i < frames.size(); ++i) {
      thief.publish(world.server_inbox + ".s", frames[i]);
      thief.publish(world.front_inbox + ".c", frames[i]);
      if (i % 50 == 0) std::this_thread::sleep_for(20ms);
    }
    thief.flush();
  });
  const double server_after =
      world.server->waitMetric("twinhub_frames_dropped_total", kUnknown, atLeast(server_before + kEach), 5s);
  const double front_after =
      world.front->waitMetric("twinhub_frames_dropped_total", kUnknown, atLeast(front_before + kEach), 5s);
  INFO(world.logs() << "\nthief errors:\n" << thief.errors());
  CHECK(check.matched);
  CHECK(check.received == 8u << 20);
  CHECK(server_after - server_before == kEach);
  CHECK(front_after - front_before == kEach);
  CHECK(thief.errors().empty());  // frames to any inbox are allowed: the session id is the secret
  CHECK(newConnectionEchoes(world.front->front()));
}

TEST_CASE("Security: with another sidecar's credentials, joining a serving sidecar's inbox as a queue member is "
          "refused and a bulk stream stays exact",
          "[integration][security]") {
  SecuredWorld world;
  std::vector<std::unique_ptr<UserClient>> thieves;
  std::vector<std::pair<UserClient*, int>> subs;
  for (NatsHub* hub : world.order()) {
    thieves.push_back(std::make_unique<UserClient>(credUrl(*hub, kThiefId)));
    UserClient& thief = *thieves.back();
    subs.emplace_back(&thief, thief.subscribe(world.server_inbox + ".s", "th"));
    CHECK(thief.waitViolation(world.server_inbox + ".s"));
    subs.emplace_back(&thief, thief.subscribe("th.sc.mainpc_EchoService.*.s", "th"));
    CHECK(thief.waitViolation("th.sc.mainpc_EchoService.*.s"));
    subs.emplace_back(&thief, thief.subscribe(world.front_inbox + ".c", "th"));
    CHECK(thief.waitViolation(world.front_inbox + ".c"));
  }
  const PatternCheck check = bulkEcho(world.front->front(), 8u << 20, 0x5ec0003, [] {});
  INFO(world.logs());
  CHECK(check.matched);
  CHECK(check.received == 8u << 20);
  for (auto& [thief, index] : subs) CHECK(thief->pending(index) == 0);
}

TEST_CASE("Security: with another sidecar's credentials, a forged RST does not end a live session",
          "[integration][security]") {
  SecuredWorld world;
  TcpClient live(world.front->front());
  REQUIRE(echoes(live, "first turn"));
  UserClient thief(credUrl(world.hubs.edge(), kThiefId));
  const double before = orZero(world.server->metric("twinhub_frames_dropped_total", kUnknown));
  std::mt19937_64 rng(std::random_device{}());
  std::vector<std::string> frames;
  constexpr int kForged = 1000;
  randomFrames(rng, kRst, kForged, &frames);
  for (const std::string& frame : frames) thief.publish(world.server_inbox + ".s", frame);
  thief.flush();
  const double after =
      world.server->waitMetric("twinhub_frames_dropped_total", kUnknown, atLeast(before + kForged), 5s);
  INFO(world.logs());
  CHECK(after - before == kForged);
  CHECK(echoes(live, "second turn"));
  CHECK(orZero(world.server->metric("twinhub_sessions_closed_total", R"(reason="peer_reset")")) == 0);
  CHECK(orZero(world.front->metric("twinhub_sessions_closed_total", R"(reason="peer_reset")")) == 0);
}

TEST_CASE("Security: with another sidecar's credentials, joining a service's queue group is refused, the "
          "credentials cannot serve another service, and OPENs keep reaching the service",
          "[integration][security]") {
  SecuredWorld world;
  std::vector<std::unique_ptr<UserClient>> thieves;
  std::vector<std::pair<UserClient*, int>> subs;
  for (NatsHub* hub : world.order()) {
    thieves.push_back(std::make_unique<UserClient>(credUrl(*hub, kThiefId)));
    UserClient& thief = *thieves.back();
    subs.emplace_back(&thief, thief.subscribe(kOpenSubject, "EchoService"));
    CHECK(thief.waitViolation(kOpenSubject));
    // Its own service's OPENs, in its own queue group, are allowed; not outside the group.
    thief.subscribe("th.svc.OtherService.open", "OtherService");
    thief.subscribe("th.svc.OtherService.open");
    CHECK(thief.waitViolation("th.svc.OtherService.open"));
    // Nor may it open sessions to a service it does not front.
    thief.publish(kOpenSubject, rawFrame(1, kOpen, 0, 42, 0, 0, 0, ""));
    thief.flush();
    CHECK(thief.waitViolation("Publish to \"" + kOpenSubject + "\""));
  }
  int worked = 0;
  for (int i = 0; i < 50; ++i) worked += newConnectionEchoes(world.front->front()) ? 1 : 0;
  INFO(world.logs());
  CHECK(worked == 50);
  for (auto& [thief, index] : subs) CHECK(thief->pending(index) == 0);
  INFO("thief errors: " << thieves.front()->errors());
  CHECK(thieves.front()->errors().find("OtherService.open\" using queue \"OtherService\"") == std::string::npos);
}

TEST_CASE("Security: a sidecar reads desired state through its permissions but its credentials cannot write it",
          "[integration][security]") {
  SecuredWorld world("direct");
  // The controller makes the bucket and writes generation 1 on central only.
  UserClient controller(credUrl(world.hubs.central(), security::kControllerUser));
  UserClient controller_edge(credUrl(world.hubs.edge(), security::kControllerUser));
  kvStore* kv = nullptr;
  kvStore* kv_edge = nullptr;
  kvConfig config;
  kvConfig_Init(&config);
  config.Bucket = wire::kDesiredStateBucket;
  config.History = 5;
  REQUIRE(js_CreateKeyValue(&kv, controller.js(), &config) == NATS_OK);
  REQUIRE(js_CreateKeyValue(&kv_edge, controller_edge.js(), &config) == NATS_OK);
  wire::DesiredState state;
  state.generation = 1;
  state.mode = "hub";
  state.confirmed = true;
  state.by = "hub_permissions_test";
  const std::string value = wire::encodeDesiredState(state);
  const std::string key = wire::desiredStateKey(kFrontId);
  uint64_t revision = 0;
  REQUIRE(kvStore_Put(&revision, kv, key.c_str(), value.data(), static_cast<int>(value.size())) == NATS_OK);
  const bool flipped = !world.front->waitLog(R"(mode direct -> hub \(desired state generation 1\))", 10s).empty();
  INFO(world.logs());
  CHECK(flipped);

  // The same sidecar's credentials (and another's) on either hub: reading works, writing does not.
  for (const char* user : {kFrontId, kThiefId}) {
    for (NatsHub* hub : world.order()) {
      INFO("user " << user << " on " << hub->name());
      UserClient sidecar(credUrl(*hub, user), security::controlInboxPrefix(user));
      kvStore* skv = nullptr;
      REQUIRE(js_KeyValue(&skv, sidecar.js(), wire::kDesiredStateBucket) == NATS_OK);
      kvEntry* entry = nullptr;
      if (hub == &world.hubs.central()) {
        CHECK(kvStore_Get(&entry, skv, key.c_str()) == NATS_OK);
        if (entry) kvEntry_Destroy(entry);
      }
      wire::DesiredState forged = state;
      forged.generation = 99;
      forged.mode = "direct";
      const std::string bad = wire::encodeDesiredState(forged);
      uint64_t rev = 0;
      CHECK(kvStore_Put(&rev, skv, key.c_str(), bad.data(), static_cast<int>(bad.size())) != NATS_OK);
      CHECK(sidecar.waitViolation("$KV.twinhub_desired."));
      CHECK(kvStore_Delete(skv, key.c_str()) != NATS_OK);
      CHECK(js_PurgeStream(sidecar.js(), "KV_twinhub_desired", nullptr, nullptr) != NATS_OK);
      CHECK(sidecar.waitViolation("$JS.API.STREAM.PURGE"));
      kvStore* made = nullptr;
      kvConfig other;
      kvConfig_Init(&other);
      other.Bucket = "twinhub_forged";
      CHECK(js_CreateKeyValue(&made, sidecar.js(), &other) != NATS_OK);
      if (made) kvStore_Destroy(made);
      kvStore_Destroy(skv);
    }
  }
  // Still generation 1 on both hubs (edge never had the key).
  kvEntry* entry = nullptr;
  REQUIRE(kvStore_Get(&entry, kv, key.c_str()) == NATS_OK);
  std::string decode_error;
  auto stored = wire::decodeDesiredState(
      std::string_view(static_cast<const char*>(kvEntry_Value(entry)), static_cast<size_t>(kvEntry_ValueLen(entry))),
      &decode_error);
  kvEntry_Destroy(entry);
  REQUIRE(stored.has_value());
  CHECK(stored->generation == 1);
  CHECK(kvStore_Get(&entry, kv_edge, key.c_str()) == NATS_NOT_FOUND);
  CHECK(world.front->metric("twinhub_applied_generation") == 1);
  kvStore_Destroy(kv);
  kvStore_Destroy(kv_edge);
}

TEST_CASE("Security: forged heartbeats for another machine are refused by the hub while a sidecar's own machine's pass",
          "[integration][security]") {
  SecuredWorld world;
  UserClient observer(credUrl(world.hubs.central(), security::kAggregatorUser));
  const int beats = observer.subscribe("health.status.*");
  for (NatsHub* hub : world.order()) {
    UserClient thief(credUrl(*hub, kThiefId));  // machine pc2
    thief.publish("health.status.mainpc", "FORGED-" + hub->name());
    thief.flush();
    CHECK(thief.waitViolation("health.status.mainpc"));
    thief.publish("health.status.pc2", "OWN-" + hub->name());
    thief.flush();
  }
  // The aggregator's user may not publish heartbeats either.
  observer.publish("health.status.mainpc", "FORGED-aggregator");
  observer.flush();
  CHECK(observer.waitViolation("health.status.mainpc"));

  bool real_mainpc = false, real_pc2 = false, own_edge = false, own_central = false, forged = false;
  const auto until = Clock::now() + 3s;
  while (Clock::now() < until) {
    auto beat = observer.next(beats, 100ms);
    if (!beat) continue;
    forged = forged || beat->find("FORGED") != std::string::npos;
    own_edge = own_edge || *beat == "OWN-edge";
    own_central = own_central || *beat == "OWN-central";
    real_mainpc = real_mainpc || beat->find(kServerId) != std::string::npos;
    real_pc2 = real_pc2 || beat->find(kFrontId) != std::string::npos;
  }
  INFO(world.logs());
  CHECK(!forged);
  CHECK(own_edge);
  CHECK(own_central);
  CHECK(real_mainpc);  // the sidecars' own heartbeats go through their permissions
  CHECK(real_pc2);
}

TEST_CASE("Security: the reference fleet gives one user per sidecar with its fronts from the dependencies and "
          "nats-server accepts the block",
          "[integration][security]") {
  const auto loaded = fleet::loadFleetFile(std::string(TWINHUB_SOURCE_DIR) + "/config/fleet/reference.yaml");
  REQUIRE(loaded.problems.count(fleet::Severity::kError) == 0);
  const auto grants = security::sidecarGrants(loaded.fleet);
  CHECK(grants.size() == loaded.fleet.agents.size());  // no replicas in the reference fleet
  const SidecarGrant* router = nullptr;
  for (const SidecarGrant& grant : grants) {
    if (grant.id == "pc2.AdvancedRouter") router = &grant;
  }
  REQUIRE(router != nullptr);
  CHECK(router->machine == "pc2");
  CHECK(router->serves == "AdvancedRouter");
  CHECK(router->fronts == std::vector<std::string>{"AdvancedRouter", "TaskScheduler"});
  const auto permissions = security::sidecarPermissions(*router);
  auto has = [](const std::vector<std::string>& list, const std::string& s) {
    return std::find(list.begin(), list.end(), s) != list.end();
  };
  CHECK(has(permissions.publish, "th.svc.TaskScheduler.open"));
  CHECK(!has(permissions.publish, "th.svc.AsyncProcessor.open"));  // a dependency of a dependency
  CHECK(has(permissions.publish, "health.status.pc2"));
  CHECK(has(permissions.subscribe, "th.sc.pc2_AdvancedRouter.>"));
  CHECK(has(permissions.subscribe, "th.svc.AdvancedRouter.open AdvancedRouter"));

  const auto users = security::fleetUsers(loaded.fleet, [](const std::string& user) { return passwordOf(user); });
  CHECK(users.size() == grants.size() + 3);
  TempDir dir;
  const std::string path = dir.path() + "/users.conf";
  {
    std::ofstream out(path);
    out << "listen: 127.0.0.1:4222\n" << security::renderAuthorization(users);
  }
  const std::string command = natsServerPath() + " -t -c " + path + " > " + dir.path() + "/check.log 2>&1";
  const int status = std::system(command.c_str());
  std::ifstream log(dir.path() + "/check.log");
  const std::string said((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  INFO(said);
  CHECK(status == 0);
}

}  // namespace twinhub::test
