#include "control/desired_state_watcher.h"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <chrono>

#include "wire/subjects.h"

namespace twinhub {

namespace {

constexpr int kWatchWaitMs = 200;       // bounds how long stopping takes
constexpr int kRetryMs = 1000;          // between attempts to find the bucket
constexpr int kRereadMs = 3000;         // the safety-net read
constexpr int64_t kJetStreamWaitMs = 800;  // a frozen hub costs this thread no more per call

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

struct DesiredStateWatcher::Link {
  ControlHub hub;
  std::thread thread;
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  kvWatcher* watcher = nullptr;

  void dropWatch() {
    if (watcher) kvWatcher_Destroy(watcher);
    if (kv) kvStore_Destroy(kv);
    watcher = nullptr;
    kv = nullptr;
  }
  ~Link() {
    dropWatch();
    if (js) jsCtx_Destroy(js);
    if (connection) {
      natsConnection_Close(connection);
      natsConnection_Destroy(connection);
    }
  }
};

DesiredStateWatcher::DesiredStateWatcher(std::vector<ControlHub> hubs, std::string sidecar_id, LoopExecutor& executor,
                                         OnState on_state, OnBad on_bad)
    : sidecar_id_(std::move(sidecar_id)),
      key_(wire::desiredStateKey(sidecar_id_)),
      executor_(executor),
      on_state_(std::move(on_state)),
      on_bad_(std::move(on_bad)) {
  for (ControlHub& hub : hubs) {
    auto link = std::make_unique<Link>();
    link->hub = std::move(hub);
    links_.push_back(std::move(link));
  }
}

DesiredStateWatcher::~DesiredStateWatcher() {
  stopping_ = true;
  for (auto& link : links_) {
    if (link->thread.joinable()) link->thread.join();
  }
}

void DesiredStateWatcher::start() {
  for (auto& link : links_) {
    Link* raw = link.get();
    raw->thread = std::thread([this, raw] { run(*raw); });
  }
}

void DesiredStateWatcher::deliver(const std::string& hub, const char* data, int length) {
  std::string error;
  auto state = wire::decodeDesiredState(std::string_view(data, static_cast<size_t>(std::max(length, 0))), &error);
  if (state) {
    executor_.post([this, hub, state = *state] { on_state_(hub, state); });
  } else {
    executor_.post([this, hub, error] { on_bad_(hub, error); });
  }
}

namespace {

natsConnection* connectControl(const ControlHub& hub, const std::string& sidecar_id) {
  natsOptions* opts = nullptr;
  natsConnection* connection = nullptr;
  const std::string name = sidecar_id + "@" + hub.name + "/control";
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, hub.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(opts, name.c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 1000);
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 250);
  if (s == NATS_OK) s = natsOptions_SetPingInterval(opts, 1000);
  if (s == NATS_OK) {
    if (std::string why = nats_security::applyHubSecurity(opts, hub.security); !why.empty()) {
      spdlog::error("hub {}: control connection: {}", hub.name, why);
      s = NATS_INVALID_ARG;
    }
  }
  // JetStream replies and the watcher's deliveries under an inbox prefix of this sidecar's own,
  // so that a hub may let each sidecar subscribe to its own replies only (docs/permissions.md).
  const std::string inbox_prefix = "_INBOX_" + wire::subjectToken(sidecar_id);
  if (s == NATS_OK) s = natsOptions_SetCustomInboxPrefix(opts, inbox_prefix.c_str());
  if (s == NATS_OK) s = natsConnection_Connect(&connection, opts);
  natsOptions_Destroy(opts);
  return s == NATS_OK ? connection : nullptr;
}

}  // namespace

void DesiredStateWatcher::run(Link& link) {
  auto pause = [this](int ms) {
    for (int waited = 0; waited < ms && !stopping_; waited += 50) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  };
  int64_t next_read_ms = 0;
  bool announced = false;
  while (!stopping_) {
    if (link.connection && natsConnection_IsClosed(link.connection)) {
      // Closed for good (a server error): start over with a new connection.
      link.dropWatch();
      if (link.js) jsCtx_Destroy(link.js);
      link.js = nullptr;
      natsConnection_Destroy(link.connection);
      link.connection = nullptr;
    }
    if (!link.connection && !(link.connection = connectControl(link.hub, sidecar_id_))) {
      pause(kRetryMs);
      continue;
    }
    if (!link.js) {
      jsOptions options;
      jsOptions_Init(&options);
      options.Wait = kJetStreamWaitMs;
      if (natsConnection_JetStream(&link.js, link.connection, &options) != NATS_OK) link.js = nullptr;
    }
    if (!link.kv && (!link.js || js_KeyValue(&link.kv, link.js, wire::kDesiredStateBucket) != NATS_OK)) {
      link.kv = nullptr;
      pause(kRetryMs);
      continue;
    }
    if (!announced) {
      spdlog::info("desired state: watching {} key {} on hub {}", wire::kDesiredStateBucket, key_, link.hub.name);
      announced = true;
    }
    if (!link.watcher && kvStore_Watch(&link.watcher, link.kv, key_.c_str(), nullptr) != NATS_OK) {
      link.watcher = nullptr;
      link.dropWatch();
      pause(kRetryMs);
      continue;
    }
    kvEntry* entry = nullptr;
    natsStatus s = kvWatcher_Next(&entry, link.watcher, kWatchWaitMs);
    if (s == NATS_OK && entry) {
      if (kvEntry_Operation(entry) == kvOp_Put) {
        deliver(link.hub.name, static_cast<const char*>(kvEntry_Value(entry)), kvEntry_ValueLen(entry));
      }
      kvEntry_Destroy(entry);
    } else if (s != NATS_OK && s != NATS_TIMEOUT) {
      link.dropWatch();  // made anew on the next turn
    }
    if (nowMs() >= next_read_ms && link.kv) {
      next_read_ms = nowMs() + kRereadMs;
      kvEntry* current = nullptr;
      natsStatus got = kvStore_Get(&current, link.kv, key_.c_str());
      if (got == NATS_OK && current) {
        deliver(link.hub.name, static_cast<const char*>(kvEntry_Value(current)), kvEntry_ValueLen(current));
        kvEntry_Destroy(current);
      } else if (got != NATS_NOT_FOUND && got != NATS_TIMEOUT) {
        link.dropWatch();
      }
    }
  }
}

}  // namespace twinhub
