#include "hub/hub_client.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>
#include <vector>

#include "hub/nats_loop_adapter.h"

namespace twinhub {

namespace {

constexpr uint32_t kMaxRecreatePauseMs = 1000;
constexpr uint64_t kRecreateCalmNs = 10'000'000'000ULL;  // error closes further apart than this start over
constexpr int64_t kPendingBytesLimit = 256 * 1024 * 1024;

// What cnats's callback thread reaches for one connection: freed by the closed callback, the
// last one cnats makes (or by the connector when the connection never came up).
struct ConnectionEvents {
  LoopExecutor* executor = nullptr;
  std::shared_ptr<HubClient::Link> link;
  uint64_t generation = 0;
  std::string name;
};

void onClosed(natsConnection* connection, void* closure) {
  auto* events = static_cast<ConnectionEvents*>(closure);
  const char* text = nullptr;
  const natsStatus status = natsConnection_GetLastError(connection, &text);
  std::string why = text && *text ? text : natsStatus_GetText(status);
  events->executor->post([link = events->link, generation = events->generation, status, why = std::move(why)] {
    if (link->client) link->client->closed(generation, status, why);
  });
  delete events;
}

void onAsyncError(natsConnection*, natsSubscription*, natsStatus status, void* closure) {
  spdlog::warn("hub {}: {}", static_cast<ConnectionEvents*>(closure)->name, natsStatus_GetText(status));
}

// A socket lost (closed by the hub or the network, or gone quiet) rather than an error the hub
// reported: such a close is part of normal failover.
bool isLostConnection(int status) {
  switch (status) {
    case NATS_OK:
    case NATS_CONNECTION_CLOSED:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION:
    case NATS_TIMEOUT:
      return true;
    default:
      return false;
  }
}

HubMessage toHubMessage(int tag, natsMsg* msg) {
  HubMessage message;
  message.tag = tag;
  message.subject = natsMsg_GetSubject(msg);
  if (const char* reply = natsMsg_GetReply(msg)) message.reply = reply;
  message.no_responders = natsMsg_IsNoResponders(msg);
  message.data = HubPayload::adopt(msg);  // no copy: sockets are written from cnats's message
  return message;
}

// A subscription that must see the hub's status replies: delivered on a cnats thread, handed to
// the loop. Freed by the subscription's complete callback.
struct ThreadedDelivery {
  LoopExecutor* executor = nullptr;
  std::shared_ptr<HubClient::Link> link;
  int tag = 0;
};

void onThreadedMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* delivery = static_cast<ThreadedDelivery*>(closure);
  // std::function wants a copyable closure; the message moves once, through the shared_ptr.
  auto message = std::make_shared<HubMessage>(toHubMessage(delivery->tag, msg));
  delivery->executor->post([link = delivery->link, message] {
    if (link->client) link->client->deliver(std::move(*message));
  });
}

void onThreadedComplete(void* closure) { delete static_cast<ThreadedDelivery*>(closure); }

natsSubscription* openSubscription(natsConnection* connection, const HubClient::Subscription& sub,
                                   const std::string& hub, LoopExecutor& executor,
                                   const std::shared_ptr<HubClient::Link>& link) {
  natsSubscription* handle = nullptr;
  natsStatus s = NATS_OK;
  if (sub.statuses) {
    auto* delivery = new ThreadedDelivery{&executor, link, sub.tag};
    s = natsConnection_Subscribe(&handle, connection, sub.subject.c_str(), onThreadedMessage, delivery);
    if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(handle, onThreadedComplete, delivery);
    // With a handle, the complete callback frees it once the handle is destroyed (if setting the
    // callback failed, it leaks: better than a callback into freed memory).
    if (s != NATS_OK && !handle) delete delivery;
  } else if (sub.queue.empty()) {
    s = natsConnection_SubscribeSync(&handle, connection, sub.subject.c_str());
  } else {
    s = natsConnection_QueueSubscribeSync(&handle, connection, sub.subject.c_str(), sub.queue.c_str());
  }
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(handle, -1, kPendingBytesLimit);
  if (s == NATS_OK) return handle;
  spdlog::error("hub {}: subscribe {}: {}", hub, sub.subject, natsStatus_GetText(s));
  if (handle) natsSubscription_Destroy(handle);
  return nullptr;
}

}  // namespace

