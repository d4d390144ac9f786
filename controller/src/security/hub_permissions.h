// Least-privilege subject permissions per role on a twinhub hub (issue 12, docs/permissions.md):
// what a sidecar, the controller, the aggregator and the leaf link may publish and subscribe to,
// as nats-server 2.9 allow lists. Every subject here is explained in docs/permissions.md; keep
// the two in step. Pure; any thread.
//
// The subjects mirror sidecar/src/wire/subjects.cc (th.svc.<service>.open, th.sc.<id>.<nonce>.*),
// libtwinhub's health_subjects.h and the JetStream names of the desired-state bucket, the ledger
// and the health history; the controller shares no code with the sidecar program, so
// inboxToken() repeats the sidecar's subjectToken() rule.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace twinhub::security {

struct Permissions {
  std::vector<std::string> publish;    // allow list; empty: nothing
  std::vector<std::string> subscribe;  // allow list; "subject queue" allows only that queue group
  bool unrestricted = false;           // no permissions block at all (the leaf link)
};

// What one sidecar needs: its id (the inbox token), its machine (its heartbeats), the service it
// serves (none: a front-only sidecar) and the services its fronts open sessions to.
struct SidecarGrant {
  std::string id;
  std::string machine;
  std::string serves;                 // "" when it serves nothing
  std::vector<std::string> fronts;    // service names
};

// The sidecar's subjectToken(): anything but [A-Za-z0-9_-] becomes '_'.
std::string inboxToken(std::string_view name);
// The inbox prefix a sidecar's control connection uses for JetStream replies: "_INBOX_<token>".
std::string controlInboxPrefix(std::string_view sidecar_id);

Permissions sidecarPermissions(const SidecarGrant& grant, std::string_view prefix = "th.");
Permissions controllerPermissions(std::string_view prefix = "th.");
Permissions aggregatorPermissions();

}  // namespace twinhub::security
