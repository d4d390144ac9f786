// bench_client: the load generator of bench/run.sh. Every mode talks to an echo service (directly or
// through a proxy) and prints one result line of key=value pairs on stdout; errors go to stderr and
// make the exit status non-zero.
//
//   bench_client rtt      --connect ADDR [--count 20000] [--warmup 2000] [--size 64]
//       N sequential SIZE-byte round trips on one TCP_NODELAY connection, after a warm-up.
//       -> rtt count=N p50_us= p90_us= p99_us= p999_us= min_us= max_us= mean_us=
//   bench_client bulk     --connect ADDR [--mb 1024] [--chunk-kb 256]
//       Sends MB MiB and receives the echo concurrently on one connection (one thread, poll);
//       every received byte is checked against what was sent.
//       -> bulk bytes= seconds= mb_per_s=          (MB = 10^6 bytes)
//   bench_client connrate --connect ADDR [--seconds 5] [--concurrency 1] [--size 64]
//       Open, send SIZE bytes, receive them, close; repeated for SECONDS with CONCURRENCY in flight.
//       -> connrate conns= errors= seconds= conn_per_s= p50_us= p99_us=   (per connection cycle)
//   bench_client hold     --connect ADDR [--count 1000] [--no-ping] [--ignore-stdin]
//       Opens COUNT connections (each does one 64-byte round trip unless --no-ping, so the proxy
//       has surely accepted it and connected upstream), prints "holding N", then keeps them idle
//       until stdin closes (unless --ignore-stdin), SIGTERM/SIGINT/SIGHUP, or --max-seconds.
//       -> released count= lost=     (lost: closed by the peer while held)
//   bench_client stuck    --connect ADDR [--count 100] [--size 64] [--mb 1024] [--quiet-ms 1000] [--ignore-stdin]
//       Opens COUNT connections and sends on each, in writes of --size bytes and at most --mb MiB,
//       never reading, until no connection has taken a byte for --quiet-ms; prints
//       "stuck count=N sent_mb=X", then holds them like hold (and prints "released ...").
//
//   bench_client stall    --connect ADDR [--seconds 5] [--size 64] [--timeout-ms 5000] [--gap-log-ms MS]
//       Sequential SIZE-byte round trips on one connection for SECONDS (the failover trial, see
//       bench/failover.sh). Each request carries its sequence number, its send time and a pattern
//       derived from the sequence number; every reply must equal its request byte for byte. Records
//       the longest gap between consecutive replies (the first gap counts from the connect) and when
//       it began and ended (CLOCK_REALTIME, ms since the epoch). After the last reply it waits
//       200 ms for stray bytes (duplicates). A reply that does not come within --timeout-ms counts
//       as lost and ends the run, as do a closed connection and a wrong reply (the stream cannot be
//       resynchronized after either). --gap-log-ms: every gap of at least MS is also printed on
//       stderr as "gap ms= start_ms= end_ms=" (to find the one around a fault).
//       -> stall rtts= seconds= max_gap_ms= gap_start_ms= gap_end_ms= p50_us= p99_us= lost= corrupt=
//          dup= extra_bytes= closed= ok=0|1    (corrupt: wrong reply; dup: a reply that repeats an
//          earlier request; extra_bytes: bytes beyond the last reply; closed: the connection ended)
//   bench_client wait     --connect ADDR [--timeout-ms 5000]
//       Exits 0 as soon as a TCP connection to ADDR succeeds, 1 on timeout.
//   bench_client freeport [N]
//       Prints N (default 1) currently free 127.0.0.1 TCP ports, one per line.
//
// Common: --max-seconds S (default 300) aborts any mode that runs longer (exit 3).

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "latency_summary.h"

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string mode;
  std::string connect;
  long count = -1;
  long warmup = -1;
  long size = 64;
  double mb = 1024;
  long chunk_kb = 256;
  double seconds = 5;
  long concurrency = 1;
  long timeout_ms = 5000;
  double max_seconds = 300;
  double gap_log_ms = 0;
  bool ping = true;
  bool ignore_stdin = false;
  long nports = 1;
  long quiet_ms = 1000;
};

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "bench_client: %s\n", msg.c_str());
  std::exit(1);
}

