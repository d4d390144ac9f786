// The link between the demo's two "machines" on 127.0.0.1: a TCP relay in front of central's
// leafnode port, which edge's leaf connection goes through. cut() stops forwarding bytes both ways
// while every socket stays open (neither hub sees a close, like a pulled cable) and holds new
// connections unanswered; restore() closes what it held, so that the hubs notice and reconnect,
// and forwards again. (Adapted from tests/support/tcp_relay, which the tests keep.)
//
// Runs on its own thread; the methods may be called from any one other thread.
#pragma once

#include <memory>
#include <string>

namespace twinhub::ctl::demo {

class LinkRelay {
 public:
  // Listens on 127.0.0.1:0 and forwards to `target` ("127.0.0.1:PORT"). port() is 0 on failure.
  explicit LinkRelay(std::string target);
  ~LinkRelay();
  LinkRelay(const LinkRelay&) = delete;
  LinkRelay& operator=(const LinkRelay&) = delete;

  int port() const;
  void cut();
  void restore();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace twinhub::ctl::demo
