// cnats_floor: the floor under twinhub's hub mode. A bare cnats request/reply between two processes
// through the NATS hubs, with nothing of twinhub in between: what one 64-byte round trip through a
// hub costs at least. bench/run.sh reports it as the cnats-floor rows and divides the twinhub-hub
// p50 by it.
//
//   cnats_floor pair    --requester-url URL --responder-url URL [--count 20000] [--warmup N]
//                       [--size 64] [--subject floor.echo]
//       Starts a responder process (this binary, mode respond) connected to --responder-url, then
//       sends COUNT sequential SIZE-byte requests from this process through --requester-url and
//       checks every reply byte. The same URL twice: both on one hub; requester on edge and
//       responder on central: the leaf link in between (the "cross-hub" variant).
//       -> floor count=N p50_us= p90_us= p99_us= p999_us= min_us= max_us= mean_us=
//   cnats_floor respond --url URL [--subject floor.echo]
//       Subscribes SUBJECT and replies with the request's bytes; prints "ready" once the server has
//       the subscription; runs until stdin closes, SIGTERM or SIGINT.
//   cnats_floor request --url URL [--count ...] [--warmup ...] [--size ...] [--subject ...]
//       The requester alone (for a responder started elsewhere).
//   cnats_floor stream  --url URL [--mb 256] [--size 16384]
//       The one-way bulk floor: one connection publishes MiB in SIZE-byte messages, a second one on
//       the same URL receives them (each byte crosses the hub once).
//       -> stream bytes=N seconds= mb_per_s=
//   cnats_floor echo-bulk --requester-url URL --responder-url URL [--mb 256] [--size 16384]
//                         [--window 524288] [--subject floor.echo]
//       The echo bulk floor, the bare-cnats counterpart of a hub-mode bulk echo (each byte crosses
//       the hub twice): starts a responder process (mode respond, subject SUBJECT.bulk) on
//       --responder-url that re-publishes every message to its reply subject; this process
//       publishes MiB in SIZE-byte messages (each with the reply subject) through --requester-url
//       while at most WINDOW bytes are in flight (published, not yet echoed back: a steady stream,
//       not an unbounded flood), and receives the echoes on one subscription of its own connection.
//       Every echoed message is checked byte for byte and in order (each message carries its
//       sequence number and a pattern that depends on it). Timed from the first publish to the
//       last echoed byte; MB = 10^6 bytes of echoed payload.
//       -> echo-bulk bytes=N messages=M size=S window=W seconds= mb_per_s=
//
// Threads: cnats's defaults (a reader thread per connection, a delivery thread per async
// subscription), as a user of cnats would write it. One option differs from cnats's defaults: both
// sides use natsOptions_SetSendAsap(true), as the sidecar's hub connections do: a publish goes
// out at once instead of waiting for cnats's flusher thread (--send-asap 0 gives cnats's default). Requests use natsConnection_Request
// (one shared reply subscription). Warm-up requests that find no responder yet (interest still
// crossing the leaf link) are retried for up to 5 s. Common: --max-seconds S (default 300),
// --send-asap 0 (both sides leave publishes to cnats's flusher thread, cnats's default: for
// comparison only).
#include <nats/nats.h>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "latency_summary.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

struct Args {
  std::string mode;
  std::string url, requester_url, responder_url;
  std::string subject = "floor.echo";
  long count = 20000;
  long warmup = -1;
  long size = 64;
  double max_seconds = 300;
  bool send_asap = true;
  long mb = 256;
  long window = 512 * 1024;
};

bool g_send_asap = true;

pid_t g_child = -1;

[[noreturn]] void fail(const std::string& msg) {
  std::fprintf(stderr, "cnats_floor: %s\n", msg.c_str());
  if (g_child > 0) kill(g_child, SIGTERM);
  std::exit(1);
}

void on_alarm(int) {
  const char msg[] = "cnats_floor: --max-seconds exceeded, aborting\n";
  ssize_t r = write(2, msg, sizeof msg - 1);
  (void)r;
  if (g_child > 0) kill(g_child, SIGTERM);
  _exit(3);
}

natsConnection* connect_to(const std::string& url) {
  natsOptions* opts = nullptr;
  natsConnection* nc = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, url.c_str());
  if (s == NATS_OK) s = natsOptions_SetSendAsap(opts, g_send_asap);
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, 2000);
  if (s == NATS_OK) s = natsConnection_Connect(&nc, opts);
  natsOptions_Destroy(opts);
  if (s != NATS_OK) fail("connect " + url + ": " + natsStatus_GetText(s));
  return nc;
}

