// FrontStats: what a front and its connections report, so the proxy does not depend on the
// metrics library. The metrics module implements it; calls come from the loop thread.
#pragma once

#include <cstddef>
#include <cstdint>

namespace twinhub {

// Why a front turned a client away (the metric's reason label; keep the set small).
enum class RefusalReason { kMaxConnections, kFdLimit };
constexpr size_t kRefusalReasons = 2;
// Why a connection ended; the `reason` label of twinhub_front_connections_closed_total.
enum class CloseReason : uint8_t {
  kDone,           // both sides sent FIN and every byte was delivered
  kError,          // a reset or a read/write error on either side
  kConnectFailed,  // the agent refused, timed out or was unreachable
  kIdleTimeout,    // no byte either way for idle_timeout_ms
  kFinTimeout,     // half-closed and no byte for fin_timeout_ms
  kAborted,        // reset by the sidecar itself (drain timeout, forced exit)
};
inline constexpr size_t kCloseReasonCount = 6;

constexpr const char* closeReasonName(CloseReason reason) {
  switch (reason) {
    case CloseReason::kDone: return "done";
    case CloseReason::kError: return "error";
    case CloseReason::kConnectFailed: return "connect_failed";
    case CloseReason::kIdleTimeout: return "idle_timeout";
    case CloseReason::kFinTimeout: return "fin_timeout";
    case CloseReason::kAborted: return "aborted";
  }
  return "unknown";
}

class FrontStats {
 public:
  virtual ~FrontStats() = default;
  virtual void connectionOpened() = 0;
  virtual void connectionClosed() = 0;
  // Accepted and closed at once, without reaching the service.
  virtual void connectionRejected(RefusalReason reason) = 0;
  // The connection starts closing, and why; connectionClosed() follows once its handles are closed.
  virtual void connectionEnded(CloseReason reason) = 0;
  virtual void bytesUpstream(size_t bytes) = 0;    // client -> agent
  virtual void bytesDownstream(size_t bytes) = 0;  // agent -> client
  virtual void upstreamConnected(double seconds) = 0;
  virtual void upstreamConnectFailed() = 0;
  // A request's first byte to the first byte of its answer.
  virtual void turnCompleted(double seconds) = 0;
  virtual void readingPaused() = 0;
};

// Counts nothing; for tools and tests that run a front without metrics.
class NullFrontStats : public FrontStats {
 public:
  void connectionOpened() override {}
  void connectionClosed() override {}
  void connectionRejected(RefusalReason) override {}
  void connectionEnded(CloseReason) override {}
  void bytesUpstream(size_t) override {}
  void bytesDownstream(size_t) override {}
  void upstreamConnected(double) override {}
  void upstreamConnectFailed() override {}
  void turnCompleted(double) override {}
  void readingPaused() override {}
};

}  // namespace twinhub
