#include "support/nats_credential_relay.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <list>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

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

struct NatsCredentialRelay::Impl {
  struct Link {
    int client = -1;
    int server = -1;
    std::thread up, down;
  };

  int upstream_port = 0;
  std::string user, password;
  int listener = -1;
  uint16_t port = 0;
  std::atomic<bool> stopping{false};
  std::atomic<int> accepted{0};
  std::mutex mutex;
  std::list<std::unique_ptr<Link>> links;
  std::thread acceptor;

  // "CONNECT {json}" with user and pass set; anything else unchanged.
  std::string withCredentials(const std::string& line) const {
    const std::string head = "CONNECT ";
    if (line.rfind(head, 0) != 0) return line;
    try {
      nlohmann::json connect = nlohmann::json::parse(line.substr(head.size()));
      connect["user"] = user;
      connect["pass"] = password;
      return head + connect.dump();
    } catch (const std::exception&) {
      return line;
    }
  }

  void pump(Link& link, bool downstream) {
    const int from = downstream ? link.server : link.client;
    const int to = downstream ? link.client : link.server;
    std::vector<char> buffer(64 * 1024);
    std::string first;  // upstream: the client's first line, until its CRLF
    bool rewritten = downstream;
    while (true) {
      ssize_t n = ::recv(from, buffer.data(), buffer.size(), 0);
      if (n <= 0) break;
      if (!rewritten) {
        first.append(buffer.data(), static_cast<size_t>(n));
        const size_t end = first.find("\r\n");
        if (end == std::string::npos) continue;
        const std::string out = withCredentials(first.substr(0, end)) + first.substr(end);
        rewritten = true;
        if (!writeAll(to, out.data(), out.size())) break;
        continue;
      }
      if (!writeAll(to, buffer.data(), static_cast<size_t>(n))) break;
    }
    ::shutdown(link.client, SHUT_RDWR);
    ::shutdown(link.server, SHUT_RDWR);
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

NatsCredentialRelay::NatsCredentialRelay(int upstream_port, std::string user, std::string password)
    : impl_(std::make_unique<Impl>()) {
  impl_->upstream_port = upstream_port;
  impl_->user = std::move(user);
  impl_->password = std::move(password);
  impl_->listener = bindLoopback(64, &impl_->port, "NatsCredentialRelay");
  impl_->acceptor = std::thread([this] { impl_->acceptLoop(); });
}

NatsCredentialRelay::~NatsCredentialRelay() {
  impl_->stopping = true;
  impl_->acceptor.join();
  std::lock_guard<std::mutex> lock(impl_->mutex);
  for (auto& link : impl_->links) {
    ::shutdown(link->client, SHUT_RDWR);
    ::shutdown(link->server, SHUT_RDWR);
    link->up.join();
    link->down.join();
    ::close(link->client);
    ::close(link->server);
  }
  ::close(impl_->listener);
}

std::string NatsCredentialRelay::url() const { return "nats://127.0.0.1:" + std::to_string(impl_->port); }

int NatsCredentialRelay::accepted() const { return impl_->accepted.load(); }

}  // namespace twinhub::test