// ------------------------------------------------------------------------------------- respond
std::atomic<long> g_replied{0};

void on_request(natsConnection* nc, natsSubscription*, natsMsg* msg, void*) {
  const char* reply = natsMsg_GetReply(msg);
  if (reply) natsConnection_Publish(nc, reply, natsMsg_GetData(msg), natsMsg_GetDataLength(msg));
  natsMsg_Destroy(msg);
  g_replied.fetch_add(1, std::memory_order_relaxed);
}

int run_respond(const Args& a) {
  if (a.url.empty()) fail("respond: --url is required");
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  pthread_sigmask(SIG_BLOCK, &mask, nullptr);  // cnats's threads inherit the mask; main polls below
  natsConnection* nc = connect_to(a.url);
  natsSubscription* sub = nullptr;
  natsStatus s = natsConnection_Subscribe(&sub, nc, a.subject.c_str(), on_request, nullptr);
  if (s == NATS_OK) s = natsSubscription_SetPendingLimits(sub, -1, -1);
  if (s == NATS_OK) s = natsConnection_FlushTimeout(nc, 2000);
  if (s != NATS_OK) fail(std::string("respond: subscribe: ") + natsStatus_GetText(s));
  std::printf("ready\n");
  std::fflush(stdout);
  // Until stdin closes (the parent went away) or a signal.
  for (;;) {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGTERM) || sigismember(&pending, SIGINT)) break;
    pollfd p{0, POLLIN, 0};
    int n = poll(&p, 1, 100);
    if (n > 0) {
      char b[256];
      if (read(0, b, sizeof b) <= 0) break;
    }
  }
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
  std::fprintf(stderr, "cnats_floor: responder replied %ld\n", g_replied.load());
  return 0;
}

// ------------------------------------------------------------------------------------- request
int run_request(const Args& a, const std::string& url) {
  if (url.empty()) fail("request: --url is required");
  const long count = std::max(1L, a.count);
  const long warmup = a.warmup >= 0 ? a.warmup : std::max(100L, count / 10);
  const size_t size = static_cast<size_t>(std::max(1L, a.size));
  natsConnection* nc = connect_to(url);
  std::vector<char> out(size);
  std::vector<double> us;
  us.reserve(static_cast<size_t>(count));
  const auto give_up = Clock::now() + std::chrono::seconds(5);
  for (long i = 0; i < warmup + count; ++i) {
    for (size_t k = 0; k < size; ++k) out[k] = static_cast<char>('a' + (i + static_cast<long>(k)) % 26);
    natsMsg* reply = nullptr;
    auto t0 = Clock::now();
    natsStatus s = natsConnection_Request(&reply, nc, a.subject.c_str(), out.data(), static_cast<int>(size), 2000);
    auto t1 = Clock::now();
    if (s != NATS_OK) {
      // Interest may still be on its way across the leaf link: retry during the warm-up only.
      if (i < warmup && i == 0 && Clock::now() < give_up && (s == NATS_NO_RESPONDERS || s == NATS_TIMEOUT)) {
        usleep(20000);
        --i;
        continue;
      }
      fail("request #" + std::to_string(i) + ": " + natsStatus_GetText(s));
    }
    if (natsMsg_GetDataLength(reply) != static_cast<int>(size) || std::memcmp(natsMsg_GetData(reply), out.data(), size) != 0)
      fail("reply #" + std::to_string(i) + " differs from the request");
    natsMsg_Destroy(reply);
    if (i >= warmup) us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
  }
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
  bench::printLatencyLine("floor", us);
  std::fflush(stdout);
  return 0;
}

// ---------------------------------------------------------------------------------------- pair
// A responder child (this binary, mode respond on URL and SUBJECT); returns once it printed
// "ready". Its stdin is a pipe held by this process: stop_responder closes it and reaps the child.
int g_to_child = -1;

