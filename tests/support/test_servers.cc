#include "support/test_servers.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <functional>
#include <stdexcept>
#include <vector>

#include "support/tcp_client.h"

namespace twinhub::test {

namespace {

bool wouldBlock() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

// One accepted socket's behaviour. handle() returns false when the connection is finished and
// its socket should be closed.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  virtual ~Conn() { ::close(fd_); }
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;
  int fd() const { return fd_; }
  virtual short events() const = 0;
  virtual bool handle(short revents) = 0;

 protected:
  int fd_;
};

// A listening socket on 127.0.0.1:0 served by one thread polling every non-blocking socket.
// Subclasses say what a connection does; the loop stops through an eventfd.
class PollServer {
 public:
  PollServer() {
    uint16_t port = 0;
    listen_fd_ = bindLoopback(4096, &port, "test server", SOCK_NONBLOCK);
    wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_fd_ < 0) {
      ::close(listen_fd_);
      throw std::runtime_error("test server: eventfd failed");
    }
    address_ = "127.0.0.1:" + std::to_string(port);
  }
  virtual ~PollServer() {
    stop();
    ::close(listen_fd_);
    ::close(wake_fd_);
  }

  const std::string& address() const { return address_; }
  int accepted() const { return accepted_.load(); }

 protected:
  // Called by the subclass once it is fully built, and stop() before it starts dying.
  void start() { thread_ = std::thread([this] { run(); }); }
  void stop() {
    if (!thread_.joinable()) return;
    uint64_t one = 1;
    ssize_t ignored = ::write(wake_fd_, &one, sizeof one);
    (void)ignored;
    thread_.join();
    conns_.clear();
  }
  virtual std::unique_ptr<Conn> makeConn(int fd) = 0;

 private:
  void run() {
    std::vector<pollfd> fds;
    while (true) {
      fds.clear();
      fds.push_back({wake_fd_, POLLIN, 0});
      fds.push_back({listen_fd_, POLLIN, 0});
      for (auto& c : conns_) fds.push_back({c->fd(), c->events(), 0});
      int r = ::poll(fds.data(), fds.size(), -1);
      if (r < 0) {
        if (errno == EINTR) continue;
        return;
      }
      if (fds[0].revents) return;
      // Connections first: the vector of pollfds matches conns_ only until accept adds to it.
      size_t kept = 0;
      for (size_t i = 0; i < conns_.size(); ++i) {
        short revents = fds[i + 2].revents;
        bool alive = revents == 0 || conns_[i]->handle(revents);
        if (alive) conns_[kept++] = std::move(conns_[i]);
      }
      conns_.resize(kept);
      if (fds[1].revents & POLLIN) acceptAll();
    }
  }

  void acceptAll() {
    while (true) {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
      if (fd < 0) return;  // EAGAIN, or out of descriptors: poll will say when to try again
      accepted_.fetch_add(1);
      conns_.push_back(makeConn(fd));
    }
  }

  int listen_fd_ = -1;
  int wake_fd_ = -1;
  std::string address_;
  std::atomic<int> accepted_{0};
  std::vector<std::unique_ptr<Conn>> conns_;  // loop thread only
  std::thread thread_;
};

// Echo with a bounded buffer: reading stops while 256 KiB wait to go back (backpressure).
class EchoConn : public Conn {
 public:
  using Conn::Conn;
  short events() const override {
    short e = 0;
    if (!peer_eof_ && end_ < kCapacity) e |= POLLIN;
    if (end_ > start_) e |= POLLOUT;
    return e;
  }
  bool handle(short revents) override {
    if (revents & POLLIN) {
      ssize_t n = ::recv(fd_, buf_.get() + end_, kCapacity - end_, 0);
      if (n > 0) end_ += static_cast<size_t>(n);
      else if (n == 0) peer_eof_ = true;
      else if (!wouldBlock()) return false;
    }
    if ((revents & POLLOUT) && end_ > start_) {
      ssize_t n = ::send(fd_, buf_.get() + start_, end_ - start_, MSG_NOSIGNAL);
      if (n > 0) start_ += static_cast<size_t>(n);
      else if (n < 0 && !wouldBlock()) return false;
      if (start_ == end_) start_ = end_ = 0;
    }
    if (revents & POLLERR) return false;
    if ((revents & POLLHUP) && !(revents & POLLIN)) return false;
    if (peer_eof_ && start_ == end_) {
      ::shutdown(fd_, SHUT_WR);
      return false;  // both directions done
    }
    return true;
  }

 private:
  static constexpr size_t kCapacity = 256 * 1024;
  // Not zero-filled: a thousand mostly idle connections touch a page each, not 256 KiB each.
  std::unique_ptr<char[]> buf_{new char[kCapacity]};
  size_t start_ = 0;
  size_t end_ = 0;
  bool peer_eof_ = false;
};

struct SourceCounters {
  std::atomic<uint64_t> sent{0};
  std::atomic<uint64_t> received{0};
};

