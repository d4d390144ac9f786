#include "control/desired_state_store.h"

#include <nats/nats.h>
#include <unistd.h>

#include <atomic>
#include <future>

#include "health_wire/heartbeat.h"


namespace twinhub::ctl {

namespace {
constexpr int64_t kJetStreamWaitMs = 1000;
constexpr int kConnectTimeoutMs = 800;
}  // namespace

struct DesiredStateStore::Domain {
  HubAddress hub;
  natsConnection* connection = nullptr;
  jsCtx* js = nullptr;
  kvStore* kv = nullptr;
  bool ledger_ready = false;
  std::string error;
  std::atomic<int> async_put_errors{0};  // from cnats's ack thread (putMany)

  static void onAsyncPutError(jsCtx*, jsPubAckErr*, void* closure) {
    static_cast<Domain*>(closure)->async_put_errors.fetch_add(1);
  }

  bool usable() const { return kv != nullptr && connection && natsConnection_Status(connection) == NATS_CONN_STATUS_CONNECTED; }

  void close() {
    if (kv) kvStore_Destroy(kv);
    if (js) jsCtx_Destroy(js);
    if (connection) {
      natsConnection_Close(connection);
      natsConnection_Destroy(connection);
    }
    kv = nullptr;
    js = nullptr;
    connection = nullptr;
    ledger_ready = false;
  }

  bool open() {
    if (usable()) return true;
    close();
    natsOptions* opts = nullptr;
    natsStatus s = natsOptions_Create(&opts);
    if (s == NATS_OK) s = natsOptions_SetURL(opts, hub.url.c_str());
    if (s == NATS_OK) s = natsOptions_SetTimeout(opts, kConnectTimeoutMs);
    if (s == NATS_OK) s = natsOptions_SetName(opts, "twinhubctl/desired-state");
    if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, 0);  // the next command connects anew
    if (s == NATS_OK) {
      if (std::string why = nats_security::applyHubSecurity(opts, hub.security); !why.empty()) {
        natsOptions_Destroy(opts);
        error = why;
        close();
        return false;
      }
    }
    if (s == NATS_OK) s = natsConnection_Connect(&connection, opts);
    natsOptions_Destroy(opts);
    if (s != NATS_OK) return fail("connect: ", s);
    jsOptions options;
    jsOptions_Init(&options);
    options.Wait = kJetStreamWaitMs;
    options.PublishAsync.ErrHandler = &Domain::onAsyncPutError;
    options.PublishAsync.ErrHandlerClosure = this;
    if ((s = natsConnection_JetStream(&js, connection, &options)) != NATS_OK) return fail("JetStream: ", s);
    if (js_KeyValue(&kv, js, wire::kDesiredStateBucket) == NATS_OK) return true;
    kvConfig config;
    kvConfig_Init(&config);
    config.Bucket = wire::kDesiredStateBucket;
    config.History = 10;  // what was desired before: the ledger has the why
    if ((s = js_CreateKeyValue(&kv, js, &config)) != NATS_OK) return fail("bucket: ", s);
    return true;
  }

  bool ensureLedger() {
    if (ledger_ready) return true;
    jsStreamInfo* info = nullptr;
    if (js_GetStreamInfo(&info, js, kLedgerStream, nullptr, nullptr) == NATS_OK) {
      jsStreamInfo_Destroy(info);
      return ledger_ready = true;
    }
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = kLedgerStream;
    const char* subjects[] = {kLedgerSubject};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.MaxAge = 30LL * 24 * 3600 * 1000000000LL;  // a month of migrations
    config.Storage = js_FileStorage;
    if (js_AddStream(&info, js, &config, nullptr, nullptr) != NATS_OK) return false;
    jsStreamInfo_Destroy(info);
    return ledger_ready = true;
  }

  bool appendLedger(const std::string& event) {
    if (!usable() || !ensureLedger()) return false;
    jsPubAck* ack = nullptr;
    natsStatus s = js_Publish(&ack, js, kLedgerSubject, event.data(), static_cast<int>(event.size()), nullptr, nullptr);
    if (ack) jsPubAck_Destroy(ack);
    return s == NATS_OK;
  }

  bool fail(const char* what, natsStatus s) {
    const char* text = nullptr;
    natsStatus last = connection ? natsConnection_GetLastError(connection, &text) : NATS_OK;
    error = std::string(what) + natsStatus_GetText(s) + (last != NATS_OK && text ? std::string(" (") + text + ")" : "");
    close();
    return false;
  }

