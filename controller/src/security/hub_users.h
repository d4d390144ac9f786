// The users of a fleet's hubs (docs/permissions.md): one per sidecar (its id; the fronts it needs
// come from the fleet: its own service, which its ingress front stands in for, and the services
// its agent depends on, which egress fronts on its machine may stand in for), one for the
// controller, one for the aggregator; and the nats-server 2.9 `authorization {}` block that gives
// each its permissions. Pure; any thread.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "fleet/fleet.h"
#include "security/hub_permissions.h"

namespace twinhub::security {

constexpr const char* kControllerUser = "twinhubctl";
constexpr const char* kAggregatorUser = "twinhub-aggregator";
// The edge hub's leaf-node connection to central: it relays every client's traffic, so it has no
// subject permissions, and it may connect as a leaf node only (never as a client).
constexpr const char* kLeafUser = "twinhub-leaf";

struct HubUser {
  std::string name;
  std::string password;
  Permissions permissions;
  // nats-server's allowed_connection_types: STANDARD (clients) for every role, LEAFNODE for the leaf.
  std::string connection_type = "STANDARD";
};

HubUser leafUser(const std::string& password);

// One grant per sidecar of a validated fleet: every agent on its machine and on each replica.
std::vector<SidecarGrant> sidecarGrants(const fleet::Fleet& fleet);

// The sidecars' users, then the controller's, the aggregator's and the leaf link's; `password(user)` gives each
// user's password.
std::vector<HubUser> fleetUsers(const fleet::Fleet& fleet, const std::function<std::string(const std::string&)>& password);

// `authorization { users = [ ... ] }` for nats-server 2.9, one user per line group, each subject
// quoted. Passwords appear in it: the rendered file is as secret as the passwords.
std::string renderAuthorization(const std::vector<HubUser>& users);

}  // namespace twinhub::security
