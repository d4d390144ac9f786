// raw_responder: a request/reply responder that speaks the NATS core protocol itself, on one
// thread with a blocking socket, without cnats. Against `cnats_floor request` it shows what a
// round trip through a hub costs when the responder reads the hub socket on the thread that
// answers, i.e. without cnats's hand-off from its reader thread to a delivery thread. It is a
// measuring tool for one question (would a loop-driven hub reader pay off?), not a NATS client:
// no reconnect, no TLS, no auth, no headers.
//
//   raw_responder --url nats://127.0.0.1:PORT [--subject floor.echo]
//       Subscribes SUBJECT, answers every request with its own bytes, prints "ready" once the
//       server has the subscription, runs until the connection closes or SIGTERM/SIGINT.
#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "raw_responder: %s\n", msg.c_str());
  std::exit(1);
}

int connectTo(const std::string& url) {
  const std::string prefix = "nats://";
  if (url.rfind(prefix, 0) != 0) fail("--url must be nats://host:port");
  const std::string rest = url.substr(prefix.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string::npos) fail("--url must be nats://host:port");
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  if (getaddrinfo(rest.substr(0, colon).c_str(), rest.substr(colon + 1).c_str(), &hints, &res) != 0 || !res) {
    fail("cannot resolve " + url);
  }
  int fd = socket(res->ai_family, SOCK_STREAM, 0);
  if (fd < 0 || connect(fd, res->ai_addr, res->ai_addrlen) != 0) fail("connect " + url + ": " + strerror(errno));
  freeaddrinfo(res);
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

void sendAll(int fd, const iovec* iov, int count) {
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov);
  msg.msg_iovlen = static_cast<size_t>(count);
  size_t total = 0;
  for (int i = 0; i < count; ++i) total += iov[i].iov_len;
  ssize_t n = sendmsg(fd, &msg, MSG_NOSIGNAL);
  if (n != static_cast<ssize_t>(total)) fail("short write to the server");  // small frames only
}

void sendText(int fd, std::string_view text) {
  iovec iov{const_cast<char*>(text.data()), text.size()};
  sendAll(fd, &iov, 1);
}

}  // namespace

int main(int argc, char** argv) {
  std::string url, subject = "floor.echo";
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--url" && i + 1 < argc) {
      url = argv[++i];
    } else if (arg == "--subject" && i + 1 < argc) {
      subject = argv[++i];
    } else {
      std::fprintf(stderr, "usage: raw_responder --url nats://host:port [--subject S]\n");
      return arg == "--help" ? 0 : 2;
    }
  }
  if (url.empty()) fail("--url is required");
  const int fd = connectTo(url);
  sendText(fd, "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nSUB " + subject + " 1\r\nPING\r\n");

  std::string buf;
  char chunk[65536];
  bool ready = false;
  long replied = 0;
  while (true) {
    ssize_t n = read(fd, chunk, sizeof chunk);
    if (n <= 0) break;
    buf.append(chunk, static_cast<size_t>(n));
    size_t at = 0;
    while (true) {
      const size_t eol = buf.find("\r\n", at);
      if (eol == std::string::npos) break;
      std::string_view line(buf.data() + at, eol - at);
      if (line.rfind("MSG ", 0) == 0) {
        // MSG <subject> <sid> [reply] <bytes>
        char subj[512], sid[64], reply[512];
        size_t bytes = 0;
        std::string copy(line);
        int fields = std::sscanf(copy.c_str(), "MSG %511s %63s %511s %zu", subj, sid, reply, &bytes);
        if (fields == 3) {
          bytes = std::strtoul(reply, nullptr, 10);
          reply[0] = '\0';
        } else if (fields != 4) {
          fail("cannot parse: " + copy);
        }
        const size_t payload_at = eol + 2;
        if (buf.size() < payload_at + bytes + 2) break;  // wait for the payload
        if (reply[0] != '\0') {
          const std::string head = "PUB " + std::string(reply) + " " + std::to_string(bytes) + "\r\n";
          iovec iov[3] = {{const_cast<char*>(head.data()), head.size()},
                          {buf.data() + payload_at, bytes},
                          {const_cast<char*>("\r\n"), 2}};
          sendAll(fd, iov, 3);
          ++replied;
        }
        at = payload_at + bytes + 2;
        continue;
      }
      if (line == "PING") sendText(fd, "PONG\r\n");
      if (line == "PONG" && !ready) {
        ready = true;
        std::printf("ready\n");
        std::fflush(stdout);
      }
      if (line.rfind("-ERR", 0) == 0) std::fprintf(stderr, "raw_responder: server: %.*s\n", int(line.size()), line.data());
      at = eol + 2;
    }
    buf.erase(0, at);
  }
  std::fprintf(stderr, "raw_responder: replied %ld\n", replied);
  return 0;
}