// Sends `total` bytes of the pattern, shuts its sending side, and reads (counting) until the peer
// closes.
class SourceConn : public Conn {
 public:
  SourceConn(int fd, uint64_t total, uint64_t seed, SourceCounters* counters)
      : Conn(fd), total_(total), seed_(seed), counters_(counters) {}
  short events() const override {
    short e = 0;
    if (!peer_eof_) e |= POLLIN;
    if (offset_ < total_) e |= POLLOUT;
    return e;
  }
  bool handle(short revents) override {
    if (revents & POLLIN) {
      char scratch[64 * 1024];
      ssize_t n = ::recv(fd_, scratch, sizeof scratch, 0);
      if (n > 0) counters_->received.fetch_add(static_cast<uint64_t>(n));
      else if (n == 0) peer_eof_ = true;
      else if (!wouldBlock()) return false;
    }
    if ((revents & POLLOUT) && offset_ < total_) {
      if (offset_ == chunk_start_ + chunk_len_) {
        chunk_start_ = offset_;
        chunk_len_ = static_cast<size_t>(std::min<uint64_t>(chunk_.size(), total_ - offset_));
        fillPattern(seed_, chunk_start_, chunk_.data(), chunk_len_);
      }
      size_t at = static_cast<size_t>(offset_ - chunk_start_);
      ssize_t n = ::send(fd_, chunk_.data() + at, chunk_len_ - at, MSG_NOSIGNAL);
      if (n > 0) {
        offset_ += static_cast<uint64_t>(n);
        counters_->sent.fetch_add(static_cast<uint64_t>(n));
      } else if (n < 0 && !wouldBlock()) {
        return false;
      }
    }
    if (offset_ == total_ && !write_shut_) {
      ::shutdown(fd_, SHUT_WR);
      write_shut_ = true;
    }
    if (revents & POLLERR) return false;
    if ((revents & POLLHUP) && !(revents & POLLIN)) return false;
    return !(write_shut_ && peer_eof_);
  }

 private:
  uint64_t total_;
  uint64_t seed_;
  SourceCounters* counters_;
  std::vector<char> chunk_ = std::vector<char>(256 * 1024);
  uint64_t chunk_start_ = 0;
  size_t chunk_len_ = 0;
  uint64_t offset_ = 0;
  bool write_shut_ = false;
  bool peer_eof_ = false;
};

// Never reads, answers or closes; only notices that its peer tore the connection down (a reset:
// POLLERR/POLLHUP, which poll reports without being asked). A FIN alone changes nothing.
class SilentConn : public Conn {
 public:
  SilentConn(int fd, std::atomic<int>* resets) : Conn(fd), resets_(resets) {}
  short events() const override { return 0; }
  bool handle(short revents) override {
    if ((revents & (POLLERR | POLLHUP)) == 0) return true;
    resets_->fetch_add(1);
    return false;
  }

 private:
  std::atomic<int>* resets_;
};

}  // namespace

struct EchoServer::Impl : PollServer {
  Impl() { start(); }
  ~Impl() override { stop(); }
  std::unique_ptr<Conn> makeConn(int fd) override { return std::make_unique<EchoConn>(fd); }
};

EchoServer::EchoServer() : impl_(std::make_unique<Impl>()) {}
EchoServer::~EchoServer() = default;
std::string EchoServer::address() const { return impl_->address(); }
int EchoServer::connectionsAccepted() const { return impl_->accepted(); }

struct SourceServer::Impl : PollServer {
  Impl(uint64_t bytes, uint64_t seed) : bytes(bytes), seed(seed) { start(); }
  ~Impl() override { stop(); }
  std::unique_ptr<Conn> makeConn(int fd) override { return std::make_unique<SourceConn>(fd, bytes, seed, &counters); }
  uint64_t bytes;
  uint64_t seed;
  SourceCounters counters;
};

SourceServer::SourceServer(uint64_t bytes, uint64_t seed) : impl_(std::make_unique<Impl>(bytes, seed)) {}
SourceServer::~SourceServer() = default;
std::string SourceServer::address() const { return impl_->address(); }
uint64_t SourceServer::bytesSent() const { return impl_->counters.sent.load(); }
uint64_t SourceServer::bytesReceived() const { return impl_->counters.received.load(); }

int bindLoopback(int backlog, uint16_t* port, const char* who, int type_flags) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | type_flags, 0);
  if (fd < 0) throw std::runtime_error(std::string(who) + ": socket: " + std::strerror(errno));
  if (backlog > 0) {
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  }
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof sa;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&sa), len) != 0 || (backlog > 0 && ::listen(fd, backlog) != 0) ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) != 0) {
    const std::string why = std::string(who) + ": bind/listen 127.0.0.1:0: " + std::strerror(errno);
    ::close(fd);
    throw std::runtime_error(why);
  }
  *port = ntohs(sa.sin_port);
  return fd;
}

std::string unusedAddress() {
  uint16_t port = 0;
  ::close(bindLoopback(0, &port, "unusedAddress"));
  return "127.0.0.1:" + std::to_string(port);
}

struct SilentServer::Impl : PollServer {
  Impl() { start(); }
  ~Impl() override { stop(); }
  std::unique_ptr<Conn> makeConn(int fd) override { return std::make_unique<SilentConn>(fd, &resets); }
  std::atomic<int> resets{0};
};

SilentServer::SilentServer() : impl_(std::make_unique<Impl>()) {}
SilentServer::~SilentServer() = default;
std::string SilentServer::address() const { return impl_->address(); }
int SilentServer::connectionsAccepted() const { return impl_->accepted(); }
int SilentServer::connectionsReset() const { return impl_->resets.load(); }

}  // namespace twinhub::test
