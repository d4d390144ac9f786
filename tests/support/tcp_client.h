// Test support: blocking TCP sockets for driving proxies from tests. Test thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace twinhub::test {

// A connected blocking socket. The destructor closes it.
class TcpClient {
 public:
  // Connects to "host:port" ("[::1]:port" for IPv6); isConnected() tells whether it worked.
  explicit TcpClient(const std::string& address, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
  ~TcpClient();
  TcpClient(const TcpClient&) = delete;
  TcpClient& operator=(const TcpClient&) = delete;

  bool isConnected() const { return fd_ >= 0; }
  int fd() const { return fd_; }
  bool sendAll(const void* data, size_t len);
  bool sendAll(const std::string& data) { return sendAll(data.data(), data.size()); }
  // Reads exactly len bytes unless EOF, an error or the timeout comes first; returns bytes read.
  size_t recvExact(void* data, size_t len, std::chrono::milliseconds timeout);
  // Reads until EOF (or error/timeout); appends to *out. Returns true on a clean EOF.
  bool recvUntilEof(std::string* out, std::chrono::milliseconds timeout);
  // Waits for the peer to close: returns "eof", "reset", or "timeout".
  std::string waitClosed(std::chrono::milliseconds timeout);
  void shutdownWrite();
  // Closes with SO_LINGER 0 so the peer sees a reset.
  void resetClose();

 private:
  int fd_ = -1;
};

// Deterministic byte stream for byte-exact checks: fills buf with the stream's bytes starting
// at `offset` (the same seed and offset give the same bytes).
void fillPattern(uint64_t seed, uint64_t offset, char* buf, size_t len);

// A blocking HTTP/1.0 GET of http://address/path; returns the body of a 200 answer, "" otherwise.
std::string httpGet(const std::string& address, const std::string& path,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
// In Prometheus text exposition, the sum of the samples of metric `name` whose labels contain every
// `key="value"` pair of `labels` (comma-separated, e.g. R"(direction="upstream")"); -1 when no
// sample matches.
double metricValue(const std::string& exposition, const std::string& name, const std::string& labels = "");

}  // namespace twinhub::test
