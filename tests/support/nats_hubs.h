// Test support: real nats-server hubs in the shipped topology (DESIGN.md, "hub"): "central" and
// "edge", each its own JetStream domain, edge joined to central as a leaf node.
//
// Same topology as production: each hub runs deploy/nats/<name>.conf itself, read from the source
// tree, with only the lines tagged "# @client-listen", "# @monitor-listen", "# @leaf-listen",
// "# @leaf-remote" and "# @store-dir" rewritten (to 127.0.0.1, free ports, a TempDir), exactly as
// deploy/nats/run-local.sh does. A shipped file that loses a tag fails every hub test loudly.
//
// Ports are chosen once (bind 127.0.0.1:0, close) and kept across kill()/restart(), so clients
// reconnect to the same URL. Only 127.0.0.1 is bound.
//
// A leaf link that is up (waitLeafUp) has not necessarily exchanged every subscription yet: a
// test that needs interest across the link publishes until a probe arrives.
//
// Used from the test thread only. Failures to start throw std::runtime_error with the server log.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "nats_security/hub_security.h"
#include "support/process.h"

namespace twinhub::test {

// One nats-server process (restartable) with its config file and JetStream store in `dir`.
class NatsHub {
 public:
  struct Ports {
    int client = 0;
    int monitor = 0;
    int leaf = 0;  // leafnode listener; 0 when this hub has none
  };
  // Writes `config` to dir/<name>.conf and starts the server (with `env` added to its
  // environment); waits until it is ready. `certs_dir`: the gen-certs.sh directory when the hub
  // runs the secure config (TLS and users), "" otherwise.
  NatsHub(std::string name, const std::string& config, const std::string& dir, Ports ports,
          std::vector<std::string> env = {}, std::string certs_dir = "");
  ~NatsHub();
  NatsHub(const NatsHub&) = delete;
  NatsHub& operator=(const NatsHub&) = delete;

  const std::string& name() const { return name_; }
  std::string url() const;  // nats://127.0.0.1:PORT
  int clientPort() const { return ports_.client; }
  int monitorPort() const { return ports_.monitor; }
  int leafPort() const { return ports_.leaf; }
  const std::string& configPath() const { return config_path_; }
  // The scripts/gen-certs.sh directory of a secure hub (clients need TLS and a user); "" if plain.
  const std::string& certsDir() const { return certs_dir_; }

  void kill();     // SIGKILL, wait for exit
  void freeze();   // SIGSTOP; returns once the process is stopped
  void thaw();     // SIGCONT; returns once the process runs again
  // Starts again on the same ports with the same config (kills it first if it still runs) and
  // waits until it accepts connections and reports healthy. Throws when it does not.
  void restart();
  bool running();
  pid_t pid() const;
  // Everything the server printed, over all its starts.
  std::string output() const;

  // GET http://127.0.0.1:<monitor><path>; the body, or "" on any error or after `timeout`.
  std::string monitorGet(const std::string& path, std::chrono::milliseconds timeout = 500ms) const;

 private:
  void start();
  bool ready();

  std::string name_;
  Ports ports_;
  std::string config_path_;
  std::vector<std::string> env_;
  std::string certs_dir_;
  std::unique_ptr<Process> process_;
  std::string earlier_output_;  // output of processes before the current one
};

// central + edge, started in the constructor (central first), with the leaf link up.
// Secure by default, as shipped: deploy/nats/<name>-secure.conf (TLS with client certificates and
// users on client and leaf connections) with testCertsDir()'s certificates and passwords; clients
// connect with hubSecurity()/hubSecurityYaml()/ctlSecurityArgs(). HubPair::Plain runs the plain
// central.conf/edge.conf, for the tests of what those files are for.
class HubPair {
 public:
  struct Secure {
    std::string certs_dir;  // a scripts/gen-certs.sh directory
  };
  struct Plain {};
  HubPair();
  explicit HubPair(const Secure& secure);
  explicit HubPair(Plain);
  // Secure; edge joins central's leaf port through the address `leaf_remote(central_leaf_port)`
  // returns (HOST:PORT), e.g. a TcpRelay that a test can cut.
  explicit HubPair(const std::function<std::string(int)>& leaf_remote);
  // Plain configs with `extra_config` appended to both (e.g. an authorization block of the test's
  // own; leaf_remote may then return USER:PASSWORD@HOST:PORT).
  HubPair(const std::function<std::string(int)>& leaf_remote, const std::string& extra_config);
  ~HubPair();  // kills both
  HubPair(const HubPair&) = delete;
  HubPair& operator=(const HubPair&) = delete;

  NatsHub& central() { return *central_; }
  NatsHub& edge() { return *edge_; }
  // Waits until central's /leafz lists a leaf and edge's /leafz lists its remote; false on timeout.
  bool waitLeafUp(std::chrono::milliseconds timeout);

 private:
  void start(const std::function<std::string(int)>& leaf_remote, const Secure* secure, const std::string& extra_config);

  TempDir dir_;
  std::unique_ptr<NatsHub> central_;
  std::unique_ptr<NatsHub> edge_;
};

// deploy/nats/<name>.conf with the tagged lines' values replaced: `values` maps a tag (without
// "# @") to its new value. Throws unless every given tag is on exactly one line of the file.
std::string renderShippedHubConfig(const std::string& name,
                                   const std::vector<std::pair<std::string, std::string>>& values);

// Path of nats-server: $NATS_SERVER, else /usr/sbin/nats-server, else the first on PATH.
std::string natsServerPath();

// How a client of `role` (sidecar, controller, aggregator) proves itself to `hub` and checks it:
// the gen-certs.sh files of the role; empty for a plain hub.
nats_security::HubSecurity hubSecurity(const NatsHub& hub, const std::string& role = "sidecar");
// twinhubctl's --hub-ca/--hub-cert/--hub-key/--hub-user/--hub-password-file for `role` on `hub`
// (both hubs of a pair share them); none for a plain hub.
std::vector<std::string> ctlSecurityArgs(const NatsHub& hub, const std::string& role = "controller");

// A scripts/gen-certs.sh directory made once per test process (kept until it exits); `which`
// names independent sets, e.g. "other" for a second, unrelated CA.
const std::string& testCertsDir(const std::string& which = "main");

}  // namespace twinhub::test
