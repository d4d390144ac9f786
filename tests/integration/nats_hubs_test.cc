// The hub topology itself (deploy/nats/*.conf, started by HubPair): messages and queue groups span
// the leaf link both ways, each JetStream domain answers through either hub, and a cnats client
// with short pings notices a killed or frozen hub quickly and comes back when the hub does.
// cnats is used directly, with its own threads; no twinhub code is involved.
#include <nats/nats.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdio>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "support/nats_hubs.h"

namespace twinhub::test {
namespace {

using Clock = std::chrono::steady_clock;

long long msSince(Clock::time_point start, Clock::time_point end) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(end - start).count();
}

// Messages of one subscription, filled on a cnats delivery thread.
class Inbox {
 public:
  void add(std::string data) {
    std::lock_guard<std::mutex> lock(mu_);
    messages_.push_back(std::move(data));
  }
  size_t size() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_.size();
  }
  std::vector<std::string> messages() const {
    std::lock_guard<std::mutex> lock(mu_);
    return messages_;
  }

 private:
  mutable std::mutex mu_;
  std::vector<std::string> messages_;
};

// How a client watches its hub. Fast: the settings of a sidecar's hub connection (ping 100 ms,
// 2 pings out, reconnect every 100 ms for ever). Default: cnats's own (2 min pings), for tests
// that move data and must not reconnect because the shared machine stalls for a moment.
enum class Liveness { kDefault, kFast };

// A cnats connection to one hub with its subscriptions. The destructor waits for cnats's last
// callback into this object before freeing it.
class Client {
 public:
  // With the controller's credentials when the hub is secure (any role would do on the shipped
  // users.conf, which gives roles no subject permissions).
  Client(const NatsHub& hub, Liveness liveness) {
    const std::string url = hub.url();
    natsOptions* opts = nullptr;
    check(natsOptions_Create(&opts), "natsOptions_Create");
    check(natsOptions_SetURL(opts, url.c_str()), "SetURL");
    const std::string problem = nats_security::applyHubSecurity(opts, hubSecurity(hub, "controller"));
    INFO(problem);
    REQUIRE(problem.empty());
    if (liveness == Liveness::kFast) {
      check(natsOptions_SetPingInterval(opts, 100), "SetPingInterval");
      check(natsOptions_SetMaxPingsOut(opts, 2), "SetMaxPingsOut");
      check(natsOptions_SetReconnectWait(opts, 100), "SetReconnectWait");
      check(natsOptions_SetMaxReconnect(opts, -1), "SetMaxReconnect");
    }
    check(natsOptions_SetDisconnectedCB(opts, &Client::onDisconnected, this), "SetDisconnectedCB");
    check(natsOptions_SetReconnectedCB(opts, &Client::onReconnected, this), "SetReconnectedCB");
    check(natsOptions_SetClosedCB(opts, &Client::onClosed, this), "SetClosedCB");
    natsStatus s = natsConnection_Connect(&nc_, opts);
    natsOptions_Destroy(opts);
    check(s, "connect " + url);
  }

  ~Client() {
    for (auto& sub : subs_) {
      natsSubscription_Unsubscribe(sub.handle);
      waitFor([&] { return sub.complete->load(); }, 5s);
      natsSubscription_Destroy(sub.handle);
    }
    natsConnection_Close(nc_);
    // Disconnected/closed callbacks run on cnats's callback thread, in order: closed is the last.
    waitFor([&] { return closed_.load(); }, 5s);
    natsConnection_Destroy(nc_);
  }

  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  natsConnection* nc() const { return nc_; }

  // Subscribes (a queue subscription when `queue` is set) and flushes, so that the hub has the
  // interest when this returns.
  Inbox& subscribe(const std::string& subject, const std::string& queue = "") {
    auto inbox = std::make_unique<Inbox>();
    auto complete = std::make_unique<std::atomic<bool>>(false);
    natsSubscription* handle = nullptr;
    natsStatus s = queue.empty()
                       ? natsConnection_Subscribe(&handle, nc_, subject.c_str(), &Client::onMessage, inbox.get())
                       : natsConnection_QueueSubscribe(&handle, nc_, subject.c_str(), queue.c_str(),
                                                       &Client::onMessage, inbox.get());
    check(s, "subscribe " + subject);
    check(natsSubscription_SetOnCompleteCB(handle, &Client::onComplete, complete.get()), "SetOnCompleteCB");
    check(natsConnection_FlushTimeout(nc_, 2000), "flush after subscribe " + subject);
    subs_.push_back(Sub{handle, std::move(inbox), std::move(complete)});
    return *subs_.back().inbox;
  }

