#include "proxy/connection.h"

#include <spdlog/spdlog.h>

#include "common/socket_util.h"

namespace twinhub {

namespace {

constexpr unsigned kKeepAliveDelaySeconds = 60;

}  // namespace

Connection::Connection(ProxyContext& context, const ConnectionSettings& settings, std::shared_ptr<FrontStats> stats,
                       ConnectionOwner& owner)
    : context_(context),
      settings_(settings),
      stats_(std::move(stats)),
      owner_(owner),
      id_(context.next_connection_id++) {
  for (Side* side : {&downstream_, &upstream_}) {
    side->connection = this;
    uv_tcp_init(context_.loop, &side->tcp);
    side->tcp.data = side;
    side->shutdown_req.data = side;
  }
  downstream_.peer = &upstream_;
  upstream_.peer = &downstream_;
  uv_timer_init(context_.loop, &timer_);
  timer_.data = this;
  connect_req_.data = this;
  stats_->connectionOpened();
}

void Connection::start() {
  connect_started_ns_ = uv_hrtime();
  int rc = uv_tcp_connect(&connect_req_, &upstream_.tcp, settings_.upstream.sockaddrPtr(), onConnect);
  if (rc != 0) {
    spdlog::warn("conn {}: connect {}: {}", id_, settings_.upstream.toString(), uv_strerror(rc));
    stats_->upstreamConnectFailed();
    close(CloseReason::kConnectFailed);
    return;
  }
  uv_timer_start(&timer_, onConnectTimeout, settings_.connect_timeout_ms, 0);
}

void Connection::onConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<Connection*>(req->data);
  if (status == UV_ECANCELED || self->closing_) return;
  if (status != 0) {
    spdlog::warn("conn {}: connect {}: {}", self->id_, self->settings_.upstream.toString(), uv_strerror(status));
    self->stats_->upstreamConnectFailed();
    self->close(CloseReason::kConnectFailed);
    return;
  }
  self->connected();
}

void Connection::onConnectTimeout(uv_timer_t* timer) {
  auto* self = static_cast<Connection*>(timer->data);
  spdlog::warn("conn {}: connect {}: timed out after {} ms", self->id_, self->settings_.upstream.toString(),
               self->settings_.connect_timeout_ms);
  self->stats_->upstreamConnectFailed();
  self->close(CloseReason::kConnectFailed);
}

void Connection::connected() {
  stats_->upstreamConnected(static_cast<double>(uv_hrtime() - connect_started_ns_) / 1e9);
  closeTimer();
  for (Side* side : {&downstream_, &upstream_}) {
    uv_tcp_nodelay(&side->tcp, 1);
    uv_tcp_keepalive(&side->tcp, 1, kKeepAliveDelaySeconds);
  }
  spdlog::debug("conn {}: connected to {}", id_, settings_.upstream.toString());
  timeouts_.clock = ActivityClock(settings_.timeouts, context_.sweeper.nowMs());
  timeouts_.target = this;
  context_.sweeper.add(timeouts_);
  startReading(downstream_);
  startReading(upstream_);
}

void Connection::startReading(Side& side) {
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&side.tcp), onAlloc, onRead);
  if (rc != 0) {
    spdlog::warn("conn {}: read start: {}", id_, uv_strerror(rc));
    close(CloseReason::kError);
  }
}

void Connection::pauseReading(Side& side, PauseReason reason) {
  if (side.paused & reason) return;
  if (side.paused == 0) uv_read_stop(reinterpret_cast<uv_stream_t*>(&side.tcp));
  side.paused |= reason;
  if (reason == kPeerSlow) stats_->readingPaused();
}

void Connection::resumeReading(Side& side, PauseReason reason) {
  if ((side.paused & reason) == 0) return;
  side.paused &= static_cast<uint8_t>(~reason);
  if (side.paused == 0 && !side.eof && !closing_) startReading(side);
}

void Connection::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* side = static_cast<Side*>(handle->data);
  PooledBuffer* buffer = side->connection->context_.pool.acquire();
  *buf = uv_buf_init(buffer->data, PooledBuffer::kCapacity);
}

