// Test support: small TCP servers that run on their own thread, bound to 127.0.0.1 port 0.
// Construct, read address(), and they stop and join in the destructor.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

namespace twinhub::test {

// Echoes every byte back; on the client's EOF it finishes echoing, then shuts down its side.
// Serves many connections at once (poll-based).
class EchoServer {
 public:
  EchoServer();
  ~EchoServer();
  std::string address() const;  // "127.0.0.1:PORT"
  int connectionsAccepted() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// On each connection sends `bytes` bytes of fillPattern(seed) as fast as the peer takes them,
// then closes its sending side (FIN); it reads and counts (discarding) whatever the peer sends
// until the peer closes too. Used for slow-reader, bulk and half-close tests.
class SourceServer {
 public:
  SourceServer(uint64_t bytes, uint64_t seed);
  ~SourceServer();
  std::string address() const;
  // Totals over all connections so far; any thread.
  uint64_t bytesSent() const;
  uint64_t bytesReceived() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Accepts connections and never reads, answers or closes them: the stuck agent of issue 7.
// Counts the connections whose peer reset them; a FIN alone leaves a connection as it is.
class SilentServer {
 public:
  SilentServer();
  ~SilentServer();
  std::string address() const;
  int connectionsAccepted() const;
  int connectionsReset() const;  // any thread

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A port on 127.0.0.1 that nothing listens on (bound then closed), for "agent down" tests.
std::string unusedAddress();

// A TCP socket bound to 127.0.0.1 on a port the kernel picks, listening (with SO_REUSEADDR) when
// `backlog` > 0; `type_flags` are OR-ed into socket()'s type (SOCK_CLOEXEC always). Sets *port
// and returns the descriptor; throws std::runtime_error naming `who` and errno on failure.
int bindLoopback(int backlog, uint16_t* port, const char* who, int type_flags = 0);

}  // namespace twinhub::test
