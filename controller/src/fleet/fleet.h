// Fleet: what a fleet file says (docs/fleet.md): the machines and their hubs, the agents with
// their ports and dependencies, the batches the migration walks and its thresholds. Values only,
// each with the position it was read from so that later checks can name the place. Built by
// fleet_loader, checked by fleet_validator; read by plan output and sidecar config generation.
// A value type; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "fleet/source_pos.h"

namespace twinhub::fleet {

struct Hub {
  std::string name;
  std::vector<std::string> urls;  // nats://host:port; the first is the one sidecar configs use
  SourcePos pos;
};

struct NamedRef {  // a name that points at something defined elsewhere in the file
  std::string name;
  SourcePos pos;
};

struct Machine {
  std::string name;
  std::string address;           // where other machines reach it (a host name or IP address)
  Hub hub;                       // the hub that runs on this machine
  std::vector<NamedRef> prefer;  // its sidecars' hubs in order of preference; empty: own hub first
  SourcePos pos;
};

enum class HealthProtocol { kZmq, kTcp, kHttp };
const char* healthProtocolName(HealthProtocol protocol);

// How each agent's sidecar is laid out; the `sidecars:` section, every field optional.
struct SidecarLayout {
  // The agent moves from `port` to `port + agent_port_offset`; its sidecar's front takes `port`.
  uint32_t agent_port_offset = 10000;
  // The agents' own convention: the health socket is on port + 1000.
  uint32_t health_port_offset = 1000;
  // The sidecar's /metrics on 127.0.0.1:(port + metrics_port_offset): 7140 -> 9140.
  uint32_t metrics_port_offset = 2000;
  std::string state_dir = "/var/lib/twinhub";
  std::string listen_host = "0.0.0.0";  // the front: every interface, as the agent had
  std::string agent_host = "127.0.0.1";  // the moved agent: loopback, reached only by its sidecar
  HealthProtocol health = HealthProtocol::kZmq;
  uint32_t probe_interval_ms = 500;
  uint32_t probe_timeout_ms = 300;
};

// How sidecars and twinhubctl reach secured hubs (docs/security.md); the `security:` section.
// The files follow scripts/gen-certs.sh: CERTS/ca.pem, CERTS/<role>.pem and CERTS/<role>-key.pem
// per role (sidecar, controller, aggregator), SECRETS/<user>.password per hub user.
struct Security {
  std::string certs_dir;    // "": plain hubs, no TLS and no users
  std::string secrets_dir;  // "": certs_dir
  // false: one user per role (deploy/nats/users.conf); true: each sidecar logs in as its own id
  // (the users `twinhubctl hub-users` renders).
  bool per_sidecar_users = false;
  SourcePos pos;
  bool enabled() const { return !certs_dir.empty(); }
};

// The TLS files and credentials one program presents to the hubs under `security`.
struct RoleCredentials {
  std::string ca, cert, key;  // PEM files
  std::string user, password_file;
};
// `role`'s certificate, logging in as `user` ("" = the role's own user).
RoleCredentials roleCredentials(const Security& security, const std::string& role, const std::string& user = "");

struct Agent {
  std::string name;
  NamedRef machine;
  uint32_t port = 0;                  // the agent's original, public port: its sidecar's front
  std::optional<uint32_t> health_port;  // unset: by protocol (ports.h)
  std::optional<uint32_t> agent_port;   // unset: port + agent_port_offset
  std::optional<uint32_t> metrics_port;  // unset: port + metrics_port_offset
  std::optional<HealthProtocol> health;  // unset: the layout's
  std::string health_path = "/health";   // http probes only
  std::vector<NamedRef> deps;
  std::vector<NamedRef> replicas;  // other machines that run the same agent on the same ports
  bool migrate = true;             // false: sidecar configs only, never in a batch
  SourcePos pos, port_pos, health_port_pos, agent_port_pos, metrics_port_pos;
};

// A service outside the fleet that agents may depend on (not migrated, not checked for order).
struct External {
  std::string name;
  std::string note;
  SourcePos pos;
};

struct Batch {
  std::string name;
  std::vector<NamedRef> agents;
  SourcePos pos;
};

// When a migrated batch passes or rolls back (DESIGN.md "Control"); the `migration:` section.
struct Thresholds {
  double soak_s = 30;               // after the flip, compare with the baseline for this long
  double baseline_window_s = 10;    // latency and errors before the flip, over this window
  uint32_t min_samples = 20;        // fewer requests in a window: extend it (no traffic is no breach)
  double max_latency_ratio_p99 = 1.5;  // soak p99 / baseline p99 above this: breach
  double min_latency_delta_ms = 5;     // ... and soak p99 at least this far above the baseline's
  double max_error_rate = 0.01;     // failed / all requests during the soak above this: breach
  double flip_timeout_s = 5;        // every sidecar of the batch reports the generation by then, or roll back
  double provisional_deadline_s = 60;  // a flip not confirmed by then reverts on the sidecar itself
};

struct Fleet {
  std::string source;  // the file it was read from, for messages
  std::vector<Machine> machines;
  SidecarLayout layout;
  std::vector<Agent> agents;
  std::vector<External> externals;
  std::vector<Batch> batches;
  Thresholds thresholds;
  Security security;

  const Machine* findMachine(const std::string& name) const;
  const Agent* findAgent(const std::string& name) const;
  const External* findExternal(const std::string& name) const;
  // The hub named `name` (hubs are defined by the machines they run on), or null.
  const Hub* findHub(const std::string& name) const;
  // The hubs a machine's sidecars use, in order of preference: its `prefer` list when given,
  // otherwise its own hub first, then the other machines' hubs in file order. Unknown names are
  // skipped (the validator reports them).
  std::vector<const Hub*> hubsFor(const Machine& machine) const;
};

}  // namespace twinhub::fleet