void Connection::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* side = static_cast<Side*>(stream->data);
  Connection* self = side->connection;
  PooledBuffer* buffer = buf->base ? PooledBuffer::fromData(buf->base) : nullptr;
  if (nread > 0) {
    self->forward(*side, *side->peer, buffer, static_cast<size_t>(nread));
    return;
  }
  if (buffer) self->context_.pool.release(buffer);
  if (nread == 0) return;  // EAGAIN: nothing to read after all
  if (nread == UV_EOF) {
    self->readEnded(*side);
    return;
  }
  spdlog::debug("conn {}: {} read: {}", self->id_, self->isDownstream(*side) ? "client" : "agent",
                uv_strerror(static_cast<int>(nread)));
  self->close(CloseReason::kError);
}

void Connection::forward(Side& from, Side& to, PooledBuffer* buffer, size_t length) {
  if (closing_) {
    context_.pool.release(buffer);
    return;
  }
  const uint64_t now = uv_hrtime();
  timeouts_.clock.bytesMoved(context_.sweeper.nowMs());
  if (isDownstream(from)) {
    bytes_up_ += length;
    stats_->bytesUpstream(length);
    if (turn_started_ns_ == 0) turn_started_ns_ = now;
  } else {
    bytes_down_ += length;
    stats_->bytesDownstream(length);
    if (turn_started_ns_ != 0) {
      stats_->turnCompleted(static_cast<double>(now - turn_started_ns_) / 1e9);
      turn_started_ns_ = 0;
    }
  }

  size_t offset = 0;
  if (to.queued == 0) {
    // Fast path: the socket usually takes everything at once, and the buffer is free again.
    uv_buf_t whole = uv_buf_init(buffer->data, static_cast<unsigned>(length));
    int written = uv_try_write(reinterpret_cast<uv_stream_t*>(&to.tcp), &whole, 1);
    if (written == static_cast<int>(length)) {
      context_.pool.release(buffer);
      return;
    }
    if (written < 0 && written != UV_EAGAIN) {
      spdlog::debug("conn {}: write: {}", id_, uv_strerror(written));
      context_.pool.release(buffer);
      close(CloseReason::kError);
      return;
    }
    if (written > 0) offset = static_cast<size_t>(written);
  }
  buffer->length = length - offset;
  if (!queueWrite(to, buffer, offset)) return;
  if (to.queued >= settings_.high_watermark) pauseReading(from, kPeerSlow);
  if (context_.budget.exhausted()) {
    pauseReading(from, kBudget);
    context_.budget.wait(this);
  }
}

// Hands the rest of `buffer` to libuv; false (and the connection closing) if it refuses.
bool Connection::queueWrite(Side& to, PooledBuffer* buffer, size_t offset) {
  buffer->write_req.data = &to;
  uv_buf_t rest = uv_buf_init(buffer->data + offset, static_cast<unsigned>(buffer->length));
  int rc = uv_write(&buffer->write_req, reinterpret_cast<uv_stream_t*>(&to.tcp), &rest, 1, onWrite);
  if (rc != 0) {
    spdlog::debug("conn {}: write: {}", id_, uv_strerror(rc));
    context_.pool.release(buffer);
    close(CloseReason::kError);
    return false;
  }
  to.queued += kQueuedBufferBytes;
  context_.budget.charge(kQueuedBufferBytes);
  return true;
}

void Connection::onWrite(uv_write_t* req, int status) {
  auto* to = static_cast<Side*>(req->data);
  Connection* self = to->connection;
  PooledBuffer* buffer = reinterpret_cast<PooledBuffer*>(reinterpret_cast<char*>(req) - offsetof(PooledBuffer, write_req));
  self->context_.pool.release(buffer);
  self->writeDone(*to);
  if (status == UV_ECANCELED || self->closing_) return;
  if (status != 0) {
    spdlog::debug("conn {}: write: {}", self->id_, uv_strerror(status));
    self->close(CloseReason::kError);
    return;
  }
  // A slow reader that still takes bytes is not idle.
  self->timeouts_.clock.bytesMoved(self->context_.sweeper.nowMs());
  if (to->queued <= self->settings_.low_watermark) self->resumeReading(*to->peer, kPeerSlow);
  // A connection whose queue is empty holds none of the budget: it may read again even while
  // stuck connections keep the budget exhausted, or those would starve it for good. It queues at
  // most one read before it pauses again.
  if (to->queued == 0) self->resumeReading(*to->peer, kBudget);
}

