// SessionTable: a sidecar's open hub sessions by role and id, and the ones that ended lately.
//
// A sidecar may hold both ends of one session (it fronts the service it serves): client ends and
// server ends live in two tables. Sessions that ended are remembered for a while (like TCP's
// TIME_WAIT) with where they stood, so that a frame the peer re-sends late can still get the final
// acknowledgement, and anything new a reset.
//
// Client session ids are drawn here: 64 bits from the kernel's CSPRNG, never 0 nor one in use or
// remembered, so that a client on the hub can neither guess a live id nor predict the next one.
//
// It holds the sessions, it does not own them (their owners delete them). Loop thread only.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "hub/hub_stats.h"

namespace twinhub {

class Session;

class SessionTable {
 public:
  // Where a session stood when it ended.
  struct Ended {
    uint64_t recv_seq = 0;
    uint64_t written_seq = 0;
    uint64_t expires_ns = 0;
    std::string peer_subject;
  };

  explicit SessionTable(uint32_t time_wait_ms) : time_wait_ns_(uint64_t{time_wait_ms} * 1000000) {}

  uint64_t newClientId() const;
  void add(Session* session);
  Session* find(SessionRole role, uint64_t id) const;
  // `session` ended at `now_ns`: forget it, remember where it stood.
  void ended(const Session& session, uint64_t now_ns);
  const Ended* findEnded(SessionRole role, uint64_t id) const;
  // Forgets the ended sessions whose time is up.
  void expire(uint64_t now_ns);

  std::vector<Session*> open() const;
  size_t size() const { return clients_.size() + servers_.size(); }
  size_t servers() const { return servers_.size(); }

 private:
  using Sessions = std::unordered_map<uint64_t, Session*>;
  using EndedSessions = std::unordered_map<uint64_t, Ended>;
  Sessions& table(SessionRole role) { return role == SessionRole::kClient ? clients_ : servers_; }
  const Sessions& table(SessionRole role) const { return role == SessionRole::kClient ? clients_ : servers_; }
  EndedSessions& endedTable(SessionRole role) { return role == SessionRole::kClient ? ended_clients_ : ended_servers_; }
  const EndedSessions& endedTable(SessionRole role) const {
    return role == SessionRole::kClient ? ended_clients_ : ended_servers_;
  }

  const uint64_t time_wait_ns_;
  Sessions clients_;
  Sessions servers_;
  EndedSessions ended_clients_;
  EndedSessions ended_servers_;
};

}  // namespace twinhub