void start_responder(const Args& a, const std::string& url, const std::string& subject) {
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0 || pipe2(from_child, O_CLOEXEC) != 0) fail("pipe failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, to_child[0], 0);
  posix_spawn_file_actions_adddup2(&fa, from_child[1], 1);
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n <= 0) fail("readlink /proc/self/exe failed");
  self[n] = 0;
  std::vector<std::string> args = {self, "respond", "--url", url, "--subject", subject,
                                   "--max-seconds", std::to_string(static_cast<long>(a.max_seconds) + 5),
                                   "--send-asap", a.send_asap ? "1" : "0"};
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  if (posix_spawn(&g_child, self, &fa, nullptr, argv.data(), environ) != 0) fail("could not start the responder");
  posix_spawn_file_actions_destroy(&fa);
  close(to_child[0]);
  close(from_child[1]);
  g_to_child = to_child[1];
  // Wait for "ready".
  std::string got;
  auto deadline = Clock::now() + std::chrono::seconds(10);
  while (got.find("ready\n") == std::string::npos) {
    pollfd p{from_child[0], POLLIN, 0};
    int left = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count());
    if (left <= 0 || poll(&p, 1, left) <= 0) fail("the responder did not get ready within 10 s");
    char b[256];
    ssize_t r = read(from_child[0], b, sizeof b);
    if (r <= 0) fail("the responder exited before it was ready");
    got.append(b, static_cast<size_t>(r));
  }
  close(from_child[0]);
}

void stop_responder() {
  if (g_to_child >= 0) close(g_to_child);  // the responder exits when its stdin closes
  g_to_child = -1;
  int status = 0;
  for (int i = 0; i < 50 && g_child > 0; ++i) {
    if (waitpid(g_child, &status, WNOHANG) == g_child) {
      g_child = -1;
      break;
    }
    usleep(20000);
  }
  if (g_child > 0) {
    kill(g_child, SIGKILL);
    waitpid(g_child, &status, 0);
    g_child = -1;
  }
}

int run_pair(const Args& a) {
  if (a.requester_url.empty() || a.responder_url.empty()) fail("pair: --requester-url and --responder-url are required");
  start_responder(a, a.responder_url, a.subject);
  int rc = run_request(a, a.requester_url);
  stop_responder();
  return rc;
}

// -------------------------------------------------------------------------------------- stream
// The bulk floor: one connection publishes --mb MiB in --size-byte messages (default 16 KiB, the
// sidecars' DATA frame size), a second connection subscribed through the same URL receives them all.
std::atomic<long> g_stream_received{0};

void on_stream(natsConnection*, natsSubscription*, natsMsg* msg, void*) {
  g_stream_received += natsMsg_GetDataLength(msg);
  natsMsg_Destroy(msg);
}

int run_stream(const Args& a, long mb) {
  if (a.url.empty()) fail("stream needs --url");
  natsConnection* sub_nc = connect_to(a.url);
  natsConnection* pub_nc = connect_to(a.url);
  natsSubscription* sub = nullptr;
  const std::string subject = a.subject + ".stream";
  if (natsConnection_Subscribe(&sub, sub_nc, subject.c_str(), on_stream, nullptr) != NATS_OK) fail("subscribe");
  natsSubscription_SetPendingLimits(sub, -1, 1024L * 1024 * 1024);
  natsConnection_Flush(sub_nc);
  natsConnection_Flush(pub_nc);
  const long total = mb * 1024 * 1024;
  const std::string payload(static_cast<size_t>(a.size), 'x');
  const auto start = Clock::now();
  for (long sent = 0; sent < total; sent += a.size) {
    if (natsConnection_Publish(pub_nc, subject.c_str(), payload.data(), static_cast<int>(payload.size())) != NATS_OK) {
      fail("publish failed");
    }
  }
  natsConnection_Flush(pub_nc);
  const long expected = (total + a.size - 1) / a.size * a.size;
  while (g_stream_received.load() < expected) std::this_thread::sleep_for(std::chrono::microseconds(200));
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  std::printf("stream bytes=%ld seconds=%.3f mb_per_s=%.1f\n", expected, seconds, expected / seconds / 1e6);
  natsSubscription_Destroy(sub);
  natsConnection_Destroy(pub_nc);
  natsConnection_Destroy(sub_nc);
  return 0;
}

// ----------------------------------------------------------------------------------- echo-bulk
// The echo bulk floor (see the header). The payload is one stream, as bench_client bulk sends it: a
// pseudo-random pattern with a prime period, the byte at stream offset o is pattern[o % kPeriod];
// message i is the `size` bytes at offset i * size (the last one may be shorter), so a message out
// of order, lost or duplicated no longer matches (two messages look alike only kPeriod apart).
constexpr size_t kPeriod = 65521;