[[noreturn]] void fail_errno(const std::string& what) { fail(what + ": " + std::strerror(errno)); }

void on_alarm(int) {
  const char msg[] = "bench_client: --max-seconds exceeded, aborting\n";
  ssize_t r = write(2, msg, sizeof msg - 1);
  (void)r;
  _exit(3);
}

bool parse_addr(const std::string& s, sockaddr_storage& ss, socklen_t& len) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  std::string host = s.substr(0, colon);
  int port = std::atoi(s.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
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

struct Target {
  sockaddr_storage ss{};
  socklen_t len = 0;
};

Target target_of(const Args& a) {
  Target t;
  if (a.connect.empty()) fail("--connect ADDR is required");
  if (!parse_addr(a.connect, t.ss, t.len)) fail("bad address " + a.connect);
  return t;
}

void set_nodelay(int fd) {
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

int connect_blocking(const Target& t) {
  int fd = socket(t.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (connect(fd, reinterpret_cast<const sockaddr*>(&t.ss), t.len) != 0) {
    int e = errno;
    close(fd);
    errno = e;
    return -1;
  }
  set_nodelay(fd);
  return fd;
}

bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool recv_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t r = recv(fd, p, n, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return false;
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void raise_nofile() {
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
    rl.rlim_cur = rl.rlim_max;
    setrlimit(RLIMIT_NOFILE, &rl);
  }
}

// ---------------------------------------------------------------------------------------- rtt
int run_rtt(const Args& a) {
  Target t = target_of(a);
  long count = a.count > 0 ? a.count : 20000;
  long warmup = a.warmup >= 0 ? a.warmup : std::max(100L, count / 10);
  size_t size = static_cast<size_t>(std::max(1L, a.size));
  int fd = connect_blocking(t);
  if (fd < 0) fail_errno("connect " + a.connect);
  std::vector<char> out(size), in(size);
  std::vector<double> us;
  us.reserve(static_cast<size_t>(count));
  for (long i = 0; i < warmup + count; ++i) {
    for (size_t k = 0; k < size; ++k) out[k] = static_cast<char>('a' + (i + static_cast<long>(k)) % 26);
    auto t0 = Clock::now();
    if (!send_all(fd, out.data(), size)) fail_errno("rtt send");
    if (!recv_all(fd, in.data(), size)) fail("rtt: connection closed or failed after " + std::to_string(i) + " round trips");
    auto t1 = Clock::now();
    if (std::memcmp(in.data(), out.data(), size) != 0) fail("rtt: echoed bytes differ from sent bytes");
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  close(fd);
  bench::printLatencyLine("rtt", us);
  return 0;
}

// --------------------------------------------------------------------------------------- bulk
int run_bulk(const Args& a) {
  Target t = target_of(a);
  const uint64_t total = static_cast<uint64_t>(a.mb * 1024.0 * 1024.0);
  const size_t chunk = static_cast<size_t>(std::max(1L, a.chunk_kb)) * 1024;
  // A pseudo-random pattern with a prime period, laid out long enough that any chunk starting at
  // any phase is one contiguous slice: byte at stream offset o is pattern[o % kPeriod].
  constexpr size_t kPeriod = 65521;
  std::vector<char> pattern(kPeriod + chunk);
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < kPeriod; ++i) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    pattern[i] = static_cast<char>(x >> 24);
  }
  for (size_t i = kPeriod; i < pattern.size(); ++i) pattern[i] = pattern[i % kPeriod];
  std::vector<char> in(chunk);

  int fd = connect_blocking(t);
  if (fd < 0) fail_errno("connect " + a.connect);
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  uint64_t sent = 0, received = 0;
  auto t0 = Clock::now();
  while (received < total) {
    pollfd p{fd, static_cast<short>(POLLIN | (sent < total ? POLLOUT : 0)), 0};
    int n = poll(&p, 1, 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("bulk poll");
    if (n == 0) fail("bulk: no progress for 10 s (sent " + std::to_string(sent) + ", received " + std::to_string(received) + ")");
    if ((p.revents & POLLOUT) && sent < total) {
      for (;;) {
        size_t len = static_cast<size_t>(std::min<uint64_t>(chunk, total - sent));
        ssize_t w = send(fd, pattern.data() + sent % kPeriod, len, MSG_NOSIGNAL);
        if (w > 0) {
          sent += static_cast<uint64_t>(w);
          if (sent >= total || static_cast<size_t>(w) < len) break;
          continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) break;
        fail_errno("bulk send");
      }
    }
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      for (;;) {
        ssize_t r = recv(fd, in.data(), chunk, 0);
        if (r > 0) {
          if (std::memcmp(in.data(), pattern.data() + received % kPeriod, static_cast<size_t>(r)) != 0)
            fail("bulk: echoed bytes differ from sent bytes near offset " + std::to_string(received));
          received += static_cast<uint64_t>(r);
          if (received > sent) fail("bulk: received more bytes than sent");
          if (static_cast<size_t>(r) < chunk) break;
          continue;
        }
        if (r == 0) fail("bulk: connection closed after " + std::to_string(received) + " of " + std::to_string(total) + " bytes");
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) break;
        fail_errno("bulk recv");
      }
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  close(fd);
  std::printf("bulk bytes=%llu seconds=%.3f mb_per_s=%.1f\n", static_cast<unsigned long long>(total), secs,
              static_cast<double>(total) / 1e6 / secs);
  return 0;
}

// ----------------------------------------------------------------------------------- connrate
int run_connrate(const Args& a) {
  Target t = target_of(a);
  raise_nofile();
  const size_t size = static_cast<size_t>(std::max(1L, a.size));
  const long conc = std::max(1L, a.concurrency);
  std::vector<char> msg(size, 'c');
  struct Slot {
    int fd = -1;
    int state = 0;  // 1 connecting, 2 waiting for echo
    size_t got = 0;
    Clock::time_point start;
  };
  std::vector<Slot> slots(static_cast<size_t>(conc));
  int ep = epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) fail_errno("epoll_create1");
  uint64_t done = 0, errors = 0;
  std::map<std::string, uint64_t> error_kinds;
  std::vector<double> cycle_us;
  cycle_us.reserve(1 << 20);
  std::vector<char> buf(size);
  auto t0 = Clock::now();
  const auto deadline = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));

  auto start_slot = [&](size_t i) -> void {
    Slot& s = slots[i];
    for (int attempt = 0; attempt < 1000; ++attempt) {
      s.fd = socket(t.ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
      if (s.fd < 0) fail_errno("socket");
      set_nodelay(s.fd);
      s.start = Clock::now();
      int r = connect(s.fd, reinterpret_cast<const sockaddr*>(&t.ss), t.len);
      if (r == 0 || errno == EINPROGRESS) {
        s.state = 1;
        s.got = 0;
        epoll_event e{};
        e.events = EPOLLOUT;
        e.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_ADD, s.fd, &e);
        return;
      }
      ++errors;
      ++error_kinds[std::string("connect: ") + std::strerror(errno)];
      close(s.fd);
      s.fd = -1;
      if (Clock::now() >= deadline) break;
    }
    s.state = 0;
  };
  auto finish_slot = [&](size_t i, bool ok, const char* why) {
    Slot& s = slots[i];
    if (ok) {
      ++done;
      cycle_us.push_back(std::chrono::duration<double, std::micro>(Clock::now() - s.start).count());
    } else {
      ++errors;
      ++error_kinds[why];
    }
    epoll_ctl(ep, EPOLL_CTL_DEL, s.fd, nullptr);
    close(s.fd);
    s.fd = -1;
    s.state = 0;
    if (Clock::now() < deadline) start_slot(i);
  };

  for (size_t i = 0; i < slots.size(); ++i) start_slot(i);
  std::vector<epoll_event> evs(static_cast<size_t>(conc));
  for (;;) {
    bool any = false;
    for (auto& s : slots) any = any || s.state != 0;
    if (!any) break;
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("epoll_wait");
    if (n == 0) fail("connrate: no progress for 10 s");
    for (int k = 0; k < n; ++k) {
      size_t i = evs[k].data.u64;
      Slot& s = slots[i];
      if (s.state == 1) {
        int err = 0;
        socklen_t el = sizeof err;
        getsockopt(s.fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err != 0) {
          finish_slot(i, false, (std::string("connect: ") + std::strerror(err)).c_str());
          continue;
        }
        ssize_t w = send(s.fd, msg.data(), size, MSG_NOSIGNAL);
        if (w != static_cast<ssize_t>(size)) {
          finish_slot(i, false, "send failed");
          continue;
        }
        s.state = 2;
        epoll_event e{};
        e.events = EPOLLIN | EPOLLRDHUP;
        e.data.u64 = i;
        epoll_ctl(ep, EPOLL_CTL_MOD, s.fd, &e);
      } else if (s.state == 2) {
        ssize_t r = recv(s.fd, buf.data(), size - s.got, 0);
        if (r > 0) {
          s.got += static_cast<size_t>(r);
          if (s.got == size) finish_slot(i, true, "");
        } else if (r == 0) {
          finish_slot(i, false, "closed before echo");
        } else if (errno != EAGAIN && errno != EINTR) {
          finish_slot(i, false, (std::string("recv: ") + std::strerror(errno)).c_str());
        }
      }
    }
  }
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(cycle_us.begin(), cycle_us.end());
  std::printf("connrate conns=%llu errors=%llu seconds=%.3f conn_per_s=%.0f p50_us=%.1f p99_us=%.1f\n",
              static_cast<unsigned long long>(done), static_cast<unsigned long long>(errors), secs,
              static_cast<double>(done) / secs, bench::percentile(cycle_us, 0.5), bench::percentile(cycle_us, 0.99));
  for (auto& [k, v] : error_kinds) std::fprintf(stderr, "bench_client: connrate error %s: %llu\n", k.c_str(), static_cast<unsigned long long>(v));
  return 0;
}

