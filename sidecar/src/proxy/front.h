// Front: a listener that accepts client connections and proxies each one to its service.
// A front sits on an agent's public port (ingress) or on a caller's machine (egress); the code is
// the same. Its target and limits can change at run time (config reload): new connections use
// the new values, open ones keep theirs.
//
// A front accepts for itself (a polled listening socket, not uv_listen) so that every refusal is
// seen: over max_connections, or at the open-file limit, where a reserved descriptor lets it take
// the connection off the queue and close it (see FdReserve). Refusals are counted by reason and
// logged at most once a second, with the count since the previous line.
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
#include "proxy/refusal_tally.h"

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
  static void onReadable(uv_poll_t* poll, int status, int events);
  static void onReportTimer(uv_timer_t* timer);
  static void onResumeTimer(uv_timer_t* timer);
  static void onHandleClosed(uv_handle_t* handle);
  [[nodiscard]] int openListener();
  void acceptPending();
  void admit(int fd);
  void refuse(RefusalReason reason);
  void reportRefusals();
  void pauseAccepting();
  void closeHandle(uv_handle_t* handle);
  void checkDrained();

  ProxyContext& context_;
  FrontSettings settings_;
  std::shared_ptr<FrontStats> stats_;
  NetAddress bound_;
  int listen_fd_ = -1;
  uv_poll_t poll_;             // initialised only once the socket listens
  bool polling_ = false;
  uv_timer_t report_timer_;    // the next refusal report, when one is held back
  uv_timer_t resume_timer_;    // accepting again after a pause at the fd limit
  int open_handles_ = 0;       // drained only after every handle's close callback
  bool stopping_ = false;
  RefusalTally refusals_;
  ConnectionFactory* factory_;
  std::unordered_set<FrontConnection*> connections_;
  std::function<void(Front*)> on_drained_;
};

}  // namespace twinhub
