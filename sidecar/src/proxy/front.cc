#include "proxy/front.h"

#include <spdlog/spdlog.h>

namespace twinhub {

namespace {
constexpr int kListenBacklog = 1024;
}

Front::Front(ProxyContext& context, FrontSettings settings, std::shared_ptr<FrontStats> stats, ConnectionFactory* factory)
    : context_(context), settings_(std::move(settings)), stats_(std::move(stats)), bound_(settings_.listen), factory_(factory) {
  uv_tcp_init(context_.loop, &listener_);
  listener_.data = this;
}

Front::~Front() {
  // Only deleted once drained: no handle of ours is left open.
}

Status Front::listen() {
  const std::string where = settings_.listen.toString();
  int rc = uv_tcp_bind(&listener_, settings_.listen.sockaddrPtr(), 0);
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kListenBacklog, onNewConnection);
  if (rc != 0) return Status::error("listen " + where + ": " + uv_strerror(rc));
  sockaddr_storage name{};
  int len = sizeof name;
  if (uv_tcp_getsockname(&listener_, reinterpret_cast<sockaddr*>(&name), &len) == 0) {
    bound_ = NetAddress::fromSockaddr(reinterpret_cast<sockaddr*>(&name));
  }
  return Status::ok();
}

void Front::update(const FrontSettings& settings, std::shared_ptr<FrontStats> stats, ConnectionFactory* factory) {
  factory_ = factory;
  settings_.service = settings.service;
  settings_.max_connections = settings.max_connections;
  settings_.connection = settings.connection;
  stats_ = std::move(stats);
}

void Front::onNewConnection(uv_stream_t* server, int status) {
  auto* self = static_cast<Front*>(server->data);
  if (status != 0) {
    // EMFILE and friends: the kernel keeps the connection queued; log and carry on.
    spdlog::warn("front {}: accept: {}", self->bound_.toString(), uv_strerror(status));
    return;
  }
  if (self->connections_.size() >= self->settings_.max_connections) {
    self->rejectOne();
    return;
  }
  self->accept();
}

void Front::accept() {
  FrontConnection* connection = factory_->create(settings_, stats_, *this);
  int rc = uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), connection->clientStream());
  connections_.insert(connection);
  if (rc != 0) {
    spdlog::warn("front {}: accept: {}", bound_.toString(), uv_strerror(rc));
    connection->abort();
    return;
  }
  spdlog::debug("conn {}: accepted on {} for {}", connection->id(), bound_.toString(), settings_.service);
  connection->start();
}

void Front::rejectOne() {
  // Accept and close at once: the client learns promptly instead of waiting in the backlog.
  auto* tcp = new uv_tcp_t;
  uv_tcp_init(context_.loop, tcp);
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_), reinterpret_cast<uv_stream_t*>(tcp)) == 0) {
    stats_->connectionRejected();
    spdlog::warn("front {}: connection limit {} reached, refusing a connection", bound_.toString(),
                 settings_.max_connections);
  }
  uv_close(reinterpret_cast<uv_handle_t*>(tcp), [](uv_handle_t* h) { delete reinterpret_cast<uv_tcp_t*>(h); });
}

void Front::stopAccepting() {
  if (listener_closing_) return;
  listener_closing_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_), onListenerClosed);
}

void Front::onListenerClosed(uv_handle_t* handle) {
  auto* self = static_cast<Front*>(handle->data);
  self->listener_closed_ = true;
  self->checkDrained();
}

void Front::abortConnections() {
  // abort() only starts closing; connections leave the set from their close callbacks.
  for (FrontConnection* connection : connections_) connection->abort();
}

void Front::onConnectionClosed(FrontConnection* connection) {
  connections_.erase(connection);
  delete connection;
  checkDrained();
}

void Front::checkDrained() {
  if (listener_closed_ && connections_.empty() && on_drained_) on_drained_(this);
}

}  // namespace twinhub