struct HubClient::Connection {
  uint64_t generation = 0;
  natsConnection* handle = nullptr;
  std::shared_ptr<NatsLoopAdapter> adapter;
  std::map<int, natsSubscription*> subscriptions;

  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // On the worker: closing may wait (for unsent data) and the adapter must outlive the close.
  ~Connection() {
    for (auto& [tag, sub] : subscriptions) natsSubscription_Destroy(sub);
    if (handle) natsConnection_Destroy(handle);
  }
};

HubClient::HubClient(size_t index, HubOptions options, uv_loop_t* loop, LoopExecutor& executor,
                     HubClientListener& listener)
    : index_(index),
      options_(std::move(options)),
      loop_(loop),
      executor_(executor),
      listener_(listener),
      link_(std::make_shared<Link>()) {
  link_->client = this;
}

HubClient::~HubClient() {
  TWINHUB_ON_LOOP(loop_thread_);
  link_->client = nullptr;
  if (live_) retire();
  worker_.stop();
}

void HubClient::start() {
  TWINHUB_ON_LOOP(loop_thread_);
  connectInBackground(0);
}

bool HubClient::connected() const { return live_ && live_->adapter->attached(); }

// ---- the worker's side ---------------------------------------------------------------------

void HubClient::connectInBackground(uint32_t pause_ms) {
  worker_.post([this, wanted = wanted_, pause_ms] {
    if (!worker_.sleep(pause_ms)) return;
    uint64_t failures = 0;
    while (!worker_.stopping()) {
      std::string error;
      std::unique_ptr<Connection> connection = connectOnce(wanted, &error);
      if (connection) {
        if (failures > 0) spdlog::info("hub {}: connected after {} failed attempts", options_.name, failures);
        executor_.post([link = link_, connection = std::shared_ptr<Connection>(std::move(connection))] {
          if (link->client) link->client->install(connection);  // else it closes here (shutdown only)
        });
        return;
      }
      if (failures++ == 0) {
        spdlog::warn("hub {}: cannot connect to {}: {}; retrying every {} ms", options_.name, options_.url, error,
                     options_.reconnect_wait_ms);
      }
      if (!worker_.sleep(options_.reconnect_wait_ms)) return;
    }
  });
}

std::unique_ptr<HubClient::Connection> HubClient::connectOnce(const std::map<int, Subscription>& wanted,
                                                              std::string* error) {
  auto connection = std::make_unique<Connection>();
  connection->generation = next_generation_++;
  connection->adapter = std::make_shared<NatsLoopAdapter>();
  auto* events = new ConnectionEvents{&executor_, link_, connection->generation, options_.name};
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, options_.url.c_str());
  if (s == NATS_OK && !options_.client_name.empty()) s = natsOptions_SetName(opts, options_.client_name.c_str());
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, options_.ping_interval_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, static_cast<int>(options_.max_pings_out));
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options_.connect_timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetWriteDeadline(opts, options_.write_deadline_ms);
  // A lost connection is replaced by a new one (see the header): no reconnect thread, no
  // servers learnt from the cluster.
  if (s == NATS_OK) s = natsOptions_SetAllowReconnect(opts, false);
  if (s == NATS_OK) s = natsOptions_SetIgnoreDiscoveredServers(opts, true);
  // Latency: a publish asks for the socket's writability at once, not after a flusher's pause.
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts, true);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, onClosed, events);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, onAsyncError, events);
  if (s == NATS_OK) s = connection->adapter->install(opts);
  if (s != NATS_OK) {
    *error = std::string("options: ") + natsStatus_GetText(s);
  } else if (std::string why = nats_security::applyHubSecurity(opts, options_.security); !why.empty()) {
    // Read here: a certificate being replaced may be unreadable for a moment, so it is retried.
    *error = why;
    s = NATS_ERR;
  } else {
    s = natsConnection_Connect(&connection->handle, opts);
    if (s != NATS_OK) {
      const char* text = nats_GetLastError(nullptr);
      *error = text && *text ? text : natsStatus_GetText(s);
    }
  }
  if (opts) natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    delete events;  // no connection: no closed callback
    connection->handle = nullptr;
    return nullptr;
  }
  for (const auto& [tag, sub] : wanted) {
    if (natsSubscription* handle = openSubscription(connection->handle, sub, options_.name, executor_, link_)) {
      connection->subscriptions[tag] = handle;
    }
  }
  return connection;
}

