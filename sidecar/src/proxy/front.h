// Front: a listener that accepts client connections and proxies each one to its service.
// A front sits on an agent's public port (ingress) or on a caller's machine (egress); the code is
// the same. Its target and limits can change at run time (config reload): new connections use
// the new values, open ones keep theirs.
//
// Heap-allocated, owned by the app; stopAccepting() closes the listener, and once it is closed
// and no connection is left the front calls its drained callback, after which the owner may delete
// it. Loop thread only.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

#include "common/net_address.h"
#include "common/status.h"
#include "proxy/connection.h"  // ConnectionSettings
#include "proxy/front_connection.h"
#include "proxy/front_stats.h"
#include "proxy/proxy_context.h"

namespace twinhub {

struct FrontSettings {
  std::string service;
  NetAddress listen;
  uint32_t max_connections = 4096;
  ConnectionSettings connection;
};

class Front final : public ConnectionOwner {
 public:
  // `factory` makes the connection for each accepted client; it must outlive the front's use of it.
  Front(ProxyContext& context, FrontSettings settings, std::shared_ptr<FrontStats> stats, ConnectionFactory* factory);
  Front(const Front&) = delete;
  Front& operator=(const Front&) = delete;
  ~Front();

  // Binds and starts listening. On failure the front must still be stopped (stopAccepting()).
  [[nodiscard]] Status listen();
  // The address actually bound (the real port when the configured one is 0).
  const NetAddress& boundAddress() const { return bound_; }
  const FrontSettings& settings() const { return settings_; }
  // New connections use the new target and limits; the listen address must be the same.
  void update(const FrontSettings& settings, std::shared_ptr<FrontStats> stats, ConnectionFactory* factory);

  void setOnDrained(std::function<void(Front*)> on_drained) { on_drained_ = std::move(on_drained); }
  // Closes the listener; open connections carry on until they close.
  void stopAccepting();
  // Resets every open connection.
  void abortConnections();
  size_t activeConnections() const { return connections_.size(); }

  void onConnectionClosed(FrontConnection* connection) override;

 private:
  static void onNewConnection(uv_stream_t* server, int status);
  static void onListenerClosed(uv_handle_t* handle);
  void accept();
  void rejectOne();
  void checkDrained();

  ProxyContext& context_;
  FrontSettings settings_;
  std::shared_ptr<FrontStats> stats_;
  NetAddress bound_;
  uv_tcp_t listener_;
  bool listener_closing_ = false;
  bool listener_closed_ = false;
  ConnectionFactory* factory_;
  std::unordered_set<FrontConnection*> connections_;
  std::function<void(Front*)> on_drained_;
};

}  // namespace twinhub
