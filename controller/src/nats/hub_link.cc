#include "nats/hub_link.h"

#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <memory>

#include "health_wire/health_subjects.h"
#include "health_wire/heartbeat.h"

namespace twinhub::ctl {

struct HubLink::Context {
  size_t index;
  Inbox* inbox;
  HubLink* link;  // under mutex; null once the link is being destroyed
  std::mutex mutex;
};

namespace {

// Contexts of destroyed links: cnats's delivery threads may still reach one after Destroy
// returns, so they are freed only by releaseRetiredHubLinks(), after nats_CloseAndWait().
std::mutex g_retired_mutex;
std::vector<std::unique_ptr<HubLink::Context>> g_retired;

void onMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  auto* ctx = static_cast<HubLink::Context*>(closure);
  std::lock_guard<std::mutex> lock(ctx->mutex);
  if (ctx->link == nullptr) {  // the link, and maybe its inbox, are gone
    natsMsg_Destroy(msg);
    return;
  }
  Received r;
  r.received_at_ms = health::wallClockMs();
  r.hub = ctx->index;
  r.subject = natsMsg_GetSubject(msg);
  // A heartbeat over its limit is refused unread anyway: keep only enough to say "oversized".
  size_t length = static_cast<size_t>(natsMsg_GetDataLength(msg));
  if (r.subject.rfind("health.status.", 0) == 0) length = std::min(length, health::kMaxHeartbeatBytes + 1);
  r.data.assign(natsMsg_GetData(msg), length);
  natsMsg_Destroy(msg);
  ctx->inbox->push(std::move(r));
}

// The prober notices the connection within its interval; nothing to do at once.
void onConnected(natsConnection*, void*) {}

// cnats's callback thread: a closed socket (a killed hub) is known here first.
// Also called by natsConnection_Close in ~HubLink, or after it: the link is then gone.
void onDisconnected(natsConnection*, void* closure) {
  auto* ctx = static_cast<HubLink::Context*>(closure);
  std::lock_guard<std::mutex> lock(ctx->mutex);
  if (ctx->link != nullptr) ctx->link->markDown("disconnected");
}

}  // namespace

void HubLink::markDown(const std::string& detail) { setState(LinkState::kDown, detail); }

void Inbox::push(Received&& message) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (queue_.size() >= capacity_ || bytes_ + message.data.size() > capacity_bytes_) {
      dropped_.fetch_add(1);
      return;
    }
    bytes_ += message.data.size();
    queue_.push_back(std::move(message));
  }
  ready_.notify_one();
}

void Inbox::take(std::vector<Received>* out, int timeout_ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  ready_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return !queue_.empty(); });
  while (!queue_.empty()) {
    bytes_ -= queue_.front().data.size();
    out->push_back(std::move(queue_.front()));
    queue_.pop_front();
  }
}

std::string parseHubAddress(const std::string& text, HubAddress* out) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos) return "--hub wants NAME=URL, got '" + text + "'";
  out->name = text.substr(0, eq);
  out->url = text.substr(eq + 1);
  if (!health::validName(out->name)) return "--hub: '" + out->name + "' is not a valid hub name";
  if (out->url.rfind("nats://", 0) != 0 || out->url.size() <= 7) return "--hub " + out->name + ": URL must be nats://host:port";
  return "";
}

HubLink::HubLink(size_t index, HubAddress address, Inbox& inbox, HubLinkOptions options)
    : index_(index), address_(std::move(address)), options_(options), context_(new Context{index, &inbox, this, {}}) {}

HubLink::~HubLink() {
  {
    std::lock_guard<std::mutex> lock(stop_mutex_);
    stopping_ = true;
  }
  stop_cv_.notify_all();
  if (prober_.joinable()) prober_.join();
  {
    // cnats's threads may call back (a disconnect on Close, a message) after this object is gone.
    std::lock_guard<std::mutex> lock(context_->mutex);
    context_->link = nullptr;
  }
  for (natsSubscription* sub : subscriptions_) {
    natsSubscription_Unsubscribe(sub);
    natsSubscription_Destroy(sub);
  }
  if (connection_) {
    natsConnection_Close(connection_);
    natsConnection_Destroy(connection_);
  }
  // cnats may still run a callback with the context after Destroy returns (its delivery thread
  // drains): it is kept until releaseRetiredHubLinks().
  std::lock_guard<std::mutex> lock(g_retired_mutex);
  g_retired.emplace_back(context_);
}

void releaseRetiredHubLinks() {
  std::lock_guard<std::mutex> lock(g_retired_mutex);
  g_retired.clear();
}