// --------------------------------------------------------------------------------------- hold
// Blocks the signals that end a hold and returns a signalfd that reports them.
int release_signals() {
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigaddset(&mask, SIGHUP);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  int sfd = signalfd(-1, &mask, SFD_CLOEXEC);
  if (sfd < 0) fail_errno("signalfd");
  return sfd;
}

// Blocks until SIGTERM/SIGINT/SIGHUP (already blocked, delivered to `sfd`), stdin's end (unless
// --ignore-stdin) or --max-seconds; returns how many of `fds` the far end closed meanwhile.
size_t wait_for_release(const Args& a, int sfd, const std::vector<int>& fds) {
  int ep = epoll_create1(EPOLL_CLOEXEC);
  epoll_event e{};
  e.events = EPOLLIN;
  e.data.u64 = UINT64_MAX;
  epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &e);
  bool wait = true;
  if (!a.ignore_stdin) {
    e.data.u64 = UINT64_MAX - 1;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, 0, &e) != 0 && errno == EPERM) {
      // stdin is a regular file or /dev/null: it counts as closed once read to its end.
      char b[4096];
      while (read(0, b, sizeof b) > 0) {}
      wait = false;
    }
  }
  for (size_t i = 0; i < fds.size(); ++i) {
    e.events = EPOLLRDHUP;
    e.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &e);
  }
  size_t lost = 0;
  std::vector<epoll_event> evs(64);
  while (wait) {
    int n = epoll_wait(ep, evs.data(), static_cast<int>(evs.size()), -1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) fail_errno("epoll_wait");
    for (int k = 0; k < n && wait; ++k) {
      uint64_t id = evs[k].data.u64;
      if (id == UINT64_MAX) {
        wait = false;
      } else if (id == UINT64_MAX - 1) {
        char b[4096];
        if (read(0, b, sizeof b) <= 0) wait = false;
      } else {
        epoll_ctl(ep, EPOLL_CTL_DEL, fds[id], nullptr);
        ++lost;
      }
    }
  }
  close(ep);
  return lost;
}

