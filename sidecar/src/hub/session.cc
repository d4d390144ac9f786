#include "hub/session.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/socket_util.h"
#include "wire/subjects.h"

namespace twinhub {

using wire::FrameType;

namespace {
constexpr uint64_t kNsPerMs = 1000000;
}

// A socket write that could not complete at once: it keeps the hub message that holds the bytes.
struct Session::SocketWrite {
  uv_write_t req;
  Session* session;
  HubPayload holder;
  uint64_t seq;
  size_t length;
};

Session::Session(ProxyContext& context, SessionHost& host, SessionRole role, uint64_t id, std::string service,
                 const SessionSettings& settings, std::shared_ptr<FrontStats> stats, ConnectionOwner& owner)
    : context_(context),
      host_(host),
      role_(role),
      id_(id),
      service_(std::move(service)),
      settings_(settings),
      stats_(std::move(stats)),
      owner_(owner) {
  uv_tcp_init(context_.loop, &socket_);
  socket_.data = this;
  connect_req_.data = this;
  shutdown_req_.data = this;
  started_ns_ = last_heard_ns_ = last_sent_ns_ = last_progress_ns_ = last_data_ns_ = uv_hrtime();
  stats_->connectionOpened();
}

wire::FrameHeader Session::header(FrameType type, uint64_t seq) const {
  wire::FrameHeader h;
  h.type = type;
  h.session = id_;
  h.seq = seq;
  h.recv_seq = recv_seq_;
  h.written_seq = written_seq_;
  return h;
}

// ---- opening -------------------------------------------------------------------------------

void Session::start() {
  started_ns_ = uv_hrtime();
  if (!host_.hubAvailable()) {
    host_.hubStats().sessionOpenFailed("no_hub");
    end("no hub is reachable", false, false);
    return;
  }
  sendOpen();
}

void Session::sendOpen() {
  last_sent_ns_ = uv_hrtime();
  host_.publish(host_.serviceOpenSubject(service_), wire::openReplySubject(host_.inbox(), id_),
                wire::encodeFrame(header(FrameType::kOpen, 0), host_.framesSubject(role_)));
}

void Session::onOpenReply(FrameType type, std::string_view payload) {
  if (ended_) return;
  if (type == FrameType::kOpenOk) {
    if (!host_.isPeerSubject(payload)) {
      host_.hubStats().frameDropped("bad_subject");  // never published to: it could cut us off a hub
      return;
    }
    if (phase_ != Phase::kOpening) {
      // A re-sent OPEN reached a second server: release it.
      if (payload != peer_subject_) {
        host_.publish(std::string(payload), host_.framesSubject(role_),
                      wire::encodeFrame(header(FrameType::kRst, 0), "duplicate open"));
      }
      return;
    }
    peer_subject_ = std::string(payload);
    host_.hubStats().sessionOpenLatency(static_cast<double>(uv_hrtime() - started_ns_) / 1e9);
    established();
  } else if (type == FrameType::kOpenFail && phase_ == Phase::kOpening) {
    host_.hubStats().sessionOpenFailed("refused");
    end("the server refused: " + std::string(payload), false, false);
  }
}

void Session::onNoResponders() {
  if (ended_ || phase_ != Phase::kOpening) return;
  host_.hubStats().sessionOpenFailed("no_server");
  end("no healthy server for " + service_, false, false);
}

void Session::startServer(const NetAddress& agent, std::string peer_subject) {
  phase_ = Phase::kConnecting;
  peer_subject_ = std::move(peer_subject);
  started_ns_ = uv_hrtime();
  int rc = uv_tcp_connect(&connect_req_, &socket_, agent.sockaddrPtr(), onAgentConnect);
  if (rc == UV_EMFILE || rc == UV_ENFILE) host_.outOfFds();
  if (rc != 0) {
    sendControl(FrameType::kOpenFail, uv_strerror(rc));
    end(std::string("connect to the agent: ") + uv_strerror(rc), false, false);
  }
}

void Session::onAgentConnect(uv_connect_t* req, int status) {
  auto* self = static_cast<Session*>(req->data);
  if (self->ended_) return;
  if (status != 0) {
    self->sendControl(FrameType::kOpenFail, uv_strerror(status));
    self->end(std::string("connect to the agent: ") + uv_strerror(status), false, false);
    return;
  }
  // OPEN_OK goes where the session's frames go, not to the OPEN's reply subject: the agent may
  // speak first, and the client must see OPEN_OK before that DATA (one subscription keeps order).
  self->sendControl(FrameType::kOpenOk, self->host_.framesSubject(self->role_));
  self->established();
}

void Session::onDuplicateOpen() {
  if (phase_ != Phase::kOpen || ended_) return;
  sendControl(FrameType::kOpenOk, host_.framesSubject(role_));
}

void Session::established() {
  phase_ = Phase::kOpen;
  last_heard_ns_ = last_progress_ns_ = last_sent_ns_ = last_data_ns_ = uv_hrtime();
  host_.hubStats().sessionOpened(role_);
  uv_tcp_nodelay(&socket_, 1);
  spdlog::debug("session {:016x}: open ({} end, {})", id_, role_ == SessionRole::kClient ? "client" : "server",
                service_);
  startReading();
}

// ---- socket to frames ----------------------------------------------------------------------

void Session::startReading() {
  if (reading_ || read_eof_ || ended_) return;
  int rc = uv_read_start(reinterpret_cast<uv_stream_t*>(&socket_), onAlloc, onRead);
  if (rc != 0) {
    end(std::string("read: ") + uv_strerror(rc), true, true);
    return;
  }
  reading_ = true;
}

void Session::onAlloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
  auto* self = static_cast<Session*>(handle->data);
  PooledBuffer* buffer = self->context_.pool.acquire();
  *buf = uv_buf_init(buffer->data, PooledBuffer::kCapacity);
}