  // The value of `key` with its revision; nullopt when absent or unreadable.
  std::optional<std::pair<std::string, uint64_t>> get(const std::string& key) {
    kvEntry* entry = nullptr;
    if (!usable() || kvStore_Get(&entry, kv, key.c_str()) != NATS_OK || !entry) return std::nullopt;
    std::pair<std::string, uint64_t> out{
        std::string(static_cast<const char*>(kvEntry_Value(entry)), static_cast<size_t>(kvEntry_ValueLen(entry))),
        kvEntry_Revision(entry)};
    kvEntry_Destroy(entry);
    return out;
  }

  bool put(const std::string& key, const std::string& value) {
    uint64_t revision = 0;
    return usable() && kvStore_Put(&revision, kv, key.c_str(), value.data(), static_cast<int>(value.size())) == NATS_OK;
  }

  // Many puts pipelined: every value published to the bucket's subject, then one wait for all the
  // acks (kvStore_Put waits for each: a round trip per key). Returns how many were stored.
  size_t putMany(const std::vector<std::pair<std::string, std::string>>& values) {
    if (!usable() || values.empty()) return 0;
    async_put_errors = 0;
    size_t sent = 0;
    for (const auto& [key, value] : values) {
      const std::string subject = std::string("$KV.") + wire::kDesiredStateBucket + "." + key;
      sent += js_PublishAsync(js, subject.c_str(), value.data(), static_cast<int>(value.size()), nullptr) == NATS_OK;
    }
    jsPubOptions wait;
    jsPubOptions_Init(&wait);
    wait.MaxWait = kJetStreamWaitMs;
    if (js_PublishAsyncComplete(js, &wait) != NATS_OK) return 0;  // some acks never came: not known stored
    const size_t failed = static_cast<size_t>(async_put_errors.load());
    return sent > failed ? sent - failed : 0;
  }

  std::vector<std::string> keys() {
    std::vector<std::string> out;
    kvKeysList list{};
    if (!usable() || kvStore_Keys(&list, kv, nullptr) != NATS_OK) return out;
    for (int i = 0; i < list.Count; ++i) out.emplace_back(list.Keys[i]);
    kvKeysList_Destroy(&list);
    return out;
  }
};

namespace {

// The better of two values of one key: the higher generation, or the confirmed one of the same.
bool better(const wire::DesiredState& candidate, const std::optional<wire::DesiredState>& best) {
  return !best || candidate.generation > best->generation ||
         (candidate.generation == best->generation && candidate.confirmed && !best->confirmed);
}

}  // namespace

DesiredStateStore::DesiredStateStore(std::vector<HubAddress> hubs) {
  for (HubAddress& hub : hubs) {
    auto domain = std::make_unique<Domain>();
    domain->hub = std::move(hub);
    domains_.push_back(std::move(domain));
  }
}

DesiredStateStore::~DesiredStateStore() {
  for (auto& domain : domains_) domain->close();
}

size_t DesiredStateStore::connect() {
  for (auto& domain : domains_) domain->open();
  return usable();
}

size_t DesiredStateStore::usable() const {
  size_t n = 0;
  for (const auto& domain : domains_) n += domain->usable() ? 1 : 0;
  return n;
}

std::vector<std::string> DesiredStateStore::unusableHubs() const {
  std::vector<std::string> out;
  for (const auto& domain : domains_) {
    if (!domain->usable()) out.push_back(domain->hub.name + (domain->error.empty() ? "" : ": " + domain->error));
  }
  return out;
}

std::optional<wire::DesiredState> DesiredStateStore::read(const std::string& sidecar_id) {
  std::optional<wire::DesiredState> best;
  const std::string key = wire::desiredStateKey(sidecar_id);
  for (auto& domain : domains_) {
    auto value = domain->get(key);
    if (!value) continue;
    auto state = wire::decodeDesiredState(value->first, nullptr);
    if (state && better(*state, best)) best = state;
  }
  return best;
}

std::map<std::string, wire::DesiredState> DesiredStateStore::readMany(const std::vector<std::string>& sidecar_ids) {
  std::vector<std::future<std::map<std::string, wire::DesiredState>>> reads;
  for (auto& domain : domains_) {
    reads.push_back(std::async(std::launch::async, [&sidecar_ids, d = domain.get()] {
      std::map<std::string, wire::DesiredState> found;
      for (const std::string& id : sidecar_ids) {
        auto value = d->get(wire::desiredStateKey(id));
        if (auto state = value ? wire::decodeDesiredState(value->first, nullptr) : std::nullopt) found[id] = *state;
      }
      return found;
    }));
  }
  std::map<std::string, wire::DesiredState> best;
  for (auto& read : reads) {
    for (auto& [id, state] : read.get()) {
      auto it = best.find(id);
      if (better(state, it == best.end() ? std::nullopt : std::optional(it->second))) best[id] = state;
    }
  }
  return best;
}

