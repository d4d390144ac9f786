// ServeGate: whether this sidecar takes a new server session for the service it serves. It takes
// one only while it serves a service, its agent is healthy (setServing), and it is under its cap of
// server sessions (each costs a socket to the agent). It joins the service's queue group on every
// hub while serving and leaves it otherwise, so new sessions go to other replicas.
//
// Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "common/net_address.h"
#include "hub/hub_set.h"

namespace twinhub {

class ServeGate {
 public:
  // Why an OPEN is refused: `reason` labels twinhub_session_opens_refused_total, `why` goes to the
  // client in OPEN_FAIL.
  struct Refusal {
    const char* reason;
    const char* why;
  };

  // OPENs arrive with `tag` on the hubs (the queue subscription this gate makes).
  ServeGate(HubSet& hubs, std::string subject_prefix, uint32_t max_sessions, int tag)
      : hubs_(hubs), subject_prefix_(std::move(subject_prefix)), max_sessions_(max_sessions), tag_(tag) {}

  // Offers `agent` as `service`; nothing is served until setServing(true).
  void serve(const std::string& service, const NetAddress& agent);
  void setServing(bool serving);
  // No OPEN is taken from now on (the sidecar stops).
  void close() { closed_ = true; }

  bool serving() const { return serving_; }
  const std::optional<std::string>& service() const { return service_; }
  const NetAddress& agent() const { return agent_; }
  std::string openSubject(const std::string& service) const;
  // Whether an OPEN may be taken with `open_sessions` server sessions open.
  std::optional<Refusal> admit(size_t open_sessions) const;

 private:
  HubSet& hubs_;
  const std::string subject_prefix_;
  const uint32_t max_sessions_;
  const int tag_;
  std::optional<std::string> service_;
  NetAddress agent_;
  bool serving_ = false;
  bool closed_ = false;
};

}  // namespace twinhub
