#include "support/tcp_client.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <vector>

#include "common/net_address.h"

namespace twinhub::test {

namespace {

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left < 0 ? 0 : static_cast<int>(left);
}

// Waits for `events` on fd until the deadline; returns poll's revents, 0 on timeout.
short pollUntil(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int r = ::poll(&p, 1, remainingMs(deadline));
    if (r > 0) return p.revents;
    if (r == 0) return 0;
    if (errno != EINTR) return POLLERR;
  }
}

void setBlocking(int fd, bool blocking) {
  int flags = fcntl(fd, F_GETFL, 0);
  fcntl(fd, F_SETFL, blocking ? (flags & ~O_NONBLOCK) : (flags | O_NONBLOCK));
}

uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

}  // namespace

TcpClient::TcpClient(const std::string& address, std::chrono::milliseconds timeout) {
  std::string error;
  auto parsed = NetAddress::parse(address, &error);
  if (!parsed) return;
  int fd = ::socket(parsed->isV6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return;
  socklen_t len = parsed->isV6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  int r = ::connect(fd, parsed->sockaddrPtr(), len);
  if (r != 0 && errno != EINPROGRESS) {
    ::close(fd);
    return;
  }
  if (r != 0) {
    short revents = pollUntil(fd, POLLOUT, Clock::now() + timeout);
    int so_error = 0;
    socklen_t so_len = sizeof so_error;
    if (!(revents & (POLLOUT | POLLERR | POLLHUP)) || getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &so_len) != 0 ||
        so_error != 0) {
      ::close(fd);
      return;
    }
  }
  setBlocking(fd, true);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  // A send that cannot progress for this long means the test is broken; fail it instead of hanging.
  timeval send_timeout{30, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof send_timeout);
  fd_ = fd;
}

TcpClient::~TcpClient() {
  if (fd_ >= 0) ::close(fd_);
}

bool TcpClient::sendAll(const void* data, size_t len) {
  if (fd_ < 0) return false;
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::send(fd_, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return true;
}

size_t TcpClient::recvExact(void* data, size_t len, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return 0;
  auto deadline = Clock::now() + timeout;
  char* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < len) {
    short revents = pollUntil(fd_, POLLIN, deadline);
    if (revents == 0) break;
    ssize_t n = ::recv(fd_, p + got, len - got, MSG_DONTWAIT);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (n == 0) {
      break;
    } else if (errno != EINTR && errno != EAGAIN) {
      break;
    }
  }
  return got;
}

bool TcpClient::recvUntilEof(std::string* out, std::chrono::milliseconds timeout) {
  if (fd_ < 0) return false;
  auto deadline = Clock::now() + timeout;
  char buf[64 * 1024];
  while (true) {
    short revents = pollUntil(fd_, POLLIN, deadline);
    if (revents == 0) return false;
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n > 0) {
      out->append(buf, static_cast<size_t>(n));
    } else if (n == 0) {
      return true;
    } else if (errno != EINTR && errno != EAGAIN) {
      return false;
    }
  }
}

std::string TcpClient::waitClosed(std::chrono::milliseconds timeout) {
  if (fd_ < 0) return "eof";
  auto deadline = Clock::now() + timeout;
  char buf[64 * 1024];
  while (true) {
    short revents = pollUntil(fd_, POLLIN, deadline);
    if (revents == 0) return "timeout";
    ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
    if (n == 0) return "eof";
    if (n < 0 && errno != EINTR && errno != EAGAIN) return "reset";  // ECONNRESET, or any other error
  }
}

void TcpClient::shutdownWrite() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void TcpClient::resetClose() {
  if (fd_ < 0) return;
  linger lg{1, 0};
  setsockopt(fd_, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
  ::close(fd_);
  fd_ = -1;
}

void fillPattern(uint64_t seed, uint64_t offset, char* buf, size_t len) {
  const uint64_t key = splitmix64(seed);
  auto block = [key](uint64_t index) { return splitmix64(key ^ (index * 0xd6e8feb86659fd93ULL)); };
  uint64_t index = offset / 8;
  size_t skip = offset % 8;
  // A head that starts inside a block.
  if (skip != 0 && len > 0) {
    uint64_t v = block(index++);
    char bytes[8];
    std::memcpy(bytes, &v, 8);
    size_t n = std::min(len, 8 - skip);
    std::memcpy(buf, bytes + skip, n);
    buf += n;
    len -= n;
  }
  while (len >= 8) {
    uint64_t v = block(index++);
    std::memcpy(buf, &v, 8);
    buf += 8;
    len -= 8;
  }
  if (len > 0) {
    uint64_t v = block(index);
    std::memcpy(buf, &v, len);
  }
}

PatternCheck recvPattern(TcpClient& client, uint64_t seed, uint64_t offset, uint64_t len,
                         std::chrono::milliseconds block_timeout, std::atomic<uint64_t>* progress) {
  constexpr size_t kBlock = 1024 * 1024;
  std::vector<char> got(kBlock);
  std::vector<char> want(kBlock);
  PatternCheck check;
  while (check.received < len) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kBlock, len - check.received));
    size_t r = client.recvExact(got.data(), n, block_timeout);
    fillPattern(seed, offset + check.received, want.data(), r);
    if (std::memcmp(got.data(), want.data(), r) != 0) {
      size_t i = 0;
      while (got[i] == want[i]) ++i;
      check.matched = false;
      check.first_mismatch = offset + check.received + i;
      check.received += r;
      if (progress) progress->store(check.received);
      return check;
    }
    check.received += r;
    if (progress) progress->store(check.received);
    if (r < n) break;
  }
  return check;
}

