// bench_echo_server: a small, fast, single-threaded epoll TCP echo server; the "direct" baseline
// of bench/run.sh and the upstream behind every proxy it measures.
//
//   bench_echo_server [--listen 127.0.0.1:PORT]     (default 127.0.0.1:0 = an ephemeral port)
//   bench_echo_server --silent [--listen ...]       accepts and never reads nor answers (a stuck
//                                                   agent); closes a connection only once it is reset
//
// Prints "listening on ADDR:PORT" (the bound port) on stdout once ready, then echoes every byte back
// on the connection it came from until killed (SIGTERM/SIGINT exit 0). Backpressure: while a
// connection has unsent bytes it is not read, so memory stays bounded at one read buffer per
// blocked connection.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kReadChunk = 256 * 1024;

struct Conn {
  int fd = -1;
  std::vector<char> pending;  // bytes read but not yet written back
  size_t pending_off = 0;
};

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

[[noreturn]] void die(const char* what) {
  std::fprintf(stderr, "bench_echo_server: %s: %s\n", what, std::strerror(errno));
  std::exit(1);
}

bool parse_addr(const std::string& s, sockaddr_storage& ss, socklen_t& len) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = s.substr(0, colon);
  int port = std::atoi(s.c_str() + colon + 1);
  if (port < 0 || port > 65535) return false;
  std::memset(&ss, 0, sizeof ss);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    auto* a6 = reinterpret_cast<sockaddr_in6*>(&ss);
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    if (inet_pton(AF_INET6, host.substr(1, host.size() - 2).c_str(), &a6->sin6_addr) != 1) return false;
    len = sizeof *a6;
    return true;
  }
  auto* a4 = reinterpret_cast<sockaddr_in*>(&ss);
  a4->sin_family = AF_INET;
  a4->sin_port = htons(port);
  if (inet_pton(AF_INET, host.c_str(), &a4->sin_addr) != 1) return false;
  len = sizeof *a4;
  return true;
}

std::string addr_to_string(const sockaddr_storage& ss) {
  char host[INET6_ADDRSTRLEN] = {0};
  if (ss.ss_family == AF_INET6) {
    auto* a6 = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a6->sin6_addr, host, sizeof host);
    return "[" + std::string(host) + "]:" + std::to_string(ntohs(a6->sin6_port));
  }
  auto* a4 = reinterpret_cast<const sockaddr_in*>(&ss);
  inet_ntop(AF_INET, &a4->sin_addr, host, sizeof host);
  return std::string(host) + ":" + std::to_string(ntohs(a4->sin_port));
}

void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::string listen_addr = "127.0.0.1:0";
  bool silent = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--listen" && i + 1 < argc) {
      listen_addr = argv[++i];
    } else if (a == "--silent") {
      silent = true;
    } else if (a == "--help" || a == "-h") {
      std::printf("usage: bench_echo_server [--listen 127.0.0.1:PORT] [--silent]\n");
      return 0;
    } else {
      std::fprintf(stderr, "bench_echo_server: unknown argument %s\n", a.c_str());
      return 2;
    }
  }
  raise_nofile();
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa{};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);

  sockaddr_storage ss{};
  socklen_t len = 0;
  if (!parse_addr(listen_addr, ss, len)) {
    std::fprintf(stderr, "bench_echo_server: bad address %s\n", listen_addr.c_str());
    return 2;
  }
  int lfd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (lfd < 0) die("socket");
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(lfd, reinterpret_cast<sockaddr*>(&ss), len) != 0) die("bind");
  if (listen(lfd, 4096) != 0) die("listen");
  sockaddr_storage bound{};
  socklen_t blen = sizeof bound;
  getsockname(lfd, reinterpret_cast<sockaddr*>(&bound), &blen);

  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) die("epoll_create1");
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = nullptr;  // nullptr marks the listener
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);

  std::printf("listening on %s\n", addr_to_string(bound).c_str());
  std::fflush(stdout);

  std::unique_ptr<char[]> buf(new char[kReadChunk]);
  std::unordered_map<int, Conn*> conns;
  auto close_conn = [&](Conn* c) {
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, nullptr);
    close(c->fd);
    conns.erase(c->fd);
    delete c;
  };
  // Writes pending bytes; returns false when the connection failed. Switches interest between
  // reading (nothing pending) and writing (something pending).
  auto flush = [&](Conn* c) -> bool {
    while (c->pending_off < c->pending.size()) {
      ssize_t n = send(c->fd, c->pending.data() + c->pending_off, c->pending.size() - c->pending_off,
                       MSG_NOSIGNAL);
      if (n > 0) {
        c->pending_off += static_cast<size_t>(n);
      } else if (n < 0 && errno == EINTR) {
        continue;
      } else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        epoll_event e{};
        e.events = EPOLLOUT;
        e.data.ptr = c;
        epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
        return true;
      } else {
        return false;
      }
    }
    c->pending.clear();
    c->pending_off = 0;
    epoll_event e{};
    e.events = EPOLLIN | EPOLLRDHUP;
    e.data.ptr = c;
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
    return true;
  };

  std::vector<epoll_event> events(256);
  while (!g_stop) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; ++i) {
      if (events[i].data.ptr == nullptr) {
        for (;;) {
          int fd = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (fd < 0) {
            if (errno == EINTR) continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ECONNABORTED)
              std::fprintf(stderr, "bench_echo_server: accept: %s\n", std::strerror(errno));
            break;
          }
          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
          auto* c = new Conn;
          c->fd = fd;
          conns[fd] = c;
          epoll_event e{};
          e.events = silent ? 0 : EPOLLIN | EPOLLRDHUP;  // silent: only EPOLLHUP/EPOLLERR, always reported
          e.data.ptr = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
        }
        continue;
      }
      auto* c = static_cast<Conn*>(events[i].data.ptr);
      if (silent) {
        close_conn(c);
        continue;
      }
      if (!c->pending.empty()) {  // waiting for EPOLLOUT
        if (!flush(c)) close_conn(c);
        continue;
      }
      // Readable (or hung up): read once, echo at once, keep the remainder if the peer is slow.
      ssize_t r = recv(c->fd, buf.get(), kReadChunk, 0);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
        close_conn(c);
        continue;
      }
      if (r < 0) continue;
      ssize_t w = send(c->fd, buf.get(), static_cast<size_t>(r), MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
        close_conn(c);
        continue;
      }
      if (w < 0) w = 0;
      if (w < r) {
        c->pending.assign(buf.get() + w, buf.get() + r);
        c->pending_off = 0;
        if (!flush(c)) close_conn(c);
      }
    }
  }
  for (auto& [fd, c] : conns) {
    close(fd);
    delete c;
  }
  close(lfd);
  return 0;
}
