// The demo's two hubs on 127.0.0.1: "central" (mainpc) and "edge" (pc2, a leaf node of central),
// configured as deploy/nats/central-secure.conf and edge-secure.conf (TLS with client
// certificates and one user per role on client and leaf connections, the same liveness, write
// deadline and JetStream domains) or, without a certificate directory, as the plain
// central.conf and edge.conf; edge's leaf connection going through the net::TcpRelay so that the demo
// can cut the link between the machines. Started, killed and restarted through the Supervisor.
// Main thread only.
#pragma once

#include <memory>
#include <string>

#include "demo/demo_fleet.h"
#include "net_tools/tcp_relay.h"
#include "demo/supervisor.h"

namespace twinhub::ctl::demo {

class LocalHubs {
 public:
  // `certs_dir`: a scripts/gen-certs.sh directory for secured hubs, "" for plain ones.
  LocalHubs(Supervisor& supervisor, std::string nats_server, std::string dir, HubPorts ports, std::string certs_dir);

  // Starts central, the relay and edge, and waits until the leaf link is up. "" or the problem.
  std::string start();
  // Starts edge again (after a kill) and waits until it serves clients and its leaf link is up.
  std::string restartEdge();
  bool leafUp() const;

  Child* central() { return central_; }
  Child* edge() { return edge_; }
  net::TcpRelay& link() { return *relay_; }
  const HubPorts& ports() const { return ports_; }
  std::string url(const std::string& hub) const;

 private:
  std::string startHub(const std::string& name, int port, int monitor, Child** child);

  Supervisor& supervisor_;
  std::string nats_server_, dir_, certs_dir_;
  HubPorts ports_;
  std::unique_ptr<net::TcpRelay> relay_;
  Child* central_ = nullptr;
  Child* edge_ = nullptr;
};

}  // namespace twinhub::ctl::demo