// ---- the loop's side -----------------------------------------------------------------------

void HubClient::install(std::shared_ptr<Connection> connection) {
  TWINHUB_ON_LOOP(loop_thread_);
  if (!connection->adapter->attached()) {
    // Lost before the loop took it (its closed callback came first and was ignored).
    handOver([dead = std::move(connection)]() mutable { dead.reset(); });
    connectInBackground(options_.reconnect_wait_ms);
    return;
  }
  live_ = std::move(connection);
  // Subscriptions asked for or dropped while it was connecting.
  for (auto it = live_->subscriptions.begin(); it != live_->subscriptions.end();) {
    if (wanted_.count(it->first)) {
      ++it;
      continue;
    }
    natsSubscription* handle = it->second;
    it = live_->subscriptions.erase(it);
    handOver([handle] {
      natsSubscription_Unsubscribe(handle);
      natsSubscription_Destroy(handle);
    });
  }
  for (const auto& [tag, sub] : wanted_) {
    if (!live_->subscriptions.count(tag)) requestSubscription(sub);
  }
  live_->adapter->startPolling(loop_, [this] { drain(); });
  spdlog::info("hub {}: connected", options_.name);
  listener_.onHubConnected(index_);
}

void HubClient::retire() {
  live_->adapter->stopPolling();
  handOver([dead = std::move(live_)]() mutable { dead.reset(); });
}

void HubClient::handOver(std::function<void()> task) {
  if (draining_) {
    handovers_.push_back(std::move(task));
  } else {
    worker_.post(std::move(task));
  }
}

void HubClient::closed(uint64_t generation, int status, const std::string& why) {
  TWINHUB_ON_LOOP(loop_thread_);
  if (!live_ || live_->generation != generation) return;  // one we let go of
  retire();
  const bool lost = isLostConnection(status);
  spdlog::warn("hub {}: disconnected ({})", options_.name, why);
  listener_.onHubDisconnected(index_);
  if (lost) {
    connectInBackground(options_.reconnect_wait_ms);
    return;
  }
  listener_.onHubRecreating(index_, why);
  const uint64_t now = uv_hrtime();
  recreate_pause_ms_ = now - last_recreate_ns_ > kRecreateCalmNs
                           ? options_.reconnect_wait_ms
                           : std::min(kMaxRecreatePauseMs, std::max(recreate_pause_ms_ * 2, options_.reconnect_wait_ms));
  last_recreate_ns_ = now;
  connectInBackground(recreate_pause_ms_);
}

void HubClient::renewConnection() {
  TWINHUB_ON_LOOP(loop_thread_);
  // Without a live connection, the attempt under way reads the files anyway.
  if (!live_) return;
  spdlog::info("hub {}: renewing the connection (certificates and credentials read again)", options_.name);
  retire();
  listener_.onHubDisconnected(index_);
  connectInBackground(0);
}

void HubClient::subscribe(int tag, const std::string& subject, const std::string& queue, bool statuses) {
  TWINHUB_ON_LOOP(loop_thread_);
  Subscription sub{tag, subject, queue, statuses};
  wanted_[tag] = sub;
  if (live_ && !live_->subscriptions.count(tag)) requestSubscription(sub);
}