PatternSender::PatternSender(TcpClient& client, uint64_t seed, uint64_t len, std::chrono::microseconds pause,
                             bool shutdown_write_after)
    : fd_(client.fd()) {
  thread_ = std::thread([this, &client, seed, len, pause, shutdown_write_after] {
    std::vector<char> chunk(256 * 1024);
    bool ok = true;
    for (uint64_t off = 0; ok && off < len; off += chunk.size()) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(chunk.size(), len - off));
      fillPattern(seed, off, chunk.data(), n);
      ok = client.sendAll(chunk.data(), n);
      if (ok) sent_.fetch_add(n);
      if (ok && pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    if (ok && shutdown_write_after) client.shutdownWrite();
    ok_ = ok;
  });
}

PatternSender::~PatternSender() {
  if (thread_.joinable()) {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
  }
}

bool PatternSender::wait() {
  if (thread_.joinable()) thread_.join();
  return ok_;
}

PatternReceiver::PatternReceiver(TcpClient& client, uint64_t seed, uint64_t len, std::chrono::milliseconds block_timeout)
    : fd_(client.fd()) {
  thread_ = std::thread([this, &client, seed, len, block_timeout] {
    result_ = recvPattern(client, seed, 0, len, block_timeout, &progress_);
  });
}

PatternReceiver::~PatternReceiver() {
  if (thread_.joinable()) {
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
  }
}

PatternCheck PatternReceiver::wait() {
  if (thread_.joinable()) thread_.join();
  return result_;
}

std::string httpGet(const std::string& address, const std::string& path, std::chrono::milliseconds timeout) {
  TcpClient client(address, timeout);
  if (!client.isConnected()) return "";
  if (!client.sendAll("GET " + path + " HTTP/1.0\r\nHost: " + address + "\r\nConnection: close\r\n\r\n")) return "";
  std::string response;
  if (!client.recvUntilEof(&response, timeout)) return "";
  if (response.compare(0, 12, "HTTP/1.1 200") != 0 && response.compare(0, 12, "HTTP/1.0 200") != 0) return "";
  size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

int httpStatus(const std::string& address, const std::string& path, std::string* body,
               std::chrono::milliseconds timeout) {
  return httpStatusWithHeaders(address, path, "", body, timeout);
}

int httpStatusWithHeaders(const std::string& address, const std::string& path, const std::string& headers,
                          std::string* body, std::chrono::milliseconds timeout) {
  TcpClient client(address, timeout);
  if (!client.isConnected()) return 0;
  if (!client.sendAll("GET " + path + " HTTP/1.0\r\nHost: " + address + "\r\n" + headers + "Connection: close\r\n\r\n")) return 0;
  std::string response;
  if (!client.recvUntilEof(&response, timeout)) return 0;
  if (response.compare(0, 5, "HTTP/") != 0) return 0;
  size_t space = response.find(' ');
  if (space == std::string::npos) return 0;
  size_t end = response.find("\r\n\r\n");
  if (body != nullptr) *body = end == std::string::npos ? "" : response.substr(end + 4);
  return std::atoi(response.c_str() + space + 1);
}

double metricValue(const std::string& exposition, const std::string& name, const std::string& labels) {
  std::istringstream in(exposition);
  std::string line;
  double sum = 0;
  bool found = false;
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#') continue;
    if (line.compare(0, name.size(), name) != 0 || line.size() <= name.size()) continue;
    char next = line[name.size()];
    if (next != '{' && next != ' ') continue;
    size_t value_at = line.rfind(' ');
    if (value_at == std::string::npos) continue;
    if (!labels.empty()) {
      std::string label_text = next == '{' ? line.substr(name.size(), value_at - name.size()) : "";
      bool all = true;
      std::istringstream wanted(labels);
      std::string pair;
      while (std::getline(wanted, pair, ',')) {
        all = all && label_text.find(pair) != std::string::npos;
      }
      if (!all) continue;
    }
    sum += std::strtod(line.c_str() + value_at + 1, nullptr);
    found = true;
  }
  return found ? sum : -1;
}

bool echoes(TcpClient& client, const std::string& message, std::chrono::milliseconds timeout) {
  if (!client.isConnected() || !client.sendAll(message)) return false;
  std::string back(message.size(), '\0');
  return client.recvExact(back.data(), back.size(), timeout) == back.size() && back == message;
}

}  // namespace twinhub::test