  void publish(const std::string& subject, const std::string& data) {
    check(natsConnection_PublishString(nc_, subject.c_str(), data.c_str()), "publish " + subject);
  }
  void flush() { check(natsConnection_FlushTimeout(nc_, 2000), "flush"); }

  // True when every message this client has read has been handed to its callback and counted.
  bool settled() const {
    for (const auto& sub : subs_) {
      int pending = 0, bytes = 0;
      int64_t delivered = 0;
      if (natsSubscription_GetPending(sub.handle, &pending, &bytes) != NATS_OK || pending != 0) return false;
      if (natsSubscription_GetDelivered(sub.handle, &delivered) != NATS_OK) return false;
      // cnats counts a message as delivered before it calls the handler; the inbox after.
      if (static_cast<size_t>(delivered) != sub.inbox->size()) return false;
    }
    return true;
  }

  int disconnects() const { return disconnects_.load(); }
  int reconnects() const { return reconnects_.load(); }
  Clock::time_point lastDisconnect() const { return Clock::time_point(Clock::duration(last_disconnect_.load())); }
  Clock::time_point lastReconnect() const { return Clock::time_point(Clock::duration(last_reconnect_.load())); }

 private:
  struct Sub {
    natsSubscription* handle;
    std::unique_ptr<Inbox> inbox;
    std::unique_ptr<std::atomic<bool>> complete;
  };

  static void check(natsStatus s, const std::string& what) {
    if (s != NATS_OK) FAIL(what << ": " << natsStatus_GetText(s) << " " << nats_GetLastError(nullptr));
  }