int run_hold(const Args& a) {
  Target t = target_of(a);
  raise_nofile();
  long count = a.count > 0 ? a.count : 1000;
  int sfd = release_signals();

  std::vector<int> fds;
  fds.reserve(static_cast<size_t>(count));
  char out[64], in[64];
  std::memset(out, 'h', sizeof out);
  for (long i = 0; i < count; ++i) {
    int fd = connect_blocking(t);
    if (fd < 0) fail_errno("hold: connect #" + std::to_string(i + 1));
    if (a.ping) {
      if (!send_all(fd, out, sizeof out) || !recv_all(fd, in, sizeof in))
        fail("hold: round trip on connection #" + std::to_string(i + 1) + " failed");
    }
    fds.push_back(fd);
  }
  std::printf("holding %zu\n", fds.size());
  std::fflush(stdout);

  size_t lost = wait_for_release(a, sfd, fds);
  for (int fd : fds) close(fd);
  std::printf("released count=%zu lost=%zu\n", fds.size(), lost);
  return 0;
}

// -------------------------------------------------------------------------------------- stuck
// Sends on every connection until none has taken a byte for --quiet-ms (the proxy and the kernel
// buffers are full), never reading: what a stuck client costs the proxy in between.
uint64_t fill_until_stuck(const std::vector<int>& fds, size_t chunk, uint64_t cap, long quiet_ms) {
  std::vector<char> buf(chunk, 's');
  std::vector<uint64_t> sent(fds.size(), 0);
  uint64_t total = 0;
  auto last_progress = Clock::now();
  while (Clock::now() - last_progress < std::chrono::milliseconds(quiet_ms)) {
    for (size_t i = 0; i < fds.size(); ++i) {
      while (sent[i] < cap) {
        ssize_t w = send(fds[i], buf.data(), std::min<uint64_t>(chunk, cap - sent[i]), MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w <= 0) break;
        sent[i] += static_cast<uint64_t>(w);
        total += static_cast<uint64_t>(w);
        last_progress = Clock::now();
      }
    }
    usleep(10000);
  }
  return total;
}