void HubClient::requestSubscription(const Subscription& sub) {
  // The connection is destroyed by a later task of the same worker, so it is still there.
  worker_.post([this, connection = live_->handle, generation = live_->generation, sub] {
    natsSubscription* handle = openSubscription(connection, sub, options_.name, executor_, link_);
    if (!handle) return;
    executor_.post([link = link_, generation, tag = sub.tag, handle] {
      if (link->client) {
        link->client->subscribed(generation, tag, handle);
      } else {
        natsSubscription_Destroy(handle);
      }
    });
  });
}

void HubClient::subscribed(uint64_t generation, int tag, natsSubscription* handle) {
  TWINHUB_ON_LOOP(loop_thread_);
  if (live_ && live_->generation == generation && wanted_.count(tag) && !live_->subscriptions.count(tag)) {
    live_->subscriptions[tag] = handle;
    drain();
    return;
  }
  handOver([handle] {
    natsSubscription_Unsubscribe(handle);
    natsSubscription_Destroy(handle);
  });
}

void HubClient::unsubscribe(int tag) {
  TWINHUB_ON_LOOP(loop_thread_);
  wanted_.erase(tag);
  if (!live_) return;
  auto it = live_->subscriptions.find(tag);
  if (it == live_->subscriptions.end()) return;
  natsSubscription* handle = it->second;
  live_->subscriptions.erase(it);
  handOver([handle] {
    natsSubscription_Unsubscribe(handle);
    natsSubscription_Destroy(handle);
  });
}

bool HubClient::publish(const std::string& subject, const std::string& reply, std::string_view data) {
  TWINHUB_ON_LOOP(loop_thread_);
  if (!connected()) {
    ++publish_failures_;
    return false;
  }
  const natsStatus s =
      reply.empty()
          ? natsConnection_Publish(live_->handle, subject.c_str(), data.data(), static_cast<int>(data.size()))
          : natsConnection_PublishRequest(live_->handle, subject.c_str(), reply.c_str(), data.data(),
                                          static_cast<int>(data.size()));
  if (s != NATS_OK) {
    ++publish_failures_;
    return false;
  }
  return true;
}

void HubClient::drain() {
  TWINHUB_ON_LOOP(loop_thread_);
  if (!live_ || draining_) return;
  draining_ = true;
  const uint64_t generation = live_->generation;
  const std::vector<std::pair<int, natsSubscription*>> subs(live_->subscriptions.begin(), live_->subscriptions.end());
  // A listener may unsubscribe or let the connection go meanwhile: each message checks first.
  const auto stillDrained = [&](int tag, natsSubscription* handle) {
    if (!live_ || live_->generation != generation) return false;
    auto it = live_->subscriptions.find(tag);
    return it != live_->subscriptions.end() && it->second == handle;
  };
  for (const auto& [tag, handle] : subs) {
    if (wanted_.count(tag) && wanted_[tag].statuses) continue;  // delivered by cnats's thread
    int pending = 0;
    if (!stillDrained(tag, handle) || natsSubscription_GetPending(handle, &pending, nullptr) != NATS_OK) continue;
    while (pending-- > 0 && stillDrained(tag, handle)) {
      natsMsg* msg = nullptr;
      natsStatus s = natsSubscription_NextMsg(&msg, handle, 0);
      if (s == NATS_SLOW_CONSUMER) s = natsSubscription_NextMsg(&msg, handle, 0);  // reported once; go on
      if (s != NATS_OK) break;
      listener_.onHubMessage(index_, toHubMessage(tag, msg));
    }
  }
  draining_ = false;
  for (auto& task : handovers_) worker_.post(std::move(task));
  handovers_.clear();
}

void HubClient::deliver(HubMessage&& message) {
  TWINHUB_ON_LOOP(loop_thread_);
  if (wanted_.count(message.tag)) listener_.onHubMessage(index_, std::move(message));
}

void shutdownHubLibrary() { nats_CloseAndWait(2000); }

}  // namespace twinhub
