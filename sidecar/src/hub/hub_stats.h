// HubStats: what the hub data path reports (hub states, sessions, failovers, re-sent bytes,
// dropped frames), so hub code does not depend on the metrics library. Loop thread.
#pragma once

#include <cstddef>
#include <string>

#include "hub/hub_state.h"

namespace twinhub {

enum class SessionRole { kClient, kServer };

class HubStats {
 public:
  virtual ~HubStats() = default;
  virtual void hubState(const std::string& hub, HubState state) = 0;
  virtual void activeHub(const std::string& hub, bool active) = 0;
  virtual void failover(const std::string& from, const std::string& to) = 0;
  virtual void hubDetection(double seconds) = 0;  // hub lost: last sign of life to the decision
  virtual void sessionOpened(SessionRole role) = 0;
  virtual void sessionClosed(SessionRole role) = 0;
  virtual void sessionOpenFailed(const std::string& reason) = 0;
  virtual void sessionOpenLatency(double seconds) = 0;
  virtual void framesResent(size_t frames, size_t bytes) = 0;
  // reason: malformed, duplicate, out_of_order, unknown_session, late (for a session that ended),
  // bad_subject (a peer named a subject we must not publish to)
  virtual void frameDropped(const std::string& reason) = 0;
  // An OPEN this sidecar refused as a server. reason: capacity, fd_limit, not_serving
  virtual void openRefused(const std::string& reason) = 0;
  // A session ended by a timeout or the peer. reason: idle_timeout, fin_timeout, peer_timeout, peer_reset
  virtual void sessionClosedBy(const std::string& reason) = 0;
  // A hub connection cnats had closed for good (a server -ERR, a protocol error, given up) was made anew.
  virtual void hubConnectionRecreated(const std::string& hub) = 0;
};

class NullHubStats : public HubStats {
 public:
  void hubState(const std::string&, HubState) override {}
  void activeHub(const std::string&, bool) override {}
  void failover(const std::string&, const std::string&) override {}
  void hubDetection(double) override {}
  void sessionOpened(SessionRole) override {}
  void sessionClosed(SessionRole) override {}
  void sessionOpenFailed(const std::string&) override {}
  void sessionOpenLatency(double) override {}
  void framesResent(size_t, size_t) override {}
  void frameDropped(const std::string&) override {}
  void openRefused(const std::string&) override {}
  void sessionClosedBy(const std::string&) override {}
  void hubConnectionRecreated(const std::string&) override {}
};

}  // namespace twinhub
