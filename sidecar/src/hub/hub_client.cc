#include "hub/hub_client.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <utility>

namespace twinhub {

// Freed only after cnats reported the connection closed and every subscription complete, so no
// callback reaches freed memory.
struct HubClient::Callbacks {
  LoopExecutor* executor = nullptr;
  HubClientListener* listener = nullptr;
  HubMessageInspector* inspector = nullptr;
  size_t index = 0;
  std::string name;

  std::mutex mutex;
  std::condition_variable changed;
  int open_subscriptions = 0;
  bool connection_closed = false;
  HubClient* owner = nullptr;  // under mutex; null once the client is being destroyed
  bool renewing = false;       // under mutex: the next close is our renewal, not the server's doing

  // With mutex held and owner set.
  void ownerLostConnection() { owner->connectionClosed(); }
};

namespace {

using Callbacks = HubClient::Callbacks;

struct SubscriptionContext {
  Callbacks* callbacks;
  int tag;
};

void onConnectionUp(natsConnection*, void* closure) {
  auto* cb = static_cast<Callbacks*>(closure);
  spdlog::info("hub {}: connected", cb->name);
  cb->executor->post([listener = cb->listener, index = cb->index] { listener->onHubConnected(index); });
}

void onConnectionDown(natsConnection*, void* closure) {
  auto* cb = static_cast<Callbacks*>(closure);
  spdlog::warn("hub {}: disconnected", cb->name);
  cb->executor->post([listener = cb->listener, index = cb->index] { listener->onHubDisconnected(index); });
}

void onConnectionClosed(natsConnection* connection, void* closure) {
  auto* cb = static_cast<Callbacks*>(closure);
  std::lock_guard<std::mutex> lock(cb->mutex);
  cb->connection_closed = true;
  cb->changed.notify_all();
  if (!cb->owner) return;  // closed by us
  const char* text = nullptr;
  natsStatus status = natsConnection_GetLastError(connection, &text);
  std::string why = text && *text ? text : natsStatus_GetText(status);
  const bool renewal = std::exchange(cb->renewing, false);
  cb->executor->post([listener = cb->listener, index = cb->index, why = std::move(why), renewal] {
    listener->onHubDisconnected(index);
    if (!renewal) listener->onHubRecreating(index, why);
  });
  cb->ownerLostConnection();
}

void onError(natsConnection*, natsSubscription*, natsStatus status, void* closure) {
  auto* cb = static_cast<Callbacks*>(closure);
  spdlog::warn("hub {}: {}", cb->name, natsStatus_GetText(status));
}

void onMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* ctx = static_cast<SubscriptionContext*>(closure);
  HubMessage message;
  message.tag = ctx->tag;
  message.data = HubPayload::adopt(msg);  // no copy: the loop writes from cnats's message
  Callbacks* cb = ctx->callbacks;
  if (cb->inspector) {
    cb->inspector->inspect(message);  // sees tag and data only
    if (message.consumed) return;
  }
  message.subject = natsMsg_GetSubject(msg);
  if (const char* reply = natsMsg_GetReply(msg)) message.reply = reply;
  message.no_responders = natsMsg_IsNoResponders(msg);
  // std::function wants a copyable closure; the payload moves once, through the shared_ptr.
  cb->executor->post([listener = cb->listener, index = cb->index,
                      shared = std::make_shared<HubMessage>(std::move(message))] {
    listener->onHubMessage(index, std::move(*shared));
  });
}

void onSubscriptionComplete(void* closure) {
  auto* ctx = static_cast<SubscriptionContext*>(closure);
  Callbacks* cb = ctx->callbacks;
  delete ctx;
  std::lock_guard<std::mutex> lock(cb->mutex);
  --cb->open_subscriptions;
  cb->changed.notify_all();
}

}  // namespace

HubClient::HubClient(size_t index, HubOptions options, LoopExecutor& executor, HubClientListener& listener,
                     HubMessageInspector* inspector)
    : index_(index), options_(std::move(options)), callbacks_(std::make_shared<Callbacks>()) {
  callbacks_->executor = &executor;
  callbacks_->listener = &listener;
  callbacks_->inspector = inspector;
  callbacks_->index = index;
  callbacks_->name = options_.name;
}

HubClient::~HubClient() {
  {
    std::lock_guard<std::mutex> lock(callbacks_->mutex);
    callbacks_->owner = nullptr;  // a close from here on is ours
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    commands_.clear();
  }
  wake_.notify_all();
  if (worker_.joinable()) worker_.join();
  std::unique_lock<std::mutex> lock(callbacks_->mutex);
  const bool expect_close = connection_ != nullptr;
  bool quiet = callbacks_->changed.wait_for(lock, std::chrono::seconds(3), [&] {
    return (callbacks_->connection_closed || !expect_close) && callbacks_->open_subscriptions == 0;
  });
  if (!quiet) {
    // Better a small leak than a callback into freed memory.
    spdlog::warn("hub {}: cnats did not confirm the close in time", options_.name);
    new std::shared_ptr<Callbacks>(callbacks_);
  }
}