void DesiredStateStore::writeMany(const std::map<std::string, wire::DesiredState>& states) {
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [id, state] : states) encoded.emplace_back(wire::desiredStateKey(id), wire::encodeDesiredState(state));
  std::vector<std::future<void>> writes;
  for (auto& domain : domains_) {
    writes.push_back(std::async(std::launch::async, [&encoded, d = domain.get()] { d->putMany(encoded); }));
  }
  for (auto& write : writes) write.get();
}

size_t DesiredStateStore::catchUp() {
  std::map<std::string, wire::DesiredState> best;
  for (auto& domain : domains_) {
    for (const std::string& key : domain->keys()) {
      if (key == kLeaseKey) continue;
      auto value = domain->get(key);
      auto state = value ? wire::decodeDesiredState(value->first, nullptr) : std::nullopt;
      if (!state) continue;
      auto it = best.find(key);
      if (better(*state, it == best.end() ? std::nullopt : std::optional(it->second))) best[key] = *state;
    }
  }
  size_t written = 0;
  for (const auto& [key, state] : best) {
    const std::string encoded = wire::encodeDesiredState(state);
    for (auto& domain : domains_) {
      auto value = domain->get(key);
      auto there = value ? wire::decodeDesiredState(value->first, nullptr) : std::nullopt;
      if (there && there->generation == state.generation && there->confirmed == state.confirmed) continue;
      if (there && there->generation > state.generation) continue;
      written += domain->put(key, encoded) ? 1 : 0;
    }
  }
  return written;
}

DesiredStateStore::Domain* DesiredStateStore::leaseDomain() {
  for (auto& domain : domains_) {
    if (domain->usable()) return domain.get();
  }
  return nullptr;
}

DesiredStateStore::LeaseResult DesiredStateStore::acquireLease(const std::string& me, int64_t ttl_ms) {
  LeaseResult result;
  Domain* domain = leaseDomain();
  if (!domain) {
    result.error = "no hub reachable for the lease";
    return result;
  }
  auto current = domain->get(kLeaseKey);
  std::optional<Lease> lease = current ? decodeLease(current->first) : std::nullopt;
  const int64_t now = health::wallClockMs();
  const std::string scope = processScope();
  const LeaseAction action = decideLease(lease, me, now, lease && holderGone(*lease, scope));
  if (action == LeaseAction::kRefuse) {
    result.other = lease;
    return result;
  }
  if (action == LeaseAction::kTake && lease && !lease->holder.empty() && now < lease->expires_ms) {
    result.taken_over = lease->holder;
  }
  const std::string value = encodeLease(Lease{me, now + ttl_ms, scope, ::getpid()});
  uint64_t revision = 0;
  natsStatus s = current ? kvStore_Update(&revision, domain->kv, kLeaseKey, value.data(), static_cast<int>(value.size()),
                                          current->second)
                         : kvStore_Create(&revision, domain->kv, kLeaseKey, value.data(), static_cast<int>(value.size()));
  if (s == NATS_OK) {
    result.held = true;
    return result;
  }
  // Another controller won the race: say who.
  auto now_value = domain->get(kLeaseKey);
  result.other = now_value ? decodeLease(now_value->first) : std::nullopt;
  if (!result.other) result.error = std::string("lease: ") + natsStatus_GetText(s);
  return result;
}

size_t DesiredStateStore::appendLedger(const std::string& event_json) {
  size_t stored = 0;
  for (auto& domain : domains_) stored += domain->appendLedger(event_json) ? 1 : 0;
  return stored;
}

void DesiredStateStore::releaseLease(const std::string& me) {
  Domain* domain = leaseDomain();
  if (!domain) return;
  auto current = domain->get(kLeaseKey);
  std::optional<Lease> lease = current ? decodeLease(current->first) : std::nullopt;
  if (!lease || lease->holder != me) return;
  const std::string value = encodeLease(Lease{});
  uint64_t revision = 0;
  kvStore_Update(&revision, domain->kv, kLeaseKey, value.data(), static_cast<int>(value.size()), current->second);
}

}  // namespace twinhub::ctl
