#include "support/nats_error_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "support/test_servers.h"

namespace twinhub::test {

namespace {

bool writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<size_t>(n);
  }
  return true;
}

int connectLoopback(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) return fd;
  if (fd >= 0) ::close(fd);
  return -1;
}

}  // namespace

struct NatsErrorRelay::Impl {
  // One relayed client. Server-to-client bytes are written under `mutex`, so an injected error
  // lands between two of the server's writes. nats-server's protocol lines end in CRLF, but a
  // relayed read may end mid-message; the error is only injected at a read boundary that ends in
  // "\r\n" (see `at_boundary`).
  struct Link {
    int client = -1;
    int server = -1;
    std::mutex mutex;
    bool at_boundary = true;
    bool closed = false;
    std::thread up, down;
  };

  int upstream_port = 0;
  int listener = -1;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int> accepted{0};
  std::mutex mutex;
  std::list<std::unique_ptr<Link>> links;
  std::thread acceptor;

  static void closeLink(Link& link) {
    if (link.closed) return;
    link.closed = true;
    ::shutdown(link.client, SHUT_RDWR);
    ::shutdown(link.server, SHUT_RDWR);
  }

  void pump(Link& link, bool downstream) {
    const int from = downstream ? link.server : link.client;
    const int to = downstream ? link.client : link.server;
    std::vector<char> buffer(64 * 1024);
    while (true) {
      ssize_t n = ::recv(from, buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      std::lock_guard<std::mutex> lock(link.mutex);
      if (link.closed || !writeAll(to, buffer.data(), static_cast<size_t>(n))) break;
      if (downstream) link.at_boundary = n >= 2 && buffer[n - 2] == '\r' && buffer[n - 1] == '\n';
    }
    std::lock_guard<std::mutex> lock(link.mutex);
    closeLink(link);
  }

  void acceptLoop() {
    while (!stopping) {
      pollfd p{listener, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int client = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
      if (client < 0) continue;
      int server = connectLoopback(upstream_port);
      if (server < 0) {
        ::close(client);
        continue;
      }
      ++accepted;
      auto link = std::make_unique<Link>();
      link->client = client;
      link->server = server;
      Link* raw = link.get();
      raw->up = std::thread([this, raw] { pump(*raw, false); });
      raw->down = std::thread([this, raw] { pump(*raw, true); });
      std::lock_guard<std::mutex> lock(mutex);
      links.push_back(std::move(link));
    }
  }
};

NatsErrorRelay::NatsErrorRelay(int upstream_port) : impl_(std::make_unique<Impl>()) {
  impl_->upstream_port = upstream_port;
  impl_->listener = bindLoopback(64, &impl_->port, "NatsErrorRelay");
  impl_->acceptor = std::thread([this] { impl_->acceptLoop(); });
}

NatsErrorRelay::~NatsErrorRelay() {
  impl_->stopping = true;
  impl_->acceptor.join();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (auto& link : impl_->links) {
    {
      std::lock_guard<std::mutex> link_lock(link->mutex);
      Impl::closeLink(*link);
    }
    link->up.join();
    link->down.join();
    ::close(link->client);
    ::close(link->server);
  }
  ::close(impl_->listener);
}

std::string NatsErrorRelay::url() const { return "nats://127.0.0.1:" + std::to_string(impl_->port); }

int NatsErrorRelay::accepted() const { return impl_->accepted.load(); }

int NatsErrorRelay::injectError(const std::string& text) {
  const std::string line = "-ERR '" + text + "'\r\n";
  int sent = 0;
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (auto& link : impl_->links) {
    // Wait (bounded) for a message boundary: the server's writes are whole lines and messages.
    for (int tries = 0; tries < 200; ++tries) {
      {
        std::lock_guard<std::mutex> link_lock(link->mutex);
        if (link->closed) break;
        if (link->at_boundary) {
          if (writeAll(link->client, line.data(), line.size())) ++sent;
          Impl::closeLink(*link);
          break;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  return sent;
}

}  // namespace twinhub::test