void Session::onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
  auto* self = static_cast<Session*>(stream->data);
  PooledBuffer* buffer = buf->base ? PooledBuffer::fromData(buf->base) : nullptr;
  if (nread > 0 && !self->ended_) {
    const auto length = static_cast<size_t>(nread);
    if (self->role_ == SessionRole::kClient) {
      self->stats_->bytesUpstream(length);
      if (self->turn_started_ns_ == 0) self->turn_started_ns_ = uv_hrtime();
    }
    for (size_t at = 0; at < length; at += wire::kDataFramePayload) {
      const size_t part = std::min(wire::kDataFramePayload, length - at);
      self->sendSequenced(FrameType::kData, std::string_view(buffer->data + at, part));
    }
  }
  if (buffer) self->context_.pool.release(buffer);
  if (nread >= 0 || self->ended_) return;
  self->reading_ = false;
  if (nread == UV_EOF) {
    self->read_eof_ = true;
    self->sendSequenced(FrameType::kFin, {});
    self->maybeFinish();
    return;
  }
  self->end(std::string("read: ") + uv_strerror(static_cast<int>(nread)), true, true);
}

void Session::sendSequenced(FrameType type, std::string_view payload) {
  const uint64_t seq = next_seq_++;
  noteData(type);
  Outgoing out{seq, wire::encodeFrame(header(type, seq), payload), payload.size()};
  if (type == FrameType::kFin) fin_seq_ = seq;
  acked_written_seq_ = written_seq_;
  written_since_ack_ = 0;
  transmit(out.frame);
  unacked_bytes_ += out.payload;
  unacked_.push_back(std::move(out));
  if (unacked_bytes_ >= settings_.window_bytes && reading_) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&socket_));
    reading_ = false;
    paused_ = true;
    stats_->readingPaused();
  }
}

void Session::sendControl(FrameType type, std::string_view payload) {
  acked_written_seq_ = written_seq_;
  written_since_ack_ = 0;
  transmit(wire::encodeFrame(header(type, 0), payload));
}

void Session::transmit(const std::string& frame) {
  last_sent_ns_ = uv_hrtime();
  if (peer_subject_.empty()) return;
  // When no hub is usable the frame stays in unacked_ and goes out on the next hub change.
  host_.publish(peer_subject_, host_.framesSubject(role_), frame);
}

void Session::resendUnacked() {
  size_t frames = 0, bytes = 0;
  for (Outgoing& out : unacked_) {
    if (out.seq <= peer_recv_seq_) continue;
    wire::patchFrameAcks(out.frame, recv_seq_, written_seq_);
    transmit(out.frame);
    ++frames;
    bytes += out.payload;
  }
  acked_written_seq_ = written_seq_;
  last_progress_ns_ = uv_hrtime();
  if (frames) {
    host_.hubStats().framesResent(frames, bytes);
    spdlog::debug("session {:016x}: re-sent {} frame(s), {} bytes", id_, frames, bytes);
  }
}

// ---- frames to socket ----------------------------------------------------------------------

