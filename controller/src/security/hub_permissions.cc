#include "security/hub_permissions.h"

#include <algorithm>

namespace twinhub::security {

namespace {

// JetStream names (control_wire/desired_state.h, control/desired_state_store.h, health/history.h).
constexpr const char* kDesiredBucket = "twinhub_desired";
constexpr const char* kDesiredStream = "KV_twinhub_desired";
constexpr const char* kLedgerStream = "TWINHUB_LEDGER";
constexpr const char* kLedgerSubject = "ledger.events";  // after the prefix
constexpr const char* kHistoryStream = "TWINHUB_HEALTH";

void addUnique(std::vector<std::string>& list, std::string subject) {
  if (std::find(list.begin(), list.end(), subject) == list.end()) list.push_back(std::move(subject));
}

// Reading one stream through the JetStream API: the stream-name lookup by subject that
// js_Subscribe does first (names only), its info, an ordered consumer on it (the KV
// watcher; the old and the 2.9 "CREATE.<stream>.<consumer>.<filter>" forms), removing that
// consumer again, and single-message reads (kvStore_Get: MSG.GET, or DIRECT.GET on a bucket made
// with direct access). Nothing that creates, changes, purges or deletes a stream or a message.
void addStreamRead(Permissions& p, const std::string& stream) {
  addUnique(p.publish, "$JS.API.STREAM.NAMES");  // a subscribe looks its stream up by subject
  addUnique(p.publish, "$JS.API.STREAM.INFO." + stream);
  addUnique(p.publish, "$JS.API.CONSUMER.CREATE." + stream);
  addUnique(p.publish, "$JS.API.CONSUMER.CREATE." + stream + ".>");
  addUnique(p.publish, "$JS.API.CONSUMER.INFO." + stream + ".*");
  addUnique(p.publish, "$JS.API.CONSUMER.DELETE." + stream + ".*");
  addUnique(p.publish, "$JS.API.STREAM.MSG.GET." + stream);
  addUnique(p.publish, "$JS.API.DIRECT.GET." + stream);
  addUnique(p.publish, "$JS.API.DIRECT.GET." + stream + ".>");
  addUnique(p.publish, "$JS.FC." + stream + ".>");  // flow-control answers of a push consumer
}

// Owning a stream: everything the JetStream API offers on it, and acknowledgements.
void addStreamAdmin(Permissions& p, const std::string& stream) {
  addUnique(p.publish, "$JS.API.STREAM.NAMES");
  addUnique(p.publish, "$JS.API.STREAM.*." + stream);
  addUnique(p.publish, "$JS.API.STREAM.MSG.*." + stream);
  addUnique(p.publish, "$JS.API.CONSUMER.*." + stream);
  addUnique(p.publish, "$JS.API.CONSUMER.*." + stream + ".>");
  addUnique(p.publish, "$JS.API.DIRECT.GET." + stream);
  addUnique(p.publish, "$JS.API.DIRECT.GET." + stream + ".>");
  addUnique(p.publish, "$JS.FC." + stream + ".>");
  addUnique(p.publish, "$JS.ACK." + stream + ".>");
}

}  // namespace

std::string inboxToken(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) c = '_';
  }
  return out.empty() ? "_" : out;
}

std::string controlInboxPrefix(std::string_view sidecar_id) { return "_INBOX_" + inboxToken(sidecar_id); }

Permissions sidecarPermissions(const SidecarGrant& grant, std::string_view prefix_view) {
  const std::string prefix(prefix_view);
  const std::string own = prefix + "sc." + inboxToken(grant.id);
  Permissions p;
  // Sessions: OPEN to the services it fronts; frames to any peer's client or server end (the
  // peer's inbox is learnt from OPEN / OPEN_OK); echo probes to itself through each hub.
  for (const std::string& service : grant.fronts) addUnique(p.publish, prefix + "svc." + inboxToken(service) + ".open");
  addUnique(p.publish, prefix + "sc.*.*.c");
  addUnique(p.publish, prefix + "sc.*.*.s");
  addUnique(p.publish, own + ".*.p.*");
  // Its own machine's heartbeats only.
  addUnique(p.publish, "health.status." + grant.machine);
  // Desired state: read, never write.
  addStreamRead(p, kDesiredStream);

  // Its own inbox (frames to both ends, OPEN replies and no-responders, probes), the OPENs of the
  // service it serves as a member of that service's queue group only, and the replies of its
  // JetStream calls under its own inbox prefix.
  addUnique(p.subscribe, own + ".>");
  if (!grant.serves.empty()) {
    const std::string token = inboxToken(grant.serves);
    addUnique(p.subscribe, prefix + "svc." + token + ".open " + token);
  }
  addUnique(p.subscribe, controlInboxPrefix(grant.id) + ".>");
  (void)kDesiredBucket;
  return p;
}

Permissions controllerPermissions(std::string_view prefix_view) {
  const std::string prefix(prefix_view);
  Permissions p;
  addUnique(p.publish, "$JS.API.INFO");
  addStreamAdmin(p, kDesiredStream);
  addUnique(p.publish, std::string("$KV.") + kDesiredBucket + ".>");  // desired state and the lease
  addStreamAdmin(p, kLedgerStream);
  addUnique(p.publish, prefix + kLedgerSubject);
  addStreamRead(p, kHistoryStream);  // status: the last stored aggregate
  addUnique(p.subscribe, "health.>");  // heartbeats, alerts, aggregate, recovery
  addUnique(p.subscribe, "_INBOX.>");
  return p;
}

Permissions aggregatorPermissions() {
  Permissions p;
  addUnique(p.publish, "health.alerts");
  addUnique(p.publish, "health.recovery");
  addUnique(p.publish, "health.aggregate");
  addUnique(p.publish, "$JS.API.INFO");
  addStreamAdmin(p, kHistoryStream);
  addUnique(p.subscribe, "health.status.*");
  addUnique(p.subscribe, "health.aggregate");  // read_aggregates: another aggregator's view
  addUnique(p.subscribe, "_INBOX.>");
  return p;
}

}  // namespace twinhub::security