int run_stuck(const Args& a) {
  Target t = target_of(a);
  raise_nofile();
  long count = a.count > 0 ? a.count : 100;
  int sfd = release_signals();
  std::vector<int> fds;
  for (long i = 0; i < count; ++i) {
    int fd = connect_blocking(t);
    if (fd < 0) fail_errno("stuck: connect #" + std::to_string(i + 1));
    fds.push_back(fd);
  }
  const uint64_t cap = static_cast<uint64_t>(a.mb * 1024 * 1024);
  uint64_t total = fill_until_stuck(fds, static_cast<size_t>(std::max(1L, a.size)), cap, a.quiet_ms);
  std::printf("stuck count=%zu sent_mb=%.1f\n", fds.size(), static_cast<double>(total) / (1024.0 * 1024.0));
  std::fflush(stdout);
  size_t lost = wait_for_release(a, sfd, fds);
  for (int fd : fds) close(fd);
  std::printf("released count=%zu lost=%zu\n", fds.size(), lost);
  return 0;
}

// -------------------------------------------------------------------------------------- stall
double realtime_ms() {
  timespec ts{};
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) / 1e6;
}

// Request number SEQ: 8 bytes SEQ, 8 bytes send time, then a pattern that depends on SEQ.
void fill_request(std::vector<char>& out, uint64_t seq, uint64_t send_ns) {
  const size_t size = out.size();
  uint64_t x = seq * 0x9E3779B97F4A7C15ull + 1;
  for (size_t k = 0; k < size; ++k) {
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    out[k] = static_cast<char>(x >> 56);
  }
  std::memcpy(out.data(), &seq, std::min<size_t>(8, size));
  if (size >= 16) std::memcpy(out.data() + 8, &send_ns, 8);
}