struct EchoState {
  std::mutex mu;
  std::condition_variable cv;
  long received_bytes = 0;  // echoed bytes received and checked, in order
  long total = 0;           // bytes to echo in all
  std::string error;        // the first problem, if any
  std::vector<char> pattern;
};
EchoState g_echo;

void on_echo(natsConnection*, natsSubscription*, natsMsg* msg, void*) {
  const char* data = natsMsg_GetData(msg);
  const long len = natsMsg_GetDataLength(msg);
  {
    std::lock_guard<std::mutex> lock(g_echo.mu);
    if (g_echo.error.empty()) {
      const long off = g_echo.received_bytes;
      if (off + len > g_echo.total) {
        g_echo.error = "an echo of " + std::to_string(len) + " bytes beyond the end (" + std::to_string(off) + " of " +
                       std::to_string(g_echo.total) + " bytes echoed before it)";
      } else if (std::memcmp(data, g_echo.pattern.data() + off % kPeriod, static_cast<size_t>(len)) != 0) {
        g_echo.error = "the echo at offset " + std::to_string(off) + " (" + std::to_string(len) +
                       " bytes) differs from what was sent there (lost, reordered or changed)";
      } else {
        g_echo.received_bytes = off + len;
      }
    }
  }
  natsMsg_Destroy(msg);
  g_echo.cv.notify_one();
}

int run_echo_bulk(const Args& a) {
  if (a.requester_url.empty() || a.responder_url.empty()) fail("echo-bulk: --requester-url and --responder-url are required");
  const long size = std::max(1L, a.size);
  const long window = std::max(size, a.window);
  const long total = std::max(1L, a.mb) * 1024 * 1024;
  const long messages = (total + size - 1) / size;
  g_echo.total = total;
  g_echo.pattern.resize(kPeriod + static_cast<size_t>(size));
  uint32_t x = 2463534242u;
  for (size_t i = 0; i < kPeriod; ++i) {
    x ^= x << 13; x ^= x >> 17; x ^= x << 5;
    g_echo.pattern[i] = static_cast<char>(x >> 24);
  }
  for (size_t i = kPeriod; i < g_echo.pattern.size(); ++i) g_echo.pattern[i] = g_echo.pattern[i % kPeriod];
  const std::string subject = a.subject + ".bulk";
  const std::string reply = a.subject + ".bulk.echo." + std::to_string(getpid());
  start_responder(a, a.responder_url, subject);
  natsConnection* nc = connect_to(a.requester_url);
  natsSubscription* sub = nullptr;
  if (natsConnection_Subscribe(&sub, nc, reply.c_str(), on_echo, nullptr) != NATS_OK) fail("echo-bulk: subscribe");
  natsSubscription_SetPendingLimits(sub, -1, -1);
  if (natsConnection_FlushTimeout(nc, 2000) != NATS_OK) fail("echo-bulk: flush");
  // The responder's interest may still be on its way (another hub): one small request first,
  // retried for up to 5 s.
  {
    const auto give_up = Clock::now() + std::chrono::seconds(5);
    for (;;) {
      natsMsg* r = nullptr;
      natsStatus s = natsConnection_Request(&r, nc, subject.c_str(), "probe", 5, 2000);
      if (s == NATS_OK) {
        natsMsg_Destroy(r);
        break;
      }
      if (Clock::now() >= give_up || (s != NATS_NO_RESPONDERS && s != NATS_TIMEOUT))
        fail(std::string("echo-bulk: probe request: ") + natsStatus_GetText(s));
      usleep(20000);
    }
  }
  const auto start = Clock::now();
  long sent = 0;
  for (long i = 0; i < messages; ++i) {
    const long len = std::min(size, total - sent);
    {
      // Wait until this message fits in the window; give up after 10 s without progress.
      std::unique_lock<std::mutex> lock(g_echo.mu);
      long seen = g_echo.received_bytes;
      while (g_echo.error.empty() && sent - g_echo.received_bytes + len > window) {
        if (!g_echo.cv.wait_for(lock, std::chrono::seconds(10), [&] {
              return !g_echo.error.empty() || sent - g_echo.received_bytes + len <= window ||
                     g_echo.received_bytes != seen;
            })) {
          fail("echo-bulk: no echo for 10 s (sent " + std::to_string(sent) + " bytes, " +
               std::to_string(g_echo.received_bytes) + " echoed)");
        }
        seen = g_echo.received_bytes;
      }
      if (!g_echo.error.empty()) fail("echo-bulk: " + g_echo.error);
    }
    natsStatus s = natsConnection_PublishRequest(nc, subject.c_str(), reply.c_str(),
                                                 g_echo.pattern.data() + sent % kPeriod, static_cast<int>(len));
    if (s != NATS_OK) fail(std::string("echo-bulk: publish: ") + natsStatus_GetText(s));
    sent += len;
  }
  natsConnection_Flush(nc);
  {
    std::unique_lock<std::mutex> lock(g_echo.mu);
    while (g_echo.error.empty() && g_echo.received_bytes < total) {
      long seen = g_echo.received_bytes;
      if (!g_echo.cv.wait_for(lock, std::chrono::seconds(10),
                              [&] { return !g_echo.error.empty() || g_echo.received_bytes != seen; }))
        fail("echo-bulk: no echo for 10 s at the end (" + std::to_string(g_echo.received_bytes) + " of " +
             std::to_string(total) + " bytes echoed)");
    }
    if (!g_echo.error.empty()) fail("echo-bulk: " + g_echo.error);
  }
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  // A stray echo after the last one would be a duplicate: give it a moment to show up.
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  {
    std::lock_guard<std::mutex> lock(g_echo.mu);
    if (!g_echo.error.empty()) fail("echo-bulk: " + g_echo.error);
  }
  std::printf("echo-bulk bytes=%ld messages=%ld size=%ld window=%ld seconds=%.3f mb_per_s=%.1f\n", total, messages,
              size, window, seconds, total / seconds / 1e6);
  std::fflush(stdout);
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  natsConnection_Close(nc);
  natsConnection_Destroy(nc);
  stop_responder();
  return 0;
}

