// FrontConnection: what a Front holds for each accepted client, whatever carries its bytes: a
// direct Connection to the agent, or a hub session. ConnectionFactory makes them, so a front can
// switch paths at run time (mode flip): new connections take the new path, open ones keep theirs.
// Loop thread only.
#pragma once

#include <uv.h>

#include <memory>

#include "proxy/front_stats.h"

namespace twinhub {

class FrontConnection;

class ConnectionOwner {
 public:
  // The connection's last handle is closed; the owner deletes it now.
  virtual void onConnectionClosed(FrontConnection* connection) = 0;

 protected:
  ~ConnectionOwner() = default;
};

class FrontConnection {
 public:
  virtual ~FrontConnection() = default;
  // The socket to uv_accept() the client into, before start().
  virtual uv_stream_t* clientStream() = 0;
  virtual void start() = 0;
  // Resets the connection now (drain timeout, forced exit).
  virtual void abort() = 0;
  virtual uint64_t id() const = 0;
};

struct FrontSettings;

class ConnectionFactory {
 public:
  virtual ~ConnectionFactory() = default;
  virtual FrontConnection* create(const FrontSettings& settings, std::shared_ptr<FrontStats> stats,
                                  ConnectionOwner& owner) = 0;
};

}  // namespace twinhub