int run_stall(const Args& a) {
  Target t = target_of(a);
  const size_t size = static_cast<size_t>(std::max(16L, a.size));
  const int timeout_ms = static_cast<int>(std::max(1L, a.timeout_ms));
  int fd = connect_blocking(t);
  if (fd < 0) fail_errno("connect " + a.connect);
  std::vector<char> out(size), in(size);
  std::vector<double> us;
  us.reserve(1 << 20);
  uint64_t rtts = 0, lost = 0, corrupt = 0, dup = 0, extra = 0, closed = 0;
  double max_gap = 0, gap_start = 0, gap_end = 0;
  const auto t0 = Clock::now();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(a.seconds));
  auto last = t0;
  double last_wall = realtime_ms();
  std::string problem;

  // Receive exactly N bytes within the timeout: 1 ok, 0 closed, -1 error, -2 timeout.
  auto recv_timed = [&](char* p, size_t n) -> int {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    while (n > 0) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
      if (left < 0) return -2;
      pollfd p1{fd, POLLIN, 0};
      int k = poll(&p1, 1, left);
      if (k < 0 && errno == EINTR) continue;
      if (k < 0) return -1;
      if (k == 0) return -2;
      ssize_t r = recv(fd, p, n, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return 0;
      if (r < 0) return -1;
      p += r;
      n -= static_cast<size_t>(r);
    }
    return 1;
  };

  for (uint64_t seq = 1; Clock::now() < end; ++seq) {
    auto s0 = Clock::now();
    fill_request(out, seq, static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(s0.time_since_epoch()).count()));
    if (!send_all(fd, out.data(), size)) {
      closed = 1;
      problem = std::string("send failed after ") + std::to_string(rtts) + " round trips: " + std::strerror(errno);
      break;
    }
    int r = recv_timed(in.data(), size);
    auto s1 = Clock::now();
    double wall = realtime_ms();
    if (r != 1) {
      if (r == -2) {
        lost = 1;
        problem = "no reply to request " + std::to_string(seq) + " within " + std::to_string(timeout_ms) + " ms";
      } else {
        closed = 1;
        problem = "connection " + std::string(r == 0 ? "closed by the peer" : std::strerror(errno)) + " while waiting for reply " + std::to_string(seq);
      }
      // The wait counts as a gap too.
      double g = std::chrono::duration<double, std::milli>(s1 - last).count();
      if (g > max_gap) { max_gap = g; gap_start = last_wall; gap_end = wall; }
      if (a.gap_log_ms > 0 && g >= a.gap_log_ms) std::fprintf(stderr, "gap ms=%.1f start_ms=%.0f end_ms=%.0f\n", g, last_wall, wall);
      break;
    }
    if (std::memcmp(in.data(), out.data(), size) != 0) {
      uint64_t got_seq = 0;
      std::memcpy(&got_seq, in.data(), 8);
      std::vector<char> expect(size);
      uint64_t got_ns = 0;
      std::memcpy(&got_ns, in.data() + 8, 8);
      if (got_seq > 0 && got_seq < seq) {
        fill_request(expect, got_seq, got_ns);
        if (std::memcmp(in.data(), expect.data(), size) == 0) dup = 1;
      }
      if (!dup) corrupt = 1;
      problem = std::string(dup ? "duplicate of request " + std::to_string(got_seq) : "wrong bytes") + " in reply " + std::to_string(seq);
      break;
    }
    ++rtts;
    us.push_back(std::chrono::duration<double, std::micro>(s1 - s0).count());
    double g = std::chrono::duration<double, std::milli>(s1 - last).count();
    if (g > max_gap) { max_gap = g; gap_start = last_wall; gap_end = wall; }
    if (a.gap_log_ms > 0 && g >= a.gap_log_ms) std::fprintf(stderr, "gap ms=%.1f start_ms=%.0f end_ms=%.0f\n", g, last_wall, wall);
    last = s1;
    last_wall = wall;
  }
  if (!closed && !lost) {
    // Stray bytes after the last reply: a duplicate (or worse) that came late.
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    auto until = Clock::now() + std::chrono::milliseconds(200);
    for (;;) {
      int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now()).count());
      if (left <= 0) break;
      pollfd p1{fd, POLLIN, 0};
      if (poll(&p1, 1, left) <= 0) break;
      char b[4096];
      ssize_t r = recv(fd, b, sizeof b, 0);
      if (r > 0) { extra += static_cast<uint64_t>(r); continue; }
      if (r == 0) { closed = 1; if (problem.empty()) problem = "connection closed by the peer after the last reply"; }
      break;
    }
    if (extra && problem.empty()) problem = std::to_string(extra) + " bytes after the last reply";
  }
  close(fd);
  double secs = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(us.begin(), us.end());
  const bool ok = !lost && !corrupt && !dup && !extra && !closed;
  std::printf("stall rtts=%llu seconds=%.3f max_gap_ms=%.1f gap_start_ms=%.0f gap_end_ms=%.0f p50_us=%.1f p99_us=%.1f lost=%llu corrupt=%llu dup=%llu extra_bytes=%llu closed=%llu ok=%d\n",
              static_cast<unsigned long long>(rtts), secs, max_gap, gap_start, gap_end, bench::percentile(us, 0.5),
              bench::percentile(us, 0.99), static_cast<unsigned long long>(lost), static_cast<unsigned long long>(corrupt),
              static_cast<unsigned long long>(dup), static_cast<unsigned long long>(extra),
              static_cast<unsigned long long>(closed), ok ? 1 : 0);
  std::fflush(stdout);
  if (!ok) {
    std::fprintf(stderr, "bench_client: stall: %s\n", problem.c_str());
    return 4;
  }
  return 0;
}

