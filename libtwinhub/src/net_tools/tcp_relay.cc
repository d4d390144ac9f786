#include "net_tools/tcp_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <thread>
#include <vector>

namespace twinhub::net {

namespace {

// A listening socket on 127.0.0.1:0; -1 on failure.
int listenLoopback(uint16_t* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 || ::listen(fd, 64) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    ::close(fd);
    return -1;
  }
  *port = ntohs(sa.sin_port);
  return fd;
}

}  // namespace

struct TcpRelay::Impl {
  struct Pair {
    int a = -1, b = -1;  // accepted, outgoing
  };

  std::string target;
  uint16_t port = 0;
  int listen_fd = -1;
  int wake_fd = -1;
  std::atomic<bool> cut{false};
  std::atomic<bool> drop_held{false};
  std::atomic<bool> stopping{false};
  std::atomic<int> accepted{0};
  std::vector<Pair> pairs;  // relay thread only
  std::vector<int> held;    // accepted while cut, relay thread only
  std::thread thread;

  void wake() {
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd, &one, sizeof one);
    (void)ignored;
  }

  int dialTarget() const {
    const size_t colon = target.rfind(':');
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(static_cast<uint16_t>(std::stoi(target.substr(colon + 1))));
    ::inet_pton(AF_INET, target.substr(0, colon).c_str(), &sa.sin_addr);
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
      ::close(fd);
      return -1;
    }
    return fd;
  }

  void closeAll() {
    for (Pair& p : pairs) ::close(p.a), ::close(p.b);
    for (int fd : held) ::close(fd);
    pairs.clear();
    held.clear();
  }

  void acceptOne() {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) return;
    ++accepted;
    if (cut.load()) {
      held.push_back(fd);
      return;
    }
    int out = dialTarget();
    if (out < 0) {
      ::close(fd);
      return;
    }
    pairs.push_back({fd, out});
  }

  // Returns false when the pair ended (either side closed or failed).
  static bool pump(int from, int to) {
    char buf[16384];
    ssize_t n = ::recv(from, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) return n < 0 && (errno == EAGAIN || errno == EINTR);
    for (ssize_t off = 0; off < n;) {
      ssize_t w = ::send(to, buf + off, static_cast<size_t>(n - off), MSG_NOSIGNAL);
      if (w <= 0) return false;
      off += w;
    }
    return true;
  }

  void run() {
    while (!stopping.load()) {
      if (drop_held.exchange(false)) closeAll();
      std::vector<pollfd> fds = {{wake_fd, POLLIN, 0}, {listen_fd, POLLIN, 0}};
      const bool forwarding = !cut.load();
      if (forwarding) {
        for (const Pair& p : pairs) fds.push_back({p.a, POLLIN, 0}), fds.push_back({p.b, POLLIN, 0});
      }
      if (::poll(fds.data(), fds.size(), 200) < 0) continue;
      if (fds[0].revents) {
        uint64_t v;
        ssize_t ignored = ::read(wake_fd, &v, sizeof v);
        (void)ignored;
        continue;  // the mode may have changed: rebuild the set
      }
      if (fds[1].revents & POLLIN) acceptOne();
      if (!forwarding) continue;
      std::vector<Pair> kept;
      const size_t polled = (fds.size() - 2) / 2;  // acceptOne() may have appended more since
      for (size_t i = 0; i < polled; ++i) {
        const pollfd& pa = fds[2 + 2 * i];
        const pollfd& pb = fds[3 + 2 * i];
        bool ok = true;
        if (pa.revents) ok = pump(pairs[i].a, pairs[i].b);
        if (ok && pb.revents) ok = pump(pairs[i].b, pairs[i].a);
        if (ok) kept.push_back(pairs[i]);
        else ::close(pairs[i].a), ::close(pairs[i].b);
      }
      // Connections accepted during this round were appended after the polled ones.
      for (size_t i = polled; i < pairs.size(); ++i) kept.push_back(pairs[i]);
      pairs.swap(kept);
    }
    closeAll();
  }
};

TcpRelay::TcpRelay(std::string target) : impl_(std::make_unique<Impl>()) {
  impl_->target = std::move(target);
  impl_->listen_fd = listenLoopback(&impl_->port);
  impl_->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (impl_->listen_fd >= 0) impl_->thread = std::thread([impl = impl_.get()] { impl->run(); });
}

TcpRelay::~TcpRelay() {
  impl_->stopping = true;
  impl_->wake();
  if (impl_->thread.joinable()) impl_->thread.join();
  if (impl_->listen_fd >= 0) ::close(impl_->listen_fd);
  ::close(impl_->wake_fd);
}

int TcpRelay::port() const { return impl_->port; }

void TcpRelay::cut() {
  impl_->cut = true;
  impl_->wake();
}

void TcpRelay::restore() {
  impl_->cut = false;
  impl_->drop_held = true;
  impl_->wake();
}

int TcpRelay::connectionsAccepted() const { return impl_->accepted.load(); }

}  // namespace twinhub::net
