#include "health/probe.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string_view>
#include <system_error>
#include <zmq.hpp>

namespace twinhub {

namespace {

using Clock = std::chrono::steady_clock;

// An agent that streams a long line without a newline is not answering HTTP.
constexpr size_t kMaxStatusLine = 1024;
// How much of what a peer sent is quoted in a detail.
constexpr size_t kMaxQuoted = 64;
constexpr std::string_view kZmqHealthRequest = R"({"action":"health_check"})";
// Health replies are a few hundred bytes; a larger one drops the connection instead of the memory.
constexpr int64_t kMaxZmqReply = 1 << 20;

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() {
    int fd = fd_;
    fd_ = -1;
    return fd;
  }

 private:
  int fd_;
};

std::string errnoText(int err) {
  std::string text = std::error_code(err, std::generic_category()).message();
  if (!text.empty() && text[0] >= 'A' && text[0] <= 'Z') text[0] = static_cast<char>(text[0] - 'A' + 'a');
  return text;
}

std::string msText(std::chrono::milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

// Rounded up, so a poll never spins on 0 while time is left.
int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
  if (left <= 0) return 0;
  return left > 0x7fffffff ? 0x7fffffff : static_cast<int>(left);
}

// What a peer sent, safe to put in a log line: printable ASCII kept, the rest escaped, truncated.
std::string printable(std::string_view bytes) {
  std::string out;
  for (size_t i = 0; i < bytes.size() && i < kMaxQuoted; ++i) {
    unsigned char c = static_cast<unsigned char>(bytes[i]);
    if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'') {
      out += static_cast<char>(c);
    } else {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    }
  }
  if (bytes.size() > kMaxQuoted) out += "...";
  return out;
}

std::string inQuotes(std::string_view bytes) { return "'" + printable(bytes) + "'"; }

// Returns the poll revents, 0 when the deadline passes first, -1 on a poll error (errno set).
int pollUntil(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    int rc = ::poll(&p, 1, remainingMs(deadline));
    if (rc < 0 && errno == EINTR) continue;
    if (rc < 0) return -1;
    if (rc == 0) return 0;
    return p.revents;
  }
}

// A connected non-blocking socket, or -1 with *why filled.
int connectBy(const NetAddress& address, Clock::time_point deadline, std::chrono::milliseconds timeout,
              std::string* why) {
  int fd = ::socket(address.isV6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    *why = "socket: " + errnoText(errno);
    return -1;
  }
  Fd guard(fd);
  socklen_t len = address.isV6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  if (::connect(fd, address.sockaddrPtr(), len) != 0) {
    // EINTR on a non-blocking connect: it carries on in the background, as with EINPROGRESS.
    if (errno != EINPROGRESS && errno != EINTR) {
      *why = "connect: " + errnoText(errno);
      return -1;
    }
    int revents = pollUntil(fd, POLLOUT, deadline);
    if (revents < 0) {
      *why = "poll: " + errnoText(errno);
      return -1;
    }
    if (revents == 0) {
      *why = "no connection within " + msText(timeout);
      return -1;
    }
    int err = 0;
    socklen_t err_len = sizeof err;
    if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len) != 0) err = errno;
    if (err != 0) {
      *why = "connect: " + errnoText(err);
      return -1;
    }
  }
  return guard.release();
}

// Writes all of `data` before the deadline; false with *why filled otherwise.
bool sendAll(int fd, std::string_view data, Clock::time_point deadline, std::chrono::milliseconds timeout,
             std::string* why) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n > 0) {
      sent += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      int revents = pollUntil(fd, POLLOUT, deadline);
      if (revents < 0) {
        *why = "poll: " + errnoText(errno);
        return false;
      }
      if (revents == 0) {
        *why = "request not sent within " + msText(timeout);
        return false;
      }
      continue;
    }
    *why = "send: " + errnoText(n < 0 ? errno : EPIPE);
    return false;
  }
  return true;
}

// Parses "HTTP/1.1 200 OK". The reason phrase is optional, as RFC 9112 allows.
bool parseStatusLine(std::string_view line, int* code, std::string_view* reason) {
  constexpr std::string_view kPrefix = "HTTP/";
  if (line.substr(0, kPrefix.size()) != kPrefix) return false;
  size_t pos = kPrefix.size();
  auto isDigit = [](char c) { return c >= '0' && c <= '9'; };
  auto digits = [&] {
    size_t start = pos;
    while (pos < line.size() && isDigit(line[pos])) ++pos;
    return pos - start;
  };
  if (digits() == 0) return false;
  if (pos < line.size() && line[pos] == '.') {
    ++pos;
    if (digits() == 0) return false;
  }
  if (pos >= line.size() || line[pos] != ' ') return false;
  while (pos < line.size() && line[pos] == ' ') ++pos;
  size_t code_start = pos;
  if (digits() != 3) return false;
  if (pos < line.size() && line[pos] != ' ') return false;
  *code = (line[code_start] - '0') * 100 + (line[code_start + 1] - '0') * 10 + (line[code_start + 2] - '0');
  *reason = pos < line.size() ? line.substr(pos + 1) : std::string_view();
  return true;
}

