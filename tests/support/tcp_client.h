// Test support: blocking TCP sockets for driving proxies from tests. Test thread only.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

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

// The result of comparing received bytes with the pattern.
struct PatternCheck {
  uint64_t received = 0;        // bytes read
  bool matched = true;          // every byte read so far equals the pattern
  uint64_t first_mismatch = 0;  // stream offset of the first differing byte when !matched
};
// Reads `len` bytes and compares them with fillPattern(seed) from stream offset `offset`. Stops
// at the first difference, at EOF or an error, or when a 1 MiB block takes longer than
// `block_timeout`. `progress` (optional) follows the bytes read, for other threads to watch.
PatternCheck recvPattern(TcpClient& client, uint64_t seed, uint64_t offset, uint64_t len,
                         std::chrono::milliseconds block_timeout, std::atomic<uint64_t>* progress = nullptr);

// Sends `len` bytes of fillPattern(seed) on its own thread, in 256 KiB chunks with `pause`
// between chunks (to keep a transfer in flight), then optionally shuts down the write side.
// The destructor unblocks (shutdown of the socket) and joins a sender still running.
class PatternSender {
 public:
  PatternSender(TcpClient& client, uint64_t seed, uint64_t len, std::chrono::microseconds pause = {},
                bool shutdown_write_after = false);
  ~PatternSender();
  PatternSender(const PatternSender&) = delete;
  PatternSender& operator=(const PatternSender&) = delete;
  uint64_t sent() const { return sent_.load(); }
  // Waits for the sender to finish; true when every byte went out.
  bool wait();

 private:
  int fd_;
  std::atomic<uint64_t> sent_{0};
  bool ok_ = false;
  std::thread thread_;
};

// recvPattern on its own thread; progress() is readable meanwhile. The destructor unblocks
// (shutdown of the socket) and joins a receiver still running.
class PatternReceiver {
 public:
  PatternReceiver(TcpClient& client, uint64_t seed, uint64_t len, std::chrono::milliseconds block_timeout);
  ~PatternReceiver();
  PatternReceiver(const PatternReceiver&) = delete;
  PatternReceiver& operator=(const PatternReceiver&) = delete;
  uint64_t progress() const { return progress_.load(); }
  PatternCheck wait();

 private:
  int fd_;
  std::atomic<uint64_t> progress_{0};
  PatternCheck result_;
  std::thread thread_;
};

// Sends `message` and reads the same number of bytes back: true when they are the same (an
// echo agent reached through a sidecar).
bool echoes(TcpClient& client, const std::string& message,
            std::chrono::milliseconds timeout = std::chrono::milliseconds(3000));

// A blocking HTTP/1.0 GET of http://address/path; returns the body of a 200 answer, "" otherwise.
std::string httpGet(const std::string& address, const std::string& path,
                    std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
// A blocking HTTP/1.0 GET; the status code (0 when unreachable or malformed) and the body in `body`.
int httpStatus(const std::string& address, const std::string& path, std::string* body = nullptr,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
// The same with extra request header lines (each ending in "\r\n"), e.g. an Authorization.
int httpStatusWithHeaders(const std::string& address, const std::string& path, const std::string& headers,
                          std::string* body = nullptr, std::chrono::milliseconds timeout = std::chrono::milliseconds(2000));
// In Prometheus text exposition, the sum of the samples of metric `name` whose labels contain every
// `key="value"` pair of `labels` (comma-separated, e.g. R"(direction="upstream")"); -1 when no
// sample matches.
double metricValue(const std::string& exposition, const std::string& name, const std::string& labels = "");

}  // namespace twinhub::test