  static void onMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
    static_cast<Inbox*>(closure)->add(std::string(natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
  }
  static void onComplete(void* closure) { static_cast<std::atomic<bool>*>(closure)->store(true); }
  static void onDisconnected(natsConnection*, void* closure) {
    auto* self = static_cast<Client*>(closure);
    self->last_disconnect_.store(Clock::now().time_since_epoch().count());
    self->disconnects_.fetch_add(1);
  }
  static void onReconnected(natsConnection*, void* closure) {
    auto* self = static_cast<Client*>(closure);
    self->last_reconnect_.store(Clock::now().time_since_epoch().count());
    self->reconnects_.fetch_add(1);
  }
  static void onClosed(natsConnection*, void* closure) { static_cast<Client*>(closure)->closed_.store(true); }

  natsConnection* nc_ = nullptr;
  std::deque<Sub> subs_;
  std::atomic<int> disconnects_{0};
  std::atomic<int> reconnects_{0};
  std::atomic<bool> closed_{false};
  std::atomic<Clock::rep> last_disconnect_{0};
  std::atomic<Clock::rep> last_reconnect_{0};
};

// Waits until interest that `subscriber` registered so far is known on `publisher`'s hub: a fresh
// probe subscription (registered after the others, so it crosses the leaf link after them) has
// to receive one of the probes `publisher` sends every 20 ms.
bool awaitInterest(Client& publisher, Client& subscriber, std::chrono::milliseconds timeout) {
  static int probes = 0;
  const std::string subject = "t.probe." + std::to_string(++probes);
  Inbox& inbox = subscriber.subscribe(subject);
  auto last = Clock::time_point{};
  return waitFor(
      [&] {
        if (inbox.size() > 0) return true;
        if (Clock::now() - last >= 20ms) {
          publisher.publish(subject, "probe");
          last = Clock::now();
        }
        return false;
      },
      timeout);
}

// Publishes `data` to `subject` every 20 ms until `inbox` has a message.
bool publishUntilReceived(Client& publisher, const std::string& subject, Inbox& inbox,
                          std::chrono::milliseconds timeout) {
  auto last = Clock::time_point{};
  return waitFor(
      [&] {
        if (inbox.size() > 0) return true;
        if (Clock::now() - last >= 20ms) {
          publisher.publish(subject, "ping");
          last = Clock::now();
        }
        return false;
      },
      timeout);
}

std::vector<std::string> numbered(const std::string& prefix, int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

TEST_CASE("Hubs: a message published on one hub reaches a subscriber on the other, both ways", "[integration]") {
  // The secured configs as shipped, and the plain ones kept for a quick look.
  const bool plain = GENERATE(false, true);
  INFO((plain ? "central.conf, edge.conf" : "central-secure.conf, edge-secure.conf"));
  std::unique_ptr<HubPair> pair = plain ? std::make_unique<HubPair>(HubPair::Plain{}) : std::make_unique<HubPair>();
  HubPair& hubs = *pair;
  Client on_central(hubs.central(), Liveness::kDefault);
  Client on_edge(hubs.edge(), Liveness::kDefault);

  Inbox& at_central = on_central.subscribe("t.cross.to-central");
  Inbox& at_edge = on_edge.subscribe("t.cross.to-edge");
  REQUIRE(awaitInterest(on_edge, on_central, 5s));
  REQUIRE(awaitInterest(on_central, on_edge, 5s));

  const auto to_central = numbered("e2c-", 100);
  const auto to_edge = numbered("c2e-", 100);
  for (const auto& m : to_central) on_edge.publish("t.cross.to-central", m);
  for (const auto& m : to_edge) on_central.publish("t.cross.to-edge", m);
  on_edge.flush();
  on_central.flush();

  REQUIRE(waitFor([&] { return at_central.size() >= to_central.size() && at_edge.size() >= to_edge.size(); }, 5s));
  // All of them, once each and in order; nothing else.
  CHECK(at_central.messages() == to_central);
  CHECK(at_edge.messages() == to_edge);
}

TEST_CASE("Hubs: a queue group with a member on each hub gets each message exactly once", "[integration]") {
  HubPair hubs;
  Client member_central(hubs.central(), Liveness::kDefault);
  Client member_edge(hubs.edge(), Liveness::kDefault);
  Client pub_central(hubs.central(), Liveness::kDefault);
  Client pub_edge(hubs.edge(), Liveness::kDefault);

  Inbox& got_central = member_central.subscribe("t.work", "workers");
  Inbox& got_edge = member_edge.subscribe("t.work", "workers");
  // Plain subscriptions for the end markers: a marker is published after a publisher's last work
  // message, so once a member's connection has both markers, nothing more is on its way to it.
  Inbox& done_central = member_central.subscribe("t.work.done");
  Inbox& done_edge = member_edge.subscribe("t.work.done");
  REQUIRE(awaitInterest(pub_edge, member_central, 5s));
  REQUIRE(awaitInterest(pub_central, member_edge, 5s));

  constexpr int kMessages = 1000;
  for (int i = 0; i < kMessages; ++i) {
    (i % 2 == 0 ? pub_edge : pub_central).publish("t.work", std::to_string(i));
  }
  pub_edge.publish("t.work.done", "edge");
  pub_central.publish("t.work.done", "central");
  pub_edge.flush();
  pub_central.flush();

  REQUIRE(waitFor([&] { return done_central.size() == 2 && done_edge.size() == 2; }, 5s));
  REQUIRE(waitFor([&] { return member_central.settled() && member_edge.settled(); }, 5s));

  std::multiset<int> seen;
  for (const auto& m : got_central.messages()) seen.insert(std::stoi(m));
  for (const auto& m : got_edge.messages()) seen.insert(std::stoi(m));
  INFO("central member got " << got_central.size() << ", edge member got " << got_edge.size());
  CHECK(seen.size() == static_cast<size_t>(kMessages));
  CHECK(std::set<int>(seen.begin(), seen.end()).size() == static_cast<size_t>(kMessages));
  CHECK(*seen.begin() == 0);
  CHECK(*seen.rbegin() == kMessages - 1);
  std::printf("hubs: queue group split: central member %zu, edge member %zu of %d\n", got_central.size(),
              got_edge.size(), kMessages);
  CHECK(member_central.disconnects() == 0);
  CHECK(member_edge.disconnects() == 0);
}

TEST_CASE("Hubs: a client sees a killed hub within 500 ms and reconnects when it restarts", "[integration]") {
  HubPair hubs;
  Client client(hubs.central(), Liveness::kFast);
  Client on_edge(hubs.edge(), Liveness::kDefault);
  Inbox& after = client.subscribe("t.kill.after");

  auto killed_at = Clock::now();
  hubs.central().kill();
  REQUIRE(waitFor([&] { return client.disconnects() >= 1; }, 2s));
  auto detect_ms = msSince(killed_at, client.lastDisconnect());
  std::printf("hubs: kill -9 central -> disconnected callback after %lld ms\n", detect_ms);
  CHECK(detect_ms < 500);
  CHECK(client.reconnects() == 0);

  auto restarted_at = Clock::now();
  hubs.central().restart();
  REQUIRE(waitFor([&] { return client.reconnects() >= 1; }, 5s));
  std::printf("hubs: central restarted -> reconnected callback after %lld ms\n",
              msSince(restarted_at, client.lastReconnect()));
  REQUIRE(hubs.waitLeafUp(5s));
  std::printf("hubs: central restarted -> leaf link up after %lld ms\n", msSince(restarted_at, Clock::now()));

  // The client's subscription came back with it, and the new leaf link carries it to edge.
  CHECK(publishUntilReceived(on_edge, "t.kill.after", after, 5s));
  CHECK(on_edge.disconnects() == 0);
}

TEST_CASE("Hubs: a client sees a frozen hub through its pings within 1 s and reconnects after thaw",
          "[integration]") {
  HubPair hubs;
  for (NatsHub* hub : {&hubs.central(), &hubs.edge()}) {
    INFO("frozen hub: " << hub->name());
    Client client(*hub, Liveness::kFast);
    Inbox& inbox = client.subscribe("t.freeze.after");

    auto frozen_at = Clock::now();
    hub->freeze();
    REQUIRE(waitFor([&] { return client.disconnects() >= 1; }, 3s));
    auto detect_ms = msSince(frozen_at, client.lastDisconnect());
    std::printf("hubs: SIGSTOP %s -> disconnected callback after %lld ms\n", hub->name().c_str(), detect_ms);
    CHECK(detect_ms < 1000);
    CHECK(client.reconnects() == 0);

    auto thawed_at = Clock::now();
    hub->thaw();
    REQUIRE(waitFor([&] { return client.reconnects() >= 1; }, 5s));
    std::printf("hubs: SIGCONT %s -> reconnected callback after %lld ms\n", hub->name().c_str(),
                msSince(thawed_at, client.lastReconnect()));
    REQUIRE(hubs.waitLeafUp(5s));
    // Usable again, across the leaf link too.
    NatsHub& other = hub == &hubs.central() ? hubs.edge() : hubs.central();
    Client from_other(other, Liveness::kDefault);
    CHECK(publishUntilReceived(from_other, "t.freeze.after", inbox, 5s));
  }
}

TEST_CASE("Hubs: each JetStream domain answers its API through either hub", "[integration]") {
  HubPair hubs;
  Client on_central(hubs.central(), Liveness::kDefault);
  Client on_edge(hubs.edge(), Liveness::kDefault);

  for (Client* client : {&on_central, &on_edge}) {
    for (const std::string domain : {"central", "edge"}) {
      const std::string subject = "$JS." + domain + ".API.INFO";
      INFO("request " << subject << " through " << (client == &on_central ? "central" : "edge"));
      std::string last;
      // The other domain's API is imported over the leaf link, which may still be settling.
      bool answered = waitFor(
          [&] {
            natsMsg* reply = nullptr;
            if (natsConnection_RequestString(&reply, client->nc(), subject.c_str(), "", 500) != NATS_OK) return false;
            last.assign(natsMsg_GetData(reply), natsMsg_GetDataLength(reply));
            natsMsg_Destroy(reply);
            return true;
          },
          5s);
      REQUIRE(answered);
      INFO("reply: " << last);
      auto json = nlohmann::json::parse(last, nullptr, /*allow_exceptions=*/false);
      REQUIRE(json.is_object());
      CHECK_FALSE(json.contains("error"));
      CHECK(json.value("type", "") == "io.nats.jetstream.api.v1.account_info_response");
      // The answer comes from the server of that domain, not from whichever hub took the request.
      CHECK(json.value("domain", "") == domain);
    }
  }
}

}  // namespace
}  // namespace twinhub::test