void usage() {
  std::printf(
      "usage: cnats_floor MODE [options]\n"
      "  pair    --requester-url URL --responder-url URL [--count N] [--warmup N] [--size B] [--subject S]\n"
      "  respond --url URL [--subject S]\n"
      "  request --url URL [--count N] [--warmup N] [--size B] [--subject S]\n"
      "  stream  --url URL [--mb MiB] [--size B]   one-way bulk pub/sub floor (--size default 16384)\n"
      "  echo-bulk --requester-url URL --responder-url URL [--mb MiB] [--size B] [--window BYTES]\n"
      "          bulk echo floor: SIZE-byte messages (default 16384) echoed by a responder process,\n"
      "          at most WINDOW bytes in flight (default 524288), every byte checked in order\n"
      "  common: --max-seconds S (default 300), --send-asap 0|1 (default 1)\n");
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
  if (a.mode == "stream" || a.mode == "echo-bulk") a.size = 16384;
  for (int i = 2; i < argc; ++i) {
    std::string k = argv[i];
    auto val = [&]() -> std::string {
      if (i + 1 >= argc) fail("missing value for " + k);
      return argv[++i];
    };
    if (k == "--url") a.url = val();
    else if (k == "--requester-url") a.requester_url = val();
    else if (k == "--responder-url") a.responder_url = val();
    else if (k == "--subject") a.subject = val();
    else if (k == "--count") a.count = std::stol(val());
    else if (k == "--warmup") a.warmup = std::stol(val());
    else if (k == "--size") a.size = std::stol(val());
    else if (k == "--max-seconds") a.max_seconds = std::stod(val());
    else if (k == "--send-asap") a.send_asap = val() != "0";
    else if (k == "--mb") a.mb = std::stol(val());
    else if (k == "--window") a.window = std::stol(val());
    else fail("unknown argument " + k + " (try --help)");
  }
  struct sigaction sa{};
  sa.sa_handler = on_alarm;
  sigaction(SIGALRM, &sa, nullptr);
  if (a.max_seconds > 0) alarm(static_cast<unsigned>(a.max_seconds + 0.999));
  g_send_asap = a.send_asap;

  int rc = 2;
  if (a.mode == "pair") rc = run_pair(a);
  else if (a.mode == "respond") rc = run_respond(a);
  else if (a.mode == "request") rc = run_request(a, a.url);
  else if (a.mode == "stream") rc = run_stream(a, a.mb);
  else if (a.mode == "echo-bulk") rc = run_echo_bulk(a);
  else usage();
  nats_CloseAndWait(2000);
  return rc;
}