void HubClient::start() {
  {
    std::lock_guard<std::mutex> lock(callbacks_->mutex);
    callbacks_->owner = this;
  }
  worker_ = std::thread([this] { run(); });
}

void HubClient::connectionClosed() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) return;
    commands_.push_front(Recreate{});
  }
  wake_.notify_one();
}

bool HubClient::pause(uint32_t ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  return !wake_.wait_for(lock, std::chrono::milliseconds(ms), [&] { return stopping_; });
}

namespace {
constexpr uint32_t kMaxRecreatePauseMs = 1000;
constexpr auto kRecreateCalm = std::chrono::seconds(10);  // closes further apart than this start over
}  // namespace

void HubClient::recreate() {
  natsConnection* old = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::swap(old, connection_);
  }
  for (auto& [tag, handle] : subscriptions_) natsSubscription_Destroy(handle);
  subscriptions_.clear();
  if (old) natsConnection_Destroy(old);  // already closed by cnats: returns at once
  const auto now = std::chrono::steady_clock::now();
  recreate_pause_ms_ = now - last_recreate_ > kRecreateCalm
                           ? options_.reconnect_wait_ms
                           : std::min(kMaxRecreatePauseMs, std::max(recreate_pause_ms_ * 2, options_.reconnect_wait_ms));
  last_recreate_ = now;
  if (!pause(recreate_pause_ms_)) return;
  spdlog::warn("hub {}: making a new connection to {}", options_.name, options_.url);
  {
    std::lock_guard<std::mutex> lock(callbacks_->mutex);
    callbacks_->connection_closed = false;
  }
  if (!connect()) return;
  for (auto& [tag, wanted] : wanted_) subscribeNow(wanted);
}

void HubClient::subscribe(int tag, const std::string& subject, const std::string& queue) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands_.push_back(Subscribe{tag, subject, queue});
  }
  wake_.notify_one();
}

void HubClient::unsubscribe(int tag) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands_.push_back(Unsubscribe{tag});
  }
  wake_.notify_one();
}

namespace {
constexpr size_t kFastPublishMaxBytes = 16 * 1024;
}

void HubClient::publish(std::string subject, std::string reply, std::string_view data) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (fast_publish_ && connection_ && !worker_busy_ && commands_.empty() && !stopping_ &&
        data.size() <= kFastPublishMaxBytes) {
      // Under the lock, so the worker cannot send anything meanwhile: order holds.
      sendPublish(subject, reply, data);
      return;
    }
    commands_.push_back(Publish{std::move(subject), std::move(reply), std::string(data)});
  }
  wake_.notify_one();
}

void HubClient::renewConnection() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    commands_.push_back(Renew{});
  }
  wake_.notify_one();
}

void HubClient::setFastPublish(bool enabled) {
  std::lock_guard<std::mutex> lock(mutex_);
  fast_publish_ = enabled;
}

void HubClient::sendPublish(const std::string& subject, const std::string& reply, std::string_view data) {
  natsStatus s = reply.empty() ? natsConnection_Publish(connection_, subject.c_str(), data.data(),
                                                        static_cast<int>(data.size()))
                               : natsConnection_PublishRequest(connection_, subject.c_str(), reply.c_str(),
                                                               data.data(), static_cast<int>(data.size()));
  if (s != NATS_OK) publish_failures_.fetch_add(1);
}

void HubClient::discardPending() {
  std::lock_guard<std::mutex> lock(mutex_);
  std::deque<Command> kept;
  for (Command& command : commands_) {
    if (!std::holds_alternative<Publish>(command)) kept.push_back(std::move(command));
  }
  commands_.swap(kept);
}

