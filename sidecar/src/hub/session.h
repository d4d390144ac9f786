// Session: one TCP connection carried through the hubs between two sidecars. The client end owns
// the caller's socket (accepted by a front in hub mode); the server end owns a socket to the
// agent. Once open, both ends behave the same:
//
// - bytes read from the socket become numbered DATA frames; a FIN becomes a FIN frame;
// - every frame is kept until the peer reports it written to its socket (written_seq), and the
//   bytes kept are the window: when it is full, reading the socket stops (backpressure);
// - frames are re-sent above the peer's recv_seq when the active hub changes or when nothing was
//   acknowledged for a while; the receiver drops what it has seen, so nothing is lost, nothing is
//   delivered twice, and order holds;
// - a socket error or reset sends RST and resets the other end.
//
// Heap-allocated; its owner (a Front for client ends, the SessionRouter for server ends) deletes
// it from onConnectionClosed once its socket is closed. Loop thread only: frames from the hubs
// reach it on the loop, and only the loop writes its socket.
#pragma once

#include <uv.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>

#include "common/net_address.h"
#include "common/tuning_defaults.h"
#include "hub/hub_payload.h"
#include "hub/hub_stats.h"
#include "proxy/front_connection.h"
#include "proxy/proxy_context.h"
#include "wire/frame.h"

namespace twinhub {

class Session;

struct SessionSettings {
  uint32_t window_bytes = defaults::kWindowBytes;
  uint32_t open_timeout_ms = defaults::kOpenTimeoutMs;        // client: OPEN to OPEN_OK
  uint32_t connect_timeout_ms = defaults::kConnectTimeoutMs;  // server: connect to the agent
  uint32_t retransmit_ms = 1000;       // re-send when nothing was acknowledged for this long
  uint32_t keepalive_ms = 2000;        // send a PING when idle this long
  uint32_t peer_timeout_ms = 15000;    // reset when nothing was heard from the peer this long
  uint32_t ack_delay_ms = 2;           // acks wait this long for data to ride on
  // No DATA either way for this long: reset (keep-alive PINGs do not count). 0: never.
  uint32_t idle_timeout_ms = defaults::kIdleTimeoutMs;
  // One side sent FIN and nothing moved since for this long: reset (haproxy's client-fin). 0: never.
  uint32_t fin_timeout_ms = defaults::kFinTimeoutMs;
};

// What a session needs from the router that hosts it.
class SessionHost {
 public:
  // Publishes through the active hub; false when no hub is usable (the frame stays queued in the
  // session and goes out on the next hub change).
  virtual bool publish(const std::string& subject, const std::string& reply, std::string_view data) = 0;
  virtual bool hubAvailable() const = 0;
  // This sidecar's subject for frames to its sessions of `role`, and its inbox (for OPEN replies).
  virtual const std::string& framesSubject(SessionRole role) const = 0;
  // Whether a subject a peer sent may be published to (see wire::isPeerFramesSubject).
  virtual bool isPeerSubject(std::string_view subject) const = 0;
  virtual const std::string& inbox() const = 0;
  virtual std::string serviceOpenSubject(const std::string& service) const = 0;
  // The session wants an ACK sent soon unless data carries it first.
  virtual void ackDue(Session* session) = 0;
  // The session is over (its socket may still be closing): forget its id.
  virtual void sessionEnded(Session* session) = 0;
  virtual HubStats& hubStats() = 0;
  // A server end could not get a socket for the agent (EMFILE, ENFILE): counted and logged.
  virtual void outOfFds() = 0;

 protected:
  ~SessionHost() = default;
};

class Session : public FrontConnection {
 public:
  Session(ProxyContext& context, SessionHost& host, SessionRole role, uint64_t id, std::string service,
          const SessionSettings& settings, std::shared_ptr<FrontStats> stats, ConnectionOwner& owner);
  ~Session() override = default;
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // Client end: the caller's socket, then start() sends OPEN.
  uv_stream_t* clientStream() override { return reinterpret_cast<uv_stream_t*>(&socket_); }
  void start() override;
  void abort() override;
  uint64_t id() const override { return id_; }
  SessionRole role() const { return role_; }
  // Where the session stands, for answering late frames after it ended.
  uint64_t recvSeq() const { return recv_seq_; }
  uint64_t writtenSeq() const { return written_seq_; }
  const std::string& peerSubject() const { return peer_subject_; }
  const std::string& service() const { return service_; }