void Session::handleAcks(uint64_t recv_seq, uint64_t written_seq) {
  const uint64_t now = uv_hrtime();
  last_heard_ns_ = now;
  const uint64_t highest_sent = next_seq_ - 1;
  if (recv_seq > peer_recv_seq_) {
    peer_recv_seq_ = std::min(recv_seq, highest_sent);
    last_progress_ns_ = now;
  }
  if (written_seq > peer_written_seq_) {
    peer_written_seq_ = std::min(written_seq, highest_sent);
    while (!unacked_.empty() && unacked_.front().seq <= peer_written_seq_) {
      unacked_bytes_ -= unacked_.front().payload;
      unacked_.pop_front();
    }
    last_progress_ns_ = now;
    if (paused_ && unacked_bytes_ <= settings_.window_bytes / 2) {
      paused_ = false;
      startReading();
    }
  }
}

void Session::onFrame(const wire::Frame& frame, HubPayload&& message) {
  if (ended_ || phase_ != Phase::kOpen) return;
  handleAcks(frame.header.recv_seq, frame.header.written_seq);
  switch (frame.header.type) {
    case FrameType::kData:
    case FrameType::kFin:
      if (frame.header.seq <= recv_seq_) {
        host_.hubStats().frameDropped("duplicate");
        host_.ackDue(this);  // the sender is re-sending: tell it where we are
        return;
      }
      if (frame.header.seq > recv_seq_ + 1) {
        host_.hubStats().frameDropped("out_of_order");
        host_.ackDue(this);
        return;
      }
      recv_seq_ = frame.header.seq;
      noteData(frame.header.type);
      deliver(frame, std::move(message));
      break;
    case FrameType::kRst:
      host_.hubStats().sessionClosedBy("peer_reset");
      end("the peer reset: " + std::string(frame.payload), false, true);
      return;
    default:
      break;
  }
  maybeFinish();
}

void Session::deliver(const wire::Frame& frame, HubPayload&& message) {
  const uint64_t seq = frame.header.seq;
  if (frame.header.type == FrameType::kFin) {
    peer_fin_seq_ = seq;
    // Queued after the pending writes: every byte before the FIN reaches the socket first.
    int rc = uv_shutdown(&shutdown_req_, reinterpret_cast<uv_stream_t*>(&socket_), onShutdown);
    if (rc != 0) end(std::string("shutdown: ") + uv_strerror(rc), true, true);
    return;
  }
  countDelivered(frame.payload.size());
  writeToSocket(frame, std::move(message));
}

void Session::countDelivered(size_t length) {
  if (role_ != SessionRole::kClient) return;
  stats_->bytesDownstream(length);
  if (turn_started_ns_ != 0) {
    const uint64_t now = uv_hrtime();
    const uint64_t turn = now > turn_started_ns_ ? now - turn_started_ns_ : 0;
    stats_->turnCompleted(static_cast<double>(turn) / 1e9);
    turn_started_ns_ = 0;
  }
}

void Session::writeToSocket(const wire::Frame& frame, HubPayload&& message) {
  const uint64_t seq = frame.header.seq;
  const size_t length = frame.payload.size();
  const size_t offset = static_cast<size_t>(frame.payload.data() - message.view().data());
  size_t done = 0;
  if (socket_queued_ == 0 && length > 0) {
    uv_buf_t all = uv_buf_init(const_cast<char*>(frame.payload.data()), static_cast<unsigned>(length));
    int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&socket_), &all, 1);
    if (n < 0 && n != UV_EAGAIN) {
      end(std::string("write: ") + uv_strerror(n), true, true);
      return;
    }
    if (n > 0) done = static_cast<size_t>(n);
  }
  if (done == length) {
    written(seq);
    return;
  }
  auto* write = new SocketWrite{{}, this, std::move(message), seq, length - done};
  write->req.data = write;
  uv_buf_t rest = uv_buf_init(write->holder.data() + offset + done, static_cast<unsigned>(write->length));
  int rc = uv_write(&write->req, reinterpret_cast<uv_stream_t*>(&socket_), &rest, 1, onWrite);
  if (rc != 0) {
    delete write;
    end(std::string("write: ") + uv_strerror(rc), true, true);
    return;
  }
  socket_queued_ += write->length;
}

void Session::onWrite(uv_write_t* req, int status) {
  auto* write = static_cast<SocketWrite*>(req->data);
  Session* self = write->session;
  const uint64_t seq = write->seq;
  self->socket_queued_ -= write->length;
  delete write;
  if (status == UV_ECANCELED || self->ended_) return;
  if (status != 0) {
    self->end(std::string("write: ") + uv_strerror(status), true, true);
    return;
  }
  self->written(seq);
}

void Session::onShutdown(uv_shutdown_t* req, int status) {
  auto* self = static_cast<Session*>(req->data);
  if (status == UV_ECANCELED || self->ended_) return;
  if (status != 0) {
    self->end(std::string("shutdown: ") + uv_strerror(status), true, true);
    return;
  }
  self->shutdown_done_ = true;
  self->written(self->peer_fin_seq_);
}

