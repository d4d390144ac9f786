#include "demo/local_hubs.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>

#include "demo/agent_control.h"

namespace twinhub::ctl::demo {

namespace {

std::string hubConfig(const std::string& name, int port, int monitor, const std::string& store,
                      const std::string& leafnodes) {
  return fmt::format(R"(# Written by twinhubctl demo; as deploy/nats/{0}.conf, on 127.0.0.1.
server_name: {0}
listen: 127.0.0.1:{1}
http: 127.0.0.1:{2}
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
                     name, port, monitor, store, leafnodes);
}

int leafCount(int monitor) {
  const std::string body = httpGet(monitor, "/leafz", 1000);
  const size_t at = body.find("\"leafnodes\":");
  if (at == std::string::npos) return 0;
  return std::atoi(body.c_str() + at + 12);
}

}  // namespace

LocalHubs::LocalHubs(Supervisor& supervisor, std::string nats_server, std::string dir, HubPorts ports)
    : supervisor_(supervisor), nats_server_(std::move(nats_server)), dir_(std::move(dir)), ports_(ports) {}

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
  std::ofstream(dir_ + "/central.conf") << hubConfig("central", ports_.central, ports_.central_monitor, dir_ + "/central",
                                                     fmt::format("leafnodes {{\n  listen: 127.0.0.1:{}\n}}", ports_.leaf));
  if (std::string e = startHub("central", ports_.central, ports_.central_monitor, &central_); !e.empty()) return e;
  relay_ = std::make_unique<net::TcpRelay>("127.0.0.1:" + std::to_string(ports_.leaf));
  if (relay_->port() == 0) return "link relay: cannot listen on 127.0.0.1";
  std::ofstream(dir_ + "/edge.conf") << hubConfig(
      "edge", ports_.edge, ports_.edge_monitor, dir_ + "/edge",
      fmt::format("leafnodes {{\n  reconnect: 1\n  remotes: [ {{ urls: [\"nats-leaf://127.0.0.1:{}\"] }} ]\n}}", relay_->port()));
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