  // Client end: the answer to OPEN (OPEN_OK carries the server's frames subject), or the hub's
  // "no responders" when no server has joined the service's queue group.
  void onOpenReply(wire::FrameType type, std::string_view payload);
  void onNoResponders();
  // Server end: connect to the agent, then answer OPEN_OK or OPEN_FAIL to `peer_subject` (the
  // client's frames subject).
  void startServer(const NetAddress& agent, std::string peer_subject);
  // Server end: the client re-sent OPEN (after a hub change); answer again if open.
  void onDuplicateOpen();

  // A frame for this session. `message` holds the encoded frame (`frame` points into it); DATA
  // payloads go into socket writes without a copy.
  void onFrame(const wire::Frame& frame, HubPayload&& message);
  // The active hub changed: re-send what the peer has not received.
  void onHubChanged();
  // Periodic: OPEN and connect deadlines, retransmission, keepalive, peer timeout.
  void tick(uint64_t now_ns);
  // Sends the pending acknowledgement now (ack timer).
  void flushAck();
  bool ackQueued() const { return ack_queued_; }
  void setAckQueued(bool queued) { ack_queued_ = queued; }

 private:
  enum class Phase { kOpening, kConnecting, kOpen, kClosed };
  struct Outgoing {
    uint64_t seq;
    std::string frame;  // encoded; acks patched on re-send
    size_t payload;
  };
  struct SocketWrite;

  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onShutdown(uv_shutdown_t* req, int status);
  static void onAgentConnect(uv_connect_t* req, int status);
  static void onClosed(uv_handle_t* handle);

  void established();
  void startReading();
  void sendSequenced(wire::FrameType type, std::string_view payload);
  void sendControl(wire::FrameType type, std::string_view payload);
  void transmit(const std::string& frame);
  void resendUnacked();
  void handleAcks(uint64_t recv_seq, uint64_t written_seq);
  void deliver(const wire::Frame& frame, HubPayload&& message);
  void countDelivered(size_t length);
  // Writes `frame`'s payload, queueing what the socket does not take at once.
  void writeToSocket(const wire::Frame& frame, HubPayload&& message);
  void written(uint64_t seq);
  // A DATA or FIN frame went out or came in: the session is not idle; a FIN starts the fin timeout.
  void noteData(wire::FrameType type);
  void maybeFinish();
  void sendOpen();
  // Ends the session: RST to the peer when `send_rst`, and the socket closed with a reset when
  // `reset_socket`.
  void end(const std::string& why, bool send_rst, bool reset_socket);
  wire::FrameHeader header(wire::FrameType type, uint64_t seq) const;

  ProxyContext& context_;
  SessionHost& host_;
  const SessionRole role_;
  const uint64_t id_;
  const std::string service_;
  const SessionSettings settings_;
  std::shared_ptr<FrontStats> stats_;
  ConnectionOwner& owner_;

  Phase phase_ = Phase::kOpening;
  uv_tcp_t socket_;
  uv_connect_t connect_req_;
  uv_shutdown_t shutdown_req_;
  std::string peer_subject_;  // the peer's frames subject
  uint64_t started_ns_ = 0;
  uint64_t last_heard_ns_ = 0;
  uint64_t last_sent_ns_ = 0;
  uint64_t last_progress_ns_ = 0;  // last time the peer acknowledged something new
  uint64_t last_data_ns_ = 0;      // last DATA or FIN either way (the idle timeout)
  bool half_closed_ = false;       // a FIN went either way: idle from then on ends by the fin timeout
  uint64_t turn_started_ns_ = 0;

  // Sending.
  uint64_t next_seq_ = 1;
  std::deque<Outgoing> unacked_;
  size_t unacked_bytes_ = 0;
  uint64_t peer_recv_seq_ = 0;
  uint64_t peer_written_seq_ = 0;
  bool reading_ = false;
  bool paused_ = false;
  bool read_eof_ = false;
  uint64_t fin_seq_ = 0;  // our FIN's number once sent

  // Receiving.
  uint64_t recv_seq_ = 0;
  uint64_t written_seq_ = 0;
  uint64_t acked_written_seq_ = 0;  // the written_seq we last told the peer
  size_t written_since_ack_ = 0;      // frames written since the last ack we sent
  size_t socket_queued_ = 0;
  uint64_t peer_fin_seq_ = 0;
  bool shutdown_done_ = false;
  bool ack_queued_ = false;

  bool socket_closing_ = false;
  bool ended_ = false;
};

}  // namespace twinhub
