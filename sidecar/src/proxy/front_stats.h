// FrontStats: what a front and its connections report, so the proxy does not depend on the
// metrics library. The metrics module implements it; calls come from the loop thread.
#pragma once

#include <cstddef>

namespace twinhub {

// Why a front turned a client away (the metric's reason label; keep the set small).
enum class RefusalReason { kMaxConnections, kFdLimit };
constexpr size_t kRefusalReasons = 2;

class FrontStats {
 public:
  virtual ~FrontStats() = default;
  virtual void connectionOpened() = 0;
  virtual void connectionClosed() = 0;
  // Accepted and closed at once, without reaching the service.
  virtual void connectionRejected(RefusalReason reason) = 0;
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
  void bytesUpstream(size_t) override {}
  void bytesDownstream(size_t) override {}
  void upstreamConnected(double) override {}
  void upstreamConnectFailed() override {}
  void turnCompleted(double) override {}
  void readingPaused() override {}
};

}  // namespace twinhub
