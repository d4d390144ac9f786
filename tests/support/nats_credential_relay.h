// Test support, temporary: a relay between a NATS client and a real nats-server that adds a user
// and password to the client's CONNECT. It stands in for per-hub credentials in the sidecar's
// config (the sidecar config accepts only nats://host:port today; credentials from files are being
// added on another branch), so that a real sidecar can connect to a hub that requires users.
// Everything after CONNECT is relayed as is.
//
// 127.0.0.1 only, port 0. One thread per direction per connection; fine for a handful of clients.
#pragma once

#include <memory>
#include <string>

namespace twinhub::test {

class NatsCredentialRelay {
 public:
  NatsCredentialRelay(int upstream_port, std::string user, std::string password);
  ~NatsCredentialRelay();
  NatsCredentialRelay(const NatsCredentialRelay&) = delete;
  NatsCredentialRelay& operator=(const NatsCredentialRelay&) = delete;

  std::string url() const;  // nats://127.0.0.1:PORT, no credentials
  int accepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace twinhub::test
