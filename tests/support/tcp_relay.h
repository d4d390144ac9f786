// Test support: a TCP relay on 127.0.0.1:0 that forwards every connection to a target, and can
// cut the link the way a dead network does: cut() stops forwarding bytes both ways while every
// socket stays open (neither end sees a close, like a pulled cable or a dropped veth), and new
// connections are held unanswered; restore() closes the held connections (so the ends notice and
// reconnect) and forwards again. Used to cut the leaf link between two hubs.
//
// Runs on its own thread; the methods may be called from the test thread.
#pragma once

#include <memory>
#include <string>

namespace twinhub::test {

class TcpRelay {
 public:
  explicit TcpRelay(std::string target);  // "127.0.0.1:PORT"
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

}  // namespace twinhub::test