bool HubClient::connect() {
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  Callbacks* cb = callbacks_.get();
  if (s == NATS_OK) s = natsOptions_SetURL(opts, options_.url.c_str());
  if (s == NATS_OK && !options_.client_name.empty()) s = natsOptions_SetName(opts, options_.client_name.c_str());
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, options_.ping_interval_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, static_cast<int>(options_.max_pings_out));
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, options_.reconnect_wait_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 1000);
  if (s == NATS_OK) s = natsOptions_SetWriteDeadline(opts, options_.write_deadline_ms);
  // Frames are re-sent through another hub on loss; no point hoarding them for this one.
  if (s == NATS_OK) s = natsOptions_SetReconnectBufSize(opts, 1024 * 1024);
  // Latency: publish without waiting for cnats's flusher thread.
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts, true);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, onConnectionDown, cb);
  if (s == NATS_OK) s = natsOptions_SetReconnectedCB(opts, onConnectionUp, cb);
  if (s == NATS_OK) s = natsOptions_SetClosedCB(opts, onConnectionClosed, cb);
  if (s == NATS_OK) s = natsOptions_SetErrorHandler(opts, onError, cb);
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(opts, true, onConnectionUp, cb);
  if (s != NATS_OK) {
    spdlog::error("hub {}: options: {}", options_.name, natsStatus_GetText(s));
    natsOptions_Destroy(opts);
    return false;  // a bad URL or option: trying again would not help
  }
  // Files are read here, on the worker: a certificate being replaced may be unreadable for a
  // moment, so a problem is retried like a lost connection.
  if (std::string why = nats_security::applyHubSecurity(opts, options_.security); !why.empty()) {
    spdlog::error("hub {}: {}; trying again", options_.name, why);
    natsOptions_Destroy(opts);
    connectionClosed();
    return false;
  }
  natsConnection* connection = nullptr;
  s = natsConnection_Connect(&connection, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK && s != NATS_NOT_YET_CONNECTED) {
    spdlog::error("hub {}: connect {}: {}; trying again", options_.name, options_.url, natsStatus_GetText(s));
    connectionClosed();
    return false;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    connection_ = connection;
  }
  if (s == NATS_OK) {
    onConnectionUp(connection_, cb);
  } else {
    spdlog::warn("hub {}: {} not reachable yet; retrying in the background", options_.name, options_.url);
  }
  return true;
}

void HubClient::execute(Command& command) {
  if (std::holds_alternative<Recreate>(command)) {
    recreate();
  } else if (std::holds_alternative<Renew>(command)) {
    // cnats's closed callback then reports the hub down and queues the Recreate that connects
    // anew; without a connection, the coming connect reads the files anyway.
    if (connection_) {
      spdlog::info("hub {}: renewing the connection (certificates and credentials read again)", options_.name);
      {
        std::lock_guard<std::mutex> lock(callbacks_->mutex);
        callbacks_->renewing = true;
      }
      natsConnection_Close(connection_);
    }
  } else if (auto* sub = std::get_if<Subscribe>(&command)) {
    wanted_[sub->tag] = *sub;
    if (connection_) subscribeNow(*sub);
  } else if (auto* unsub = std::get_if<Unsubscribe>(&command)) {
    wanted_.erase(unsub->tag);
    auto it = subscriptions_.find(unsub->tag);
    if (it == subscriptions_.end()) return;
    natsSubscription_Unsubscribe(it->second);
    natsSubscription_Destroy(it->second);
    subscriptions_.erase(it);
  } else if (auto* pub = std::get_if<Publish>(&command); pub && connection_) {
    sendPublish(pub->subject, pub->reply, pub->data);
  }
}

void HubClient::subscribeNow(const Subscribe& sub) {
  if (subscriptions_.count(sub.tag)) return;
  auto* ctx = new SubscriptionContext{callbacks_.get(), sub.tag};
  natsSubscription* handle = nullptr;
  natsStatus s = sub.queue.empty()
                     ? natsConnection_Subscribe(&handle, connection_, sub.subject.c_str(), onMessage, ctx)
                     : natsConnection_QueueSubscribe(&handle, connection_, sub.subject.c_str(), sub.queue.c_str(),
                                                     onMessage, ctx);
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(handle, -1, 256 * 1024 * 1024);
  if (s == NATS_OK) s = natsSubscription_SetOnCompleteCB(handle, onSubscriptionComplete, ctx);
  if (s != NATS_OK) {
    spdlog::error("hub {}: subscribe {}: {}", options_.name, sub.subject, natsStatus_GetText(s));
    if (handle) natsSubscription_Destroy(handle);
    delete ctx;
    return;
  }
  {
    std::lock_guard<std::mutex> lock(callbacks_->mutex);
    ++callbacks_->open_subscriptions;
  }
  subscriptions_[sub.tag] = handle;
}

void shutdownHubLibrary() { nats_CloseAndWait(2000); }

void HubClient::run() {
  connect();
  std::unique_lock<std::mutex> lock(mutex_);
  while (true) {
    wake_.wait(lock, [&] { return stopping_ || !commands_.empty(); });
    if (stopping_) break;
    Command command = std::move(commands_.front());
    commands_.pop_front();
    worker_busy_ = true;
    lock.unlock();
    execute(command);
    lock.lock();
    worker_busy_ = false;
  }
  lock.unlock();
  for (auto& [tag, sub] : subscriptions_) {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  subscriptions_.clear();
  if (connection_) {
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
}

}  // namespace twinhub