void Session::written(uint64_t seq) {
  written_seq_ = std::max(written_seq_, seq);
  if (written_seq_ > acked_written_seq_) {  // else a frame we sent already told the peer
    ++written_since_ack_;
    const size_t urgent_frames = std::max<size_t>(1, settings_.window_bytes / 4 / wire::kDataFramePayload);
    if (written_since_ack_ >= urgent_frames) {
      flushAck();
    } else if (!ack_queued_) {
      host_.ackDue(this);
    }
  }
  maybeFinish();
}

void Session::flushAck() {
  if (ended_ || phase_ != Phase::kOpen) return;
  sendControl(FrameType::kAck, {});
}

// ---- lifetime ------------------------------------------------------------------------------

void Session::onHubChanged() {
  if (ended_) return;
  if (phase_ == Phase::kOpening) {
    sendOpen();
  } else if (phase_ == Phase::kOpen) {
    resendUnacked();
    flushAck();
  }
}

void Session::tick(uint64_t now) {
  if (ended_) return;
  const auto since = [now](uint64_t then) { return now > then ? (now - then) / kNsPerMs : 0; };
  switch (phase_) {
    case Phase::kOpening:
      if (since(started_ns_) >= settings_.open_timeout_ms) {
        host_.hubStats().sessionOpenFailed("timeout");
        end("no answer to OPEN", false, false);
      } else if (since(last_sent_ns_) >= settings_.open_timeout_ms / 3) {
        sendOpen();  // OPEN or its answer may have been lost with a hub; a second server is released
      }
      return;
    case Phase::kConnecting:
      if (since(started_ns_) >= settings_.connect_timeout_ms) {
        sendControl(FrameType::kOpenFail, "agent connect timed out");
        end("connect to the agent timed out", false, false);
      }
      return;
    case Phase::kOpen:
      if (since(last_heard_ns_) >= settings_.peer_timeout_ms) {
        host_.hubStats().sessionClosedBy("peer_timeout");
        end("nothing heard from the peer", true, true);
        return;
      }
      if (settings_.idle_timeout_ms != 0 && since(last_data_ns_) >= settings_.idle_timeout_ms) {
        host_.hubStats().sessionClosedBy("idle_timeout");
        end("idle timeout", true, true);
        return;
      }
      if (settings_.fin_timeout_ms != 0 && half_closed_ && since(last_data_ns_) >= settings_.fin_timeout_ms) {
        host_.hubStats().sessionClosedBy("fin_timeout");
        end("half-closed too long", true, true);
        return;
      }
      if (!unacked_.empty() && unacked_.back().seq > peer_recv_seq_ &&
          since(last_progress_ns_) >= settings_.retransmit_ms) {
        resendUnacked();
      }
      if (since(last_sent_ns_) >= settings_.keepalive_ms) sendControl(FrameType::kPing, {});
      return;
    case Phase::kClosed:
      return;
  }
}

void Session::noteData(FrameType type) {
  last_data_ns_ = uv_hrtime();
  if (type == FrameType::kFin) half_closed_ = true;
}

void Session::maybeFinish() {
  if (ended_ || phase_ != Phase::kOpen) return;
  const bool our_fin_done = fin_seq_ != 0 && peer_written_seq_ >= fin_seq_;
  const bool their_fin_done = peer_fin_seq_ != 0 && shutdown_done_;
  if (our_fin_done && their_fin_done) {
    flushAck();  // the peer learns that its FIN was written, and can finish too
    end("closed", false, false);
  }
}

void Session::abort() { end("aborted", true, true); }

void Session::end(const std::string& why, bool send_rst, bool reset_socket) {
  if (ended_) return;
  const bool was_open = phase_ == Phase::kOpen;
  if (send_rst && !peer_subject_.empty()) sendControl(FrameType::kRst, why);
  ended_ = true;
  phase_ = Phase::kClosed;
  if (was_open) host_.hubStats().sessionClosed(role_);
  spdlog::debug("session {:016x}: end: {}", id_, why);
  host_.sessionEnded(this);
  unacked_.clear();
  unacked_bytes_ = 0;
  if (reset_socket) {
    closeWithReset(&socket_, onClosed);
  } else {
    uv_close(reinterpret_cast<uv_handle_t*>(&socket_), onClosed);
  }
}

void Session::onClosed(uv_handle_t* handle) {
  auto* self = static_cast<Session*>(handle->data);
  self->stats_->connectionClosed();
  self->owner_.onConnectionClosed(self);  // the owner deletes it
}

}  // namespace twinhub