void HubLink::start(const std::vector<std::string>& subjects) {
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, address_.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(opts, "twinhubctl");
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options_.connect_timeout_ms);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, options_.ping_interval_ms);
  if (s == NATS_OK) s = natsOptions_SetMaxPingsOut(opts, 3);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 100);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetIgnoreDiscoveredServers(opts, true);
  // With a callback, Connect returns at once when the hub is not there (NATS_NOT_YET_CONNECTED)
  // and cnats keeps trying; without one it would block until connected.
  if (s == NATS_OK) s = natsOptions_SetRetryOnFailedConnect(opts, true, onConnected, context_);
  if (s == NATS_OK) s = natsOptions_SetDisconnectedCB(opts, onDisconnected, context_);
  if (s == NATS_OK) {
    if (std::string why = nats_security::applyHubSecurity(opts, address_.security); !why.empty()) {
      natsOptions_Destroy(opts);
      setState(LinkState::kDown, why);
      return;
    }
  }
  if (s == NATS_OK) {
    s = natsConnection_Connect(&connection_, opts);
    if (s == NATS_NOT_YET_CONNECTED) s = NATS_OK;  // cnats keeps trying in the background
  }
  natsOptions_Destroy(opts);
  if (s != NATS_OK) {
    setState(LinkState::kDown, std::string("connect: ") + natsStatus_GetText(s));
    connection_ = nullptr;
    return;
  }
  for (const std::string& subject : subjects) {
    natsSubscription* sub = nullptr;
    if (natsConnection_Subscribe(&sub, connection_, subject.c_str(), onMessage, context_) == NATS_OK) {
      natsSubscription_SetPendingLimits(sub, 65536, 256 * 1024 * 1024);
      subscriptions_.push_back(sub);
    }
  }
  prober_ = std::thread([this] { probeLoop(); });
}

std::string HubLink::detail() const {
  std::lock_guard<std::mutex> lock(detail_mutex_);
  return detail_;
}

void HubLink::setState(LinkState state, const std::string& detail) {
  std::lock_guard<std::mutex> lock(detail_mutex_);
  detail_ = detail;
  state_.store(state);
}

// Our own liveness check of the hub: cnats's status for a dead one (a closed socket shows at
// once), a flush round trip for a frozen one (its socket stays open).
void HubLink::probeLoop() {
  std::unique_lock<std::mutex> lock(stop_mutex_);
  while (!stopping_) {
    lock.unlock();
    const natsConnStatus status = natsConnection_Status(connection_);
    if (status != NATS_CONN_STATUS_CONNECTED) {
      setState(LinkState::kDown, status == NATS_CONN_STATUS_RECONNECTING ? "reconnecting" : "not connected");
    } else {
      const natsStatus s = natsConnection_FlushTimeout(connection_, options_.flush_timeout_ms);
      if (s == NATS_OK) {
        setState(LinkState::kUp, "");
        runSetup();
      }
      else if (s == NATS_TIMEOUT && natsConnection_Status(connection_) == NATS_CONN_STATUS_CONNECTED)
        setState(LinkState::kFrozen, "flush timed out after " + std::to_string(options_.flush_timeout_ms) + " ms");
      else setState(LinkState::kDown, natsStatus_GetText(s));
    }
    lock.lock();
    stop_cv_.wait_for(lock, std::chrono::milliseconds(options_.probe_interval_ms), [&] { return stopping_; });
  }
}

void HubLink::runSetup() {
  if (!on_up_) return;
  const int64_t now = health::wallClockMs();
  if (now < next_setup_ms_) return;
  if (on_up_(connection_)) {
    on_up_ = nullptr;
  } else {
    next_setup_ms_ = now + kSetupRetryMs;
  }
}

bool HubLink::publish(const std::string& subject, const std::string& data, const std::string& msg_id) {
  if (!connection_ || state_.load() != LinkState::kUp) return false;
  if (msg_id.empty()) {
    return natsConnection_Publish(connection_, subject.c_str(), data.data(), static_cast<int>(data.size())) == NATS_OK;
  }
  natsMsg* msg = nullptr;
  natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, data.data(), static_cast<int>(data.size()));
  if (s == NATS_OK) s = natsMsgHeader_Set(msg, "Nats-Msg-Id", msg_id.c_str());
  if (s == NATS_OK) s = natsConnection_PublishMsg(connection_, msg);
  natsMsg_Destroy(msg);
  return s == NATS_OK;
}

}  // namespace twinhub::ctl