// --------------------------------------------------------------------------------------- misc
int run_wait(const Args& a) {
  Target t = target_of(a);
  auto deadline = Clock::now() + std::chrono::milliseconds(a.timeout_ms);
  for (;;) {
    int fd = connect_blocking(t);
    if (fd >= 0) {
      close(fd);
      return 0;
    }
    if (Clock::now() >= deadline) {
      std::fprintf(stderr, "bench_client: %s not reachable after %ld ms: %s\n", a.connect.c_str(), a.timeout_ms,
                   std::strerror(errno));
      return 1;
    }
    usleep(20000);
  }
}

int run_freeport(const Args& a) {
  std::vector<int> fds;
  for (long i = 0; i < std::max(1L, a.nports); ++i) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) fail_errno("freeport bind");
    socklen_t l = sizeof sa;
    getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &l);
    std::printf("%d\n", ntohs(sa.sin_port));
    fds.push_back(fd);  // kept open until all are chosen so that they differ
  }
  for (int fd : fds) close(fd);
  return 0;
}

void usage() {
  std::printf(
      "usage: bench_client MODE [options]\n"
      "  rtt      --connect ADDR [--count N] [--warmup N] [--size B]\n"
      "  bulk     --connect ADDR [--mb MiB] [--chunk-kb KiB]\n"
      "  connrate --connect ADDR [--seconds S] [--concurrency C] [--size B]\n"
      "  hold     --connect ADDR [--count N] [--no-ping] [--ignore-stdin]\n"
      "  stuck    --connect ADDR [--count N] [--size B] [--mb MiB] [--quiet-ms MS] [--ignore-stdin]\n"
      "  stall    --connect ADDR [--seconds S] [--size B] [--timeout-ms MS] [--gap-log-ms MS]\n"
      "  wait     --connect ADDR [--timeout-ms MS]\n"
      "  freeport [N]\n"
      "  common:  --max-seconds S (default 300)\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    usage();
    return argc < 2 ? 2 : 0;
  }
  signal(SIGPIPE, SIG_IGN);
  Args a;
  a.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) fail("missing value for " + k);
      return argv[++i];
    };
    if (k == "--connect") a.connect = val();
    else if (k == "--count") a.count = std::stol(val());
    else if (k == "--warmup") a.warmup = std::stol(val());
    else if (k == "--size") a.size = std::stol(val());
    else if (k == "--mb") a.mb = std::stod(val());
    else if (k == "--chunk-kb") a.chunk_kb = std::stol(val());
    else if (k == "--seconds") a.seconds = std::stod(val());
    else if (k == "--concurrency") a.concurrency = std::stol(val());
    else if (k == "--timeout-ms") a.timeout_ms = std::stol(val());
    else if (k == "--max-seconds") a.max_seconds = std::stod(val());
    else if (k == "--gap-log-ms") a.gap_log_ms = std::stod(val());
    else if (k == "--quiet-ms") a.quiet_ms = std::stol(val());
    else if (k == "--no-ping") a.ping = false;
    else if (k == "--ignore-stdin") a.ignore_stdin = true;
    else if (a.mode == "freeport" && !k.empty() && k[0] != '-') a.nports = std::stol(k);
    else fail("unknown argument " + k + " (try --help)");
  }
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, nullptr);
  if (a.max_seconds > 0) alarm(static_cast<unsigned>(a.max_seconds + 0.999));

  if (a.mode == "rtt") return run_rtt(a);
  if (a.mode == "bulk") return run_bulk(a);
  if (a.mode == "connrate") return run_connrate(a);
  if (a.mode == "hold") return run_hold(a);
  if (a.mode == "stuck") return run_stuck(a);
  if (a.mode == "stall") return run_stall(a);
  if (a.mode == "wait") return run_wait(a);
  if (a.mode == "freeport") return run_freeport(a);
  usage();
  return 2;
}
