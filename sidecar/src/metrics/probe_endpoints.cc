#include "metrics/probe_endpoints.h"

#include <CivetServer.h>
#include <civetweb.h>

#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace twinhub {

namespace {

struct PortTable {
  std::mutex mutex;
  std::map<int, std::weak_ptr<const ReadinessState>> by_port;
};

PortTable& portTable() {
  static PortTable table;
  return table;
}

std::shared_ptr<const ReadinessState> readinessFor(int port) {
  PortTable& table = portTable();
  std::lock_guard lock(table.mutex);
  auto it = table.by_port.find(port);
  return it == table.by_port.end() ? nullptr : it->second.lock();
}

void reply(mg_connection* conn, int status, const char* status_text, const std::string& body) {
  mg_printf(conn,
            "HTTP/1.1 %d %s\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: %zu\r\n"
            "Cache-Control: no-store\r\nConnection: close\r\n\r\n%s",
            status, status_text, body.size(), body.c_str());
}

// Non-zero: the request was answered here; zero: civetweb goes on to /metrics.
int beginRequest(mg_connection* conn) {
  const mg_request_info* info = mg_get_request_info(conn);
  if (info == nullptr || info->local_uri == nullptr) return 0;
  const bool healthz = std::strcmp(info->local_uri, "/healthz") == 0;
  const bool readyz = std::strcmp(info->local_uri, "/readyz") == 0;
  if (!healthz && !readyz) return 0;
  std::shared_ptr<const ReadinessState> readiness = readinessFor(info->server_port);
  if (!readiness) return 0;
  if (healthz) {
    reply(conn, 200, "OK", "ok\n");
    return 200;
  }
  ReadinessVerdict verdict = readiness->verdict();
  if (verdict.ready) {
    reply(conn, 200, "OK", "ready: " + verdict.reason + "\n");
    return 200;
  }
  reply(conn, 503, "Service Unavailable", "not ready: " + verdict.reason + "\n");
  return 503;
}

}  // namespace

ProbeEndpoints::ProbeEndpoints(std::shared_ptr<const ReadinessState> readiness)
    : readiness_(std::move(readiness)), callbacks_(std::make_unique<CivetCallbacks>()) {
  callbacks_->begin_request = beginRequest;
}

ProbeEndpoints::~ProbeEndpoints() {
  if (port_ < 0) return;
  PortTable& table = portTable();
  std::lock_guard lock(table.mutex);
  table.by_port.erase(port_);
}

void ProbeEndpoints::bind(int port) {
  PortTable& table = portTable();
  std::lock_guard lock(table.mutex);
  port_ = port;
  table.by_port[port] = readiness_;
}

}  // namespace twinhub
