// Connection: one proxied TCP connection in direct mode, the accepted client socket
// ("downstream") joined to a socket to the agent ("upstream"). Bytes flow both ways with
// backpressure: when more than the high watermark is queued toward one side, reading from the
// other side stops until the queue falls to the low watermark. A FIN on one side is passed on as
// a shutdown of the other (half-close); a reset or error on either side resets both.
//
// The watermarks count what the queue holds in memory: a queued read keeps its whole 64 KiB
// buffer however few bytes it carries, so a peer that trickles small writes toward a stuck side
// is paused after as many buffers as a bulk sender. Queued bytes are charged to the context's
// BufferBudget too; over it, the connection stops reading until the budget has room. The
// context's TimeoutSweeper closes the connection after idle_ms without a byte either way, or
// fin_ms after a FIN without a byte.
//
// Heap-allocated, owned by its Front, never copied or moved; it tells the owner when its last
// handle has closed and may then be deleted. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>

#include "common/net_address.h"
#include "common/tuning_defaults.h"
#include "proxy/buffer_budget.h"
#include "proxy/front_connection.h"
#include "proxy/front_stats.h"
#include "proxy/proxy_context.h"
#include "proxy/timeout_sweeper.h"

namespace twinhub {

struct ConnectionSettings {
  NetAddress upstream;
  uint32_t connect_timeout_ms = defaults::kConnectTimeoutMs;
  uint32_t high_watermark = 128 * 1024;  // the app sets these from ProxyConfig, which says why
  uint32_t low_watermark = 32 * 1024;
  TimeoutSettings timeouts;
};

class Connection : public FrontConnection, private TimeoutTarget, private BudgetWaiter {
 public:
  Connection(ProxyContext& context, const ConnectionSettings& settings, std::shared_ptr<FrontStats> stats,
             ConnectionOwner& owner);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  // Only the owner deletes a connection, from onConnectionClosed().
  ~Connection() override = default;

  uv_stream_t* clientStream() override { return reinterpret_cast<uv_stream_t*>(&downstream_.tcp); }
  // Connects to the agent; client bytes are read only once that succeeds.
  void start() override;
  void abort() override { close(CloseReason::kAborted); }
  uint64_t id() const override { return id_; }

  // Memory one queued read holds: what the watermarks and the budget count.
  static constexpr size_t kQueuedBufferBytes = sizeof(PooledBuffer);

 private:
  // Why reading a side is paused; it resumes when no reason is left.
  enum PauseReason : uint8_t { kPeerSlow = 1, kBudget = 2 };

  struct Side {
    Connection* connection = nullptr;
    Side* peer = nullptr;
    uv_tcp_t tcp;
    uv_shutdown_t shutdown_req;
    size_t queued = 0;  // memory of the buffers handed to libuv for this socket, not yet written
    uint8_t paused = 0;  // PauseReason bits
    bool eof = false;  // the peer of this socket sent FIN
    bool shutdown_sent = false;
    bool shutdown_done = false;
  };

  static void onAlloc(uv_handle_t* handle, size_t suggested, uv_buf_t* buf);
  static void onRead(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf);
  static void onWrite(uv_write_t* req, int status);
  static void onShutdown(uv_shutdown_t* req, int status);
  static void onConnect(uv_connect_t* req, int status);
  static void onConnectTimeout(uv_timer_t* timer);
  static void onHandleClosed(uv_handle_t* handle);

  void connected();
  void startReading(Side& side);
  void pauseReading(Side& side, PauseReason reason);
  void resumeReading(Side& side, PauseReason reason);
  void forward(Side& from, Side& to, PooledBuffer* buffer, size_t length);
  bool queueWrite(Side& to, PooledBuffer* buffer, size_t offset);
  void writeDone(Side& to);
  void readEnded(Side& side);
  void maybeFinish();
  void onTimeout(Timeout which) override;
  void onBudgetAvailable() override;
  void close(CloseReason reason);
  void closeTimer();
  bool isDownstream(const Side& side) const { return &side == &downstream_; }

  ProxyContext& context_;
  ConnectionSettings settings_;
  std::shared_ptr<FrontStats> stats_;
  ConnectionOwner& owner_;
  const uint64_t id_;
  Side downstream_;
  Side upstream_;
  uv_timer_t timer_;
  uv_connect_t connect_req_;
  TimeoutEntry timeouts_;
  uint64_t connect_started_ns_ = 0;
  uint64_t turn_started_ns_ = 0;  // 0 when no request waits for its answer
  uint64_t bytes_up_ = 0;
  uint64_t bytes_down_ = 0;
  int open_handles_ = 3;
  bool timer_closed_ = false;
  bool closing_ = false;
};

}  // namespace twinhub