bool validHttpPath(const std::string& path) {
  if (path.empty() || path[0] != '/') return false;
  for (unsigned char c : path) {
    if (c <= 0x20 || c >= 0x7f) return false;
  }
  return true;
}

}  // namespace

ProbeResult probeTcp(const NetAddress& address, std::chrono::milliseconds timeout) {
  std::string where = "tcp " + address.toString() + ": ";
  std::string why;
  int fd = connectBy(address, Clock::now() + timeout, timeout, &why);
  if (fd < 0) return {false, where + why};
  ::close(fd);
  return {true, where + "connected"};
}

ProbeResult probeHttp(const NetAddress& address, const std::string& path, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  // The path comes from config, but a detail ends up in logs and heartbeats: escape it.
  std::string where = "http " + address.toString() + printable(path) + ": ";
  if (!validHttpPath(path)) return {false, where + "path must start with '/' and hold no spaces or control bytes"};

  std::string why;
  int raw_fd = connectBy(address, deadline, timeout, &why);
  if (raw_fd < 0) return {false, where + why};
  Fd fd(raw_fd);

  std::string request = "GET " + path + " HTTP/1.0\r\nHost: " + address.toString() +
                        "\r\nUser-Agent: twinhub-sidecar\r\nConnection: close\r\n\r\n";
  if (!sendAll(fd.get(), request, deadline, timeout, &why)) return {false, where + why};

  // Only the status line matters; read until its end, the peer's EOF, or the deadline.
  std::string received;
  bool eof = false;
  while (received.find('\n') == std::string::npos && received.size() < kMaxStatusLine) {
    char chunk[512];
    ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n > 0) {
      received.append(chunk, static_cast<size_t>(n));
      continue;
    }
    if (n == 0) {
      eof = true;
      break;
    }
    if (errno == EINTR) continue;
    if (errno != EAGAIN && errno != EWOULDBLOCK) {
      std::string got = received.empty() ? "" : " after " + inQuotes(received);
      return {false, where + "recv: " + errnoText(errno) + got};
    }
    int revents = pollUntil(fd.get(), POLLIN, deadline);
    if (revents < 0) return {false, where + "poll: " + errnoText(errno)};
    if (revents == 0) {
      std::string got = received.empty() ? "" : " (got " + inQuotes(received) + ")";
      return {false, where + "no status line within " + msText(timeout) + got};
    }
  }

  size_t newline = received.find('\n');
  if (newline == std::string::npos && !eof) {
    return {false, where + "status line longer than " + std::to_string(kMaxStatusLine) + " bytes"};
  }
  if (received.empty()) return {false, where + "connection closed before a status line"};
  std::string_view line(received);
  if (newline != std::string::npos) line = line.substr(0, newline);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);

  int code = 0;
  std::string_view reason;
  if (!parseStatusLine(line, &code, &reason)) return {false, where + "not an HTTP status line: " + inQuotes(line)};
  std::string status = std::to_string(code);
  if (!reason.empty()) status += " " + printable(reason);
  if (code < 200 || code > 299) return {false, where + "status " + status};
  return {true, where + status};
}

ProbeResult probeZmq(const NetAddress& address, std::chrono::milliseconds timeout, zmq::context_t& context) {
  auto deadline = Clock::now() + timeout;
  std::string endpoint = "tcp://" + address.toString();
  std::string where = "zmq " + endpoint + ": ";
  std::string body;
  try {
    zmq::socket_t socket(context, zmq::socket_type::req);
    // A probe that gave up must not leave its request queued behind it.
    socket.set(zmq::sockopt::linger, 0);
    socket.set(zmq::sockopt::maxmsgsize, kMaxZmqReply);
    if (address.isV6()) socket.set(zmq::sockopt::ipv6, 1);
    socket.connect(endpoint);
    socket.set(zmq::sockopt::sndtimeo, remainingMs(deadline));
    if (!socket.send(zmq::buffer(kZmqHealthRequest), zmq::send_flags::none)) {
      return {false, where + "request not sent within " + msText(timeout)};
    }
    zmq::message_t reply;
    while (true) {
      socket.set(zmq::sockopt::rcvtimeo, remainingMs(deadline));
      try {
        if (!socket.recv(reply, zmq::recv_flags::none)) {
          return {false, where + "no reply within " + msText(timeout)};
        }
        break;
      } catch (const zmq::error_t& e) {
        if (e.num() != EINTR) throw;
      }
    }
    body = reply.to_string();
  } catch (const zmq::error_t& e) {
    // ETERM when the owner shuts the context down to stop; anything else is unexpected here.
    return {false, where + e.what()};
  }

  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) return {false, where + "reply is not JSON: " + inQuotes(body)};
  if (!json.is_object()) return {false, where + "reply is not a JSON object: " + inQuotes(body)};
  auto status = json.find("status");
  if (status == json.end() || !status->is_string()) {
    return {false, where + "reply has no \"status\" string: " + inQuotes(body)};
  }
  const auto& status_text = status->get_ref<const std::string&>();
  std::string detail = where + "status " + printable(status_text);
  auto message = json.find("message");
  if (message != json.end() && message->is_string()) {
    detail += ": " + printable(message->get_ref<const std::string&>());
  }
  return {status_text == "ok", detail};
}

}  // namespace twinhub
