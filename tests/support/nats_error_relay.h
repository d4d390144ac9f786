// Test support: a TCP relay between NATS clients and a real nats-server that can make the server
// side look as if the server sent an error and dropped the client: injectError() writes
// "-ERR '<text>'" to every client connection (between two server messages, never inside one) and
// closes it, as nats-server does on a protocol violation. New connections are relayed as before.
//
// 127.0.0.1 only, port 0. One thread per direction per connection; fine for a handful of clients.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace twinhub::test {

class NatsErrorRelay {
 public:
  explicit NatsErrorRelay(int upstream_port);
  ~NatsErrorRelay();
  NatsErrorRelay(const NatsErrorRelay&) = delete;
  NatsErrorRelay& operator=(const NatsErrorRelay&) = delete;

  std::string url() const;  // nats://127.0.0.1:PORT
  // Sends the error to every open client connection and drops them; returns how many.
  int injectError(const std::string& text);
  // Client connections accepted so far.
  int accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace twinhub::test