// Gives back what a queued buffer held; may wake connections that wait for the budget.
void Connection::writeDone(Side& to) {
  to.queued -= kQueuedBufferBytes;
  context_.budget.credit(kQueuedBufferBytes);
}

void Connection::readEnded(Side& side) {
  side.eof = true;
  timeouts_.clock.halfClosed(context_.sweeper.nowMs());
  Side& peer = *side.peer;
  if (peer.shutdown_sent) return;
  peer.shutdown_sent = true;
  // Queued after any pending writes, so every byte read before the FIN still reaches the peer.
  int rc = uv_shutdown(&peer.shutdown_req, reinterpret_cast<uv_stream_t*>(&peer.tcp), onShutdown);
  if (rc != 0) {
    spdlog::debug("conn {}: shutdown: {}", id_, uv_strerror(rc));
    close(CloseReason::kError);
  }
}

void Connection::onShutdown(uv_shutdown_t* req, int status) {
  auto* side = static_cast<Side*>(req->data);
  Connection* self = side->connection;
  if (status == UV_ECANCELED || self->closing_) return;
  if (status != 0) {
    self->close(CloseReason::kError);
    return;
  }
  side->shutdown_done = true;
  self->maybeFinish();
}

void Connection::maybeFinish() {
  if (downstream_.eof && upstream_.eof && downstream_.shutdown_done && upstream_.shutdown_done) {
    close(CloseReason::kDone);
  }
}

void Connection::onTimeout(Timeout which) {
  const bool fin = which == Timeout::kFin;
  spdlog::debug("conn {}: {} timeout after {} ms without a byte", id_, fin ? "half-close" : "idle",
                fin ? settings_.timeouts.fin_ms : settings_.timeouts.idle_ms);
  close(fin ? CloseReason::kFinTimeout : CloseReason::kIdleTimeout);
}

void Connection::onBudgetAvailable() {
  resumeReading(downstream_, kBudget);
  resumeReading(upstream_, kBudget);
}

void Connection::closeTimer() {
  if (timer_closed_) return;
  timer_closed_ = true;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), onHandleClosed);
}

void Connection::close(CloseReason reason) {
  if (closing_) return;
  closing_ = true;
  // Errors and aborts reset the other side too. So does the FIN timeout: the side still open has
  // had our FIN already, and only a reset tells a silent agent that the connection is gone (it
  // would sit in CLOSE_WAIT otherwise). A clean end, a failed connect and the idle timeout close.
  const bool reset = reason == CloseReason::kError || reason == CloseReason::kAborted ||
                     reason == CloseReason::kFinTimeout;
  spdlog::debug("conn {}: close ({}) up={} down={}", id_, closeReasonName(reason), bytes_up_, bytes_down_);
  stats_->connectionEnded(reason);
  context_.sweeper.remove(timeouts_);
  context_.budget.cancel(this);
  closeTimer();
  for (Side* side : {&downstream_, &upstream_}) {
    if (reset) {
      closeWithReset(&side->tcp, onHandleClosed);
    } else {
      uv_close(reinterpret_cast<uv_handle_t*>(&side->tcp), onHandleClosed);
    }
  }
}

void Connection::onHandleClosed(uv_handle_t* handle) {
  Connection* self = handle->type == UV_TIMER ? static_cast<Connection*>(handle->data)
                                              : static_cast<Side*>(handle->data)->connection;
  if (--self->open_handles_ > 0) return;
  self->stats_->connectionClosed();
  ConnectionOwner& owner = self->owner_;
  owner.onConnectionClosed(self);  // the owner deletes it
}

}  // namespace twinhub
