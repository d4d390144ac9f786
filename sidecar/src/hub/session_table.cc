#include "hub/session_table.h"

#include <iterator>

#include "hub/session.h"
#include "secure_random/secure_random.h"

namespace twinhub {

uint64_t SessionTable::newClientId() const {
  uint64_t id = 0;
  while (id == 0 || clients_.count(id) || ended_clients_.count(id)) id = secureRandom64();
  return id;
}

void SessionTable::add(Session* session) { table(session->role())[session->id()] = session; }

Session* SessionTable::find(SessionRole role, uint64_t id) const {
  const Sessions& sessions = table(role);
  auto it = sessions.find(id);
  return it == sessions.end() ? nullptr : it->second;
}

void SessionTable::ended(const Session& session, uint64_t now_ns) {
  table(session.role()).erase(session.id());
  endedTable(session.role())[session.id()] =
      Ended{session.recvSeq(), session.writtenSeq(), now_ns + time_wait_ns_, session.peerSubject()};
}

const SessionTable::Ended* SessionTable::findEnded(SessionRole role, uint64_t id) const {
  const EndedSessions& ended = endedTable(role);
  auto it = ended.find(id);
  return it == ended.end() ? nullptr : &it->second;
}

void SessionTable::expire(uint64_t now_ns) {
  for (EndedSessions* ended : {&ended_clients_, &ended_servers_}) {
    for (auto it = ended->begin(); it != ended->end();) {
      it = now_ns >= it->second.expires_ns ? ended->erase(it) : std::next(it);
    }
  }
}

std::vector<Session*> SessionTable::open() const {
  std::vector<Session*> open;
  open.reserve(size());
  for (const Sessions* sessions : {&clients_, &servers_}) {
    for (const auto& [id, session] : *sessions) open.push_back(session);
  }
  return open;
}

}  // namespace twinhub
