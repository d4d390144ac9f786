// A TCP relay on 127.0.0.1:0 that forwards every connection to a target and can cut the link the
// way a dead network does: cut() stops forwarding bytes both ways while every socket stays open
// (neither end sees a close, like a pulled cable or a dropped veth) and holds new connections
// unanswered; restore() closes what it held (so that the ends notice and reconnect) and forwards
// again. The demo puts one in front of central's leafnode port to cut the link between its two
// "machines"; the tests use it the same way.
//
// Runs on its own thread; the methods may be called from any one other thread.
#pragma once

#include <memory>
#include <string>

namespace twinhub::net {

class TcpRelay {
 public:
  // Listens on 127.0.0.1:0 and forwards to `target` ("127.0.0.1:PORT"). port() is 0 on failure.
  explicit TcpRelay(std::string target);
  ~TcpRelay();
  TcpRelay(const TcpRelay&) = delete;
  TcpRelay& operator=(const TcpRelay&) = delete;

  int port() const;
  void cut();
  void restore();
  int connectionsAccepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace twinhub::net
