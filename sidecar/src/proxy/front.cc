#include "proxy/front.h"

#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace twinhub {

namespace {

constexpr int kListenBacklog = 1024;
// Connections taken per readable event, so that one busy front cannot starve the loop; the
// socket is level-triggered, so the rest come on the next turn.
constexpr int kAcceptBatch = 256;
constexpr uint64_t kReportIntervalMs = 1000;
// At the fd limit with no descriptor to shed with (another thread took it): wait this long
// rather than spin on a socket that stays readable.
constexpr uint64_t kPauseMs = 50;

const char* reasonText(RefusalReason reason) {
  return reason == RefusalReason::kMaxConnections ? "over max_connections" : "out of file descriptors";
}

}  // namespace

Front::Front(ProxyContext& context, FrontSettings settings, std::shared_ptr<FrontStats> stats, ConnectionFactory* factory)
    : context_(context),
      settings_(std::move(settings)),
      stats_(std::move(stats)),
      bound_(settings_.listen),
      refusals_(kReportIntervalMs),
      factory_(factory) {
  for (uv_timer_t* timer : {&report_timer_, &resume_timer_}) {
    uv_timer_init(context_.loop, timer);
    timer->data = this;
    ++open_handles_;
  }
}

Front::~Front() {
  // Only deleted once drained: no handle of ours is left open.
}

int Front::openListener() {
  const sockaddr* addr = settings_.listen.sockaddrPtr();
  listen_fd_ = ::socket(addr->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return -errno;
  const int on = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // as uv_tcp_bind does
  const socklen_t len = settings_.listen.isV6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::bind(listen_fd_, addr, len) != 0 || ::listen(listen_fd_, kListenBacklog) != 0) return -errno;
  if (int rc = uv_poll_init_socket(context_.loop, &poll_, listen_fd_); rc != 0) return rc;
  poll_.data = this;
  polling_ = true;
  ++open_handles_;
  return uv_poll_start(&poll_, UV_READABLE, onReadable);
}

Status Front::listen() {
  if (int rc = openListener(); rc != 0) {
    return Status::error("listen " + settings_.listen.toString() + ": " + uv_strerror(rc));
  }
  sockaddr_storage name{};
  socklen_t len = sizeof name;
  if (::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&name), &len) == 0) {
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

void Front::onReadable(uv_poll_t* poll, int status, int /*events*/) {
  auto* self = static_cast<Front*>(poll->data);
  if (status != 0) {
    spdlog::warn("front {}: poll: {}", self->bound_.toString(), uv_strerror(status));
    return;
  }
  self->acceptPending();
}

void Front::acceptPending() {
  for (int i = 0; i < kAcceptBatch && !stopping_; ++i) {
    int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd >= 0) {
      admit(fd);
      continue;
    }
    const int err = errno;
    if (err == EAGAIN || err == EWOULDBLOCK) return;
    if (err == EINTR || err == ECONNABORTED) continue;  // that client is gone; the next may be there
    if (err == EMFILE || err == ENFILE) {
      if (context_.fd_reserve.shedOne(listen_fd_)) {
        refuse(RefusalReason::kFdLimit);
        continue;
      }
    }
    // No way to take the connection off the queue now (or an unexpected error): pause instead of
    // spinning on a listener that stays readable.
    spdlog::warn("front {}: accept: {}; pausing {} ms", bound_.toString(), uv_strerror(-err), kPauseMs);
    pauseAccepting();
    return;
  }
}

void Front::admit(int fd) {
  // Refused ones are closed at once: the client learns promptly instead of waiting.
  if (connections_.size() >= settings_.max_connections) {
    ::close(fd);
    refuse(RefusalReason::kMaxConnections);
    return;
  }
  if (!context_.fd_reserve.spareAvailable()) {
    ::close(fd);
    refuse(RefusalReason::kFdLimit);
    return;
  }
  FrontConnection* connection = factory_->create(settings_, stats_, *this);
  connections_.insert(connection);
  if (int rc = uv_tcp_open(reinterpret_cast<uv_tcp_t*>(connection->clientStream()), fd); rc != 0) {
    spdlog::warn("front {}: accept: {}", bound_.toString(), uv_strerror(rc));
    ::close(fd);
    connection->abort();
    return;
  }
  spdlog::debug("conn {}: accepted on {} for {}", connection->id(), bound_.toString(), settings_.service);
  connection->start();
}

void Front::refuse(RefusalReason reason) {
  stats_->connectionRejected(reason);
  const uint64_t now = uv_now(context_.loop);
  if (refusals_.add(reason, now)) {
    reportRefusals();
  } else if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&report_timer_)) && !stopping_) {
    uv_timer_start(&report_timer_, onReportTimer, refusals_.dueAt() - now, 0);
  }
}

void Front::reportRefusals() {
  const uint64_t now = uv_now(context_.loop);
  std::string detail;
  for (RefusalReason reason : {RefusalReason::kMaxConnections, RefusalReason::kFdLimit}) {
    if (refusals_.count(reason) == 0) continue;
    detail += (detail.empty() ? "" : ", ") + std::to_string(refusals_.count(reason)) + " " + reasonText(reason);
  }
  spdlog::warn("front {} on {}: refused {} connection(s) since the last report ({}; max_connections {}, {} open)",
               settings_.service, bound_.toString(), refusals_.total(), detail, settings_.max_connections,
               connections_.size());
  refusals_.reported(now);
}

void Front::onReportTimer(uv_timer_t* timer) {
  auto* self = static_cast<Front*>(timer->data);
  if (self->refusals_.pending()) self->reportRefusals();
}

void Front::pauseAccepting() {
  uv_poll_stop(&poll_);
  uv_timer_start(&resume_timer_, onResumeTimer, kPauseMs, 0);
}

void Front::onResumeTimer(uv_timer_t* timer) {
  auto* self = static_cast<Front*>(timer->data);
  if (!self->stopping_) uv_poll_start(&self->poll_, UV_READABLE, onReadable);
}

void Front::stopAccepting() {
  if (stopping_) return;
  stopping_ = true;
  if (refusals_.pending()) reportRefusals();  // the last few, before the timer goes
  if (polling_) closeHandle(reinterpret_cast<uv_handle_t*>(&poll_));
  closeHandle(reinterpret_cast<uv_handle_t*>(&report_timer_));
  closeHandle(reinterpret_cast<uv_handle_t*>(&resume_timer_));
  if (!polling_ && listen_fd_ >= 0) {
    ::close(listen_fd_);  // socket made, but listen() failed before it was polled
    listen_fd_ = -1;
  }
}

void Front::closeHandle(uv_handle_t* handle) { uv_close(handle, onHandleClosed); }

void Front::onHandleClosed(uv_handle_t* handle) {
  auto* self = static_cast<Front*>(handle->data);
  if (handle == reinterpret_cast<uv_handle_t*>(&self->poll_)) {
    ::close(self->listen_fd_);  // only now: a polled descriptor must outlive its poll handle
    self->listen_fd_ = -1;
  }
  --self->open_handles_;
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
  if (stopping_ && open_handles_ == 0 && connections_.empty() && on_drained_) on_drained_(this);
}

}  // namespace twinhub
