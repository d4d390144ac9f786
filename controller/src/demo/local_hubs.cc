#include "demo/local_hubs.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "demo/agent_control.h"
#include "nats_security/hub_security.h"

namespace twinhub::ctl::demo {

namespace {

// `who`'s password from gen-certs.sh's directory `d`, through the one reader of secret files;
// "" when it cannot be read (the hub then refuses that user, and the demo says so).
std::string password(const std::string& d, const std::string& who) {
  std::string why;
  return nats_security::readSecretFile(d + "/" + who + ".password", &why);
}

// A nats-server `tls {}` block with `hub`'s certificate from gen-certs.sh's directory `d`.
std::string tlsBlock(const std::string& d, const std::string& hub, bool verify_clients) {
  return fmt::format("tls {{\n    cert_file: \"{0}/{1}.pem\"\n    key_file: \"{0}/{1}-key.pem\"\n    ca_file: \"{0}/ca.pem\"\n{2}    timeout: 2\n  }}",
                     d, hub, verify_clients ? "    verify: true\n" : "");
}

// As deploy/nats/<name>-secure.conf with users.conf inlined (the passwords are in this file,
// which lives in the demo's private run directory), or as <name>.conf when `d` is "".
std::string hubConfig(const std::string& name, int port, int monitor, const std::string& store, const std::string& d,
                      const std::string& leafnodes) {
  std::string security;
  if (!d.empty()) {
    security = tlsBlock(d, name, true) + "\nauthorization {\n  users: [\n";
    for (const char* role : {"sidecar", "controller", "aggregator"}) {
      security += fmt::format("    {{user: {}, password: \"{}\"}}\n", role, password(d, role));
    }
    security += "  ]\n  timeout: 2\n}";
  }
  return fmt::format(R"(# Written by twinhubctl demo; as deploy/nats/{0}{6}.conf, on 127.0.0.1.
server_name: {0}
listen: 127.0.0.1:{1}
http: 127.0.0.1:{2}
{5}
ping_interval: "2s"
ping_max: 3
write_deadline: "2s"
max_payload: 1MB
jetstream {{
  domain: {0}
  store_dir: "{3}"
  max_memory_store: 256MB
  max_file_store: 1GB
}}
{4}
)",
                     name, port, monitor, store, leafnodes, security, d.empty() ? "" : "-secure");
}

// The configs hold the hub users' passwords: owner-only, whatever the run directory's mode.
void writePrivate(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  std::filesystem::permissions(path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
}

int leafCount(int monitor) {
  const std::string body = httpGet(monitor, "/leafz", 1000);
  const size_t at = body.find("\"leafnodes\":");
  if (at == std::string::npos) return 0;
  return std::atoi(body.c_str() + at + 12);
}

}  // namespace

LocalHubs::LocalHubs(Supervisor& supervisor, std::string nats_server, std::string dir, HubPorts ports, std::string certs_dir)
    : supervisor_(supervisor),
      nats_server_(std::move(nats_server)),
      dir_(std::move(dir)),
      certs_dir_(std::move(certs_dir)),
      ports_(ports) {}

std::string LocalHubs::url(const std::string& hub) const {
  return "nats://127.0.0.1:" + std::to_string(hub == "edge" ? ports_.edge : ports_.central);
}

std::string LocalHubs::startHub(const std::string& name, int port, int monitor, Child** child) {
  std::string error;
  *child = supervisor_.start("hub-" + name, nats_server_, {"-c", dir_ + "/" + name + ".conf"}, &error);
  if (!*child) return name + ": " + error;
  const bool up = waitUntil(
      [&] { return !(*child)->running() || (tcpConnects(port) && httpGet(monitor, "/healthz", 1000).find("ok") != std::string::npos); },
      std::chrono::seconds(15));
  if (!up || !(*child)->running()) return "hub " + name + " did not start (log: " + (*child)->logPath() + ")";
  return "";
}

std::string LocalHubs::start() {
  std::filesystem::create_directories(dir_);
  for (int port : {ports_.central, ports_.edge, ports_.central_monitor, ports_.edge_monitor, ports_.leaf}) {
    if (tcpConnects(port)) return fmt::format("127.0.0.1:{} is in use (another demo running?); stop it or pass --hub-port-base", port);
  }
  const std::string& d = certs_dir_;
  const std::string leaf_password = d.empty() ? "" : password(d, "leaf");
  const std::string leaf_auth =
      d.empty() ? "" : fmt::format("\n  {}\n  authorization {{\n    user: leaf\n    password: \"{}\"\n    timeout: 2\n  }}",
                                   tlsBlock(d, "central", true), leaf_password);
  writePrivate(dir_ + "/central.conf", hubConfig("central", ports_.central, ports_.central_monitor, dir_ + "/central", d,
                                                 fmt::format("leafnodes {{\n  listen: 127.0.0.1:{}{}\n}}", ports_.leaf, leaf_auth)));
  if (std::string e = startHub("central", ports_.central, ports_.central_monitor, &central_); !e.empty()) return e;
  relay_ = std::make_unique<net::TcpRelay>("127.0.0.1:" + std::to_string(ports_.leaf));
  if (relay_->port() == 0) return "link relay: cannot listen on 127.0.0.1";
  const std::string remote =
      d.empty() ? fmt::format("{{ urls: [\"nats-leaf://127.0.0.1:{}\"] }}", relay_->port())
                : fmt::format("{{\n    urls: [\"nats-leaf://leaf:{}@127.0.0.1:{}\"]\n    {}\n  }}", leaf_password,
                              relay_->port(), tlsBlock(d, "edge", false));
  writePrivate(dir_ + "/edge.conf", hubConfig("edge", ports_.edge, ports_.edge_monitor, dir_ + "/edge", d,
                                              fmt::format("leafnodes {{\n  reconnect: 1\n  remotes: [ {} ]\n}}", remote)));
  if (std::string e = startHub("edge", ports_.edge, ports_.edge_monitor, &edge_); !e.empty()) return e;
  if (!waitUntil([&] { return leafUp(); }, std::chrono::seconds(15))) return "the leaf link edge -> central did not come up";
  return "";
}

std::string LocalHubs::restartEdge() {
  if (std::string e = startHub("edge", ports_.edge, ports_.edge_monitor, &edge_); !e.empty()) return e;
  if (!waitUntil([&] { return leafUp(); }, std::chrono::seconds(15))) return "the leaf link did not come back after edge restarted";
  return "";
}

bool LocalHubs::leafUp() const { return leafCount(ports_.central_monitor) >= 1 && leafCount(ports_.edge_monitor) >= 1; }

}  // namespace twinhub::ctl::demo
