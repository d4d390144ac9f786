#include "support/nats_hubs.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "support/test_servers.h"

namespace twinhub::test {

namespace {

constexpr auto kStartTimeout = 10s;  // nats-server starts in ~20 ms; this is for a loaded machine

using Clock = std::chrono::steady_clock;

int remainingMs(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left > 0 ? static_cast<int>(left) : 0;
}

// A socket connected to 127.0.0.1:port, or -1. Connect to a live listener on loopback completes at
// once (even when the server is frozen: the kernel accepts into the backlog).
int connectLoopback(int port, Clock::time_point deadline) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    if (errno != EINPROGRESS) {
      ::close(fd);
      return -1;
    }
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (::poll(&p, 1, remainingMs(deadline)) != 1 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
        err != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

// Reads until `done(data)` holds, EOF, an error or the deadline. Returns what was read.
std::string readUntil(int fd, Clock::time_point deadline, const std::function<bool(const std::string&)>& done) {
  std::string data;
  char buf[4096];
  while (!done(data)) {
    pollfd p{fd, POLLIN, 0};
    int left = remainingMs(deadline);
    if (left == 0 || ::poll(&p, 1, left) != 1) break;
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  return data;
}

bool sendAll(int fd, const std::string& data, Clock::time_point deadline) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n > 0) {
      off += static_cast<size_t>(n);
      continue;
    }
    if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
    pollfd p{fd, POLLOUT, 0};
    int left = remainingMs(deadline);
    if (left == 0 || ::poll(&p, 1, left) != 1) return false;
  }
  return true;
}

// True when the server on `port` greets a new client with its INFO line.
bool greetsClients(int port, std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  int fd = connectLoopback(port, deadline);
  if (fd < 0) return false;
  std::string line = readUntil(fd, deadline, [](const std::string& d) { return d.find('\n') != std::string::npos; });
  ::close(fd);
  return line.rfind("INFO ", 0) == 0 && line.find('\n') != std::string::npos;
}

// Picks `n` distinct free ports of 127.0.0.1: all are bound at once (so they differ), then closed.
std::vector<int> pickFreePorts(int n) {
  std::vector<int> fds;
  std::vector<int> ports;
  try {
    for (int i = 0; i < n; ++i) {
      uint16_t port = 0;
      fds.push_back(bindLoopback(0, &port, "pickFreePorts"));
      ports.push_back(port);
    }
  } catch (...) {
    for (int fd : fds) ::close(fd);
    throw;
  }
  for (int fd : fds) ::close(fd);
  return ports;
}

// 'R', 'S', 'T' (stopped), ... from /proc/PID/stat; '?' when the process is gone.
char procState(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  std::getline(in, stat);
  auto paren = stat.rfind(')');  // the command name may hold spaces and parentheses
  if (paren == std::string::npos || paren + 2 >= stat.size()) return '?';
  return stat[paren + 2];
}

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("read " + path + ": " + std::strerror(errno));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

// "leafnodes": N from a /leafz body; -1 when absent.
int leafCount(const std::string& leafz) {
  static const std::regex re("\"leafnodes\"\\s*:\\s*(\\d+)");
  std::smatch m;
  if (!std::regex_search(leafz, m, re)) return -1;
  return std::stoi(m[1].str());
}

}  // namespace

std::string natsServerPath() {
  if (const char* env = std::getenv("NATS_SERVER"); env && *env) return env;
  if (::access("/usr/sbin/nats-server", X_OK) == 0) return "/usr/sbin/nats-server";
  if (const char* path = std::getenv("PATH")) {
    std::stringstream dirs(path);
    std::string dir;
    while (std::getline(dirs, dir, ':')) {
      std::string candidate = (dir.empty() ? "." : dir) + "/nats-server";
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
    }
  }
  throw std::runtime_error("nats-server not found (install the nats-server package or set NATS_SERVER)");
}

std::string renderShippedHubConfig(const std::string& name,
                                   const std::vector<std::pair<std::string, std::string>>& values) {
  const std::string path = std::string(TWINHUB_SOURCE_DIR) + "/deploy/nats/" + name + ".conf";
  std::istringstream in(readFile(path));
  // `key: value   # @tag` (or `key = value`); the tag names the site-specific value on that line.
  static const std::regex tagged(R"(^(\s*[A-Za-z_]+\s*[:=])[^#]*#\s*@([A-Za-z0-9_-]+)\s*$)");
  std::map<std::string, int> seen;
  std::string out;
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    std::smatch m;
    if (std::regex_match(line, m, tagged)) {
      const std::string tag = m[2].str();
      auto it = std::find_if(values.begin(), values.end(), [&](const auto& v) { return v.first == tag; });
      // A tag the helper does not know would leave a production value (a public address, a
      // system path) in a test config: refuse rather than run something else than intended.
      if (it == values.end()) {
        throw std::runtime_error(path + ":" + std::to_string(line_no) + ": tag @" + tag +
                                 " has no test value in tests/support/nats_hubs.cc");
      }
      ++seen[tag];
      line = m[1].str() + " " + it->second + "  # @" + tag;
    }
    out += line;
    out += '\n';
  }
  for (const auto& [tag, value] : values) {
    if (seen[tag] != 1) {
      throw std::runtime_error(path + ": expected exactly one line tagged # @" + tag + ", found " +
                               std::to_string(seen[tag]));
    }
  }
  return out;
}

NatsHub::NatsHub(std::string name, const std::string& config, const std::string& dir, Ports ports,
                 std::vector<std::string> env, std::string certs_dir)
    : name_(std::move(name)),
      ports_(ports),
      config_path_(dir + "/" + name_ + ".conf"),
      env_(std::move(env)),
      certs_dir_(std::move(certs_dir)) {
  {
    std::ofstream out(config_path_, std::ios::binary | std::ios::trunc);
    out << config;
    if (!out) throw std::runtime_error("write " + config_path_ + " failed");
  }
  start();
}

NatsHub::~NatsHub() = default;  // Process's destructor SIGKILLs a server that still runs

std::string NatsHub::url() const { return "nats://127.0.0.1:" + std::to_string(ports_.client); }

pid_t NatsHub::pid() const { return process_ ? process_->pid() : -1; }

bool NatsHub::running() { return process_ && process_->running(); }

std::string NatsHub::output() const { return earlier_output_ + (process_ ? process_->output() : ""); }

void NatsHub::start() {
  // A server already on one of these ports would answer the readiness probes for ours.
  for (int port : {ports_.client, ports_.monitor, ports_.leaf}) {
    if (port == 0) continue;
    int fd = connectLoopback(port, Clock::now() + 200ms);
    if (fd >= 0) {
      ::close(fd);
      throw std::runtime_error("nats-server " + name_ + ": 127.0.0.1:" + std::to_string(port) +
                               ": address already in use");
    }
  }
  if (process_) earlier_output_ += process_->output();
  process_ = std::make_unique<Process>(natsServerPath(), std::vector<std::string>{"-c", config_path_}, env_);
  bool up = waitFor([&] { return !process_->running() || ready(); }, kStartTimeout) && process_->running();
  if (!up) {
    process_->signal(SIGKILL);
    process_->wait(5s);
    throw std::runtime_error("nats-server " + name_ + " (" + config_path_ + ") did not become ready:\n" +
                             process_->output());
  }
}

bool NatsHub::ready() {
  if (!greetsClients(ports_.client, 200ms)) return false;
  // /healthz answers ok once JetStream is up too.
  return monitorGet("/healthz", 200ms).find("\"ok\"") != std::string::npos;
}

void NatsHub::kill() {
  if (!process_) return;
  process_->signal(SIGKILL);  // a stopped process dies too
  if (!process_->wait(5s)) throw std::runtime_error("nats-server " + name_ + " survived SIGKILL");
}

void NatsHub::freeze() {
  if (!running()) throw std::runtime_error("freeze: nats-server " + name_ + " is not running");
  process_->signal(SIGSTOP);
  if (!waitFor([&] { return procState(process_->pid()) == 'T'; }, 2s)) {
    throw std::runtime_error("freeze: nats-server " + name_ + " did not stop");
  }
}

void NatsHub::thaw() {
  if (!running()) throw std::runtime_error("thaw: nats-server " + name_ + " is not running");
  process_->signal(SIGCONT);
  if (!waitFor([&] { return procState(process_->pid()) != 'T'; }, 2s)) {
    throw std::runtime_error("thaw: nats-server " + name_ + " did not continue");
  }
}

void NatsHub::restart() {
  if (running()) kill();
  start();
}

std::string NatsHub::monitorGet(const std::string& path, std::chrono::milliseconds timeout) const {
  auto deadline = Clock::now() + timeout;
  int fd = connectLoopback(ports_.monitor, deadline);
  if (fd < 0) return "";
  std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
  std::string response;
  if (sendAll(fd, request, deadline)) {
    response = readUntil(fd, deadline, [](const std::string&) { return false; });  // until EOF
  }
  ::close(fd);
  auto body = response.find("\r\n\r\n");
  if (response.rfind("HTTP/1.", 0) != 0 || response.compare(9, 3, "200") != 0 || body == std::string::npos) return "";
  return response.substr(body + 4);
}

HubPair::HubPair() : HubPair(std::function<std::string(int)>(nullptr)) {}

HubPair::HubPair(Plain) { start(nullptr, nullptr, ""); }

HubPair::HubPair(const std::function<std::string(int)>& leaf_remote) {
  const Secure secure{testCertsDir()};
  start(leaf_remote, &secure, "");
}

HubPair::HubPair(const std::function<std::string(int)>& leaf_remote, const std::string& extra_config) {
  start(leaf_remote, nullptr, extra_config);
}

HubPair::HubPair(const Secure& secure) { start(nullptr, &secure, ""); }

namespace {

// NAME=VALUE lines of gen-certs.sh's hub-passwords.env: the secure hubs' environment.
std::vector<std::string> hubPasswordEnv(const std::string& certs_dir) {
  std::istringstream in(readFile(certs_dir + "/hub-passwords.env"));
  std::vector<std::string> env;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != '#' && line.find('=') != std::string::npos) env.push_back(line);
  }
  return env;
}

std::string firstLine(const std::string& path) {
  std::istringstream in(readFile(path));
  std::string line;
  std::getline(in, line);
  return line;
}

}  // namespace

const std::string& testCertsDir(const std::string& which) {
  static std::map<std::string, std::unique_ptr<TempDir>> dirs;
  auto& dir = dirs[which];
  if (!dir) {
    auto made = std::make_unique<TempDir>();
    Process script("/bin/bash", {std::string(TWINHUB_SOURCE_DIR) + "/scripts/gen-certs.sh", made->path() + "/certs"});
    std::optional<int> status = script.wait(60s);
    if (status != 0) throw std::runtime_error("scripts/gen-certs.sh failed:\n" + script.output());
    dir = std::move(made);
  }
  static std::map<std::string, std::string> paths;
  return paths[which] = dir->path() + "/certs";
}

nats_security::HubSecurity hubSecurity(const NatsHub& hub, const std::string& role) {
  const std::string& d = hub.certsDir();
  if (d.empty()) return {};
  nats_security::HubSecurity s;
  s.tls = {d + "/ca.pem", d + "/" + role + ".pem", d + "/" + role + "-key.pem"};
  s.auth.user = role;
  s.auth.password_file = d + "/" + role + ".password";
  return s;
}

std::vector<std::string> ctlSecurityArgs(const NatsHub& hub, const std::string& role) {
  const nats_security::HubSecurity s = hubSecurity(hub, role);
  if (s.empty()) return {};
  return {"--hub-ca", s.tls.ca, "--hub-cert", s.tls.cert, "--hub-key", s.tls.key,
          "--hub-user", s.auth.user, "--hub-password-file", s.auth.password_file};
}

void HubPair::start(const std::function<std::string(int)>& leaf_remote, const Secure* secure,
                    const std::string& extra_config) {
  const std::string suffix = secure ? "-secure" : "";
  std::vector<std::string> env;
  std::string leaf_user;
  if (secure) {
    env = hubPasswordEnv(secure->certs_dir);
    leaf_user = "leaf:" + firstLine(secure->certs_dir + "/leaf.password") + "@";
    // `include "users.conf"` is relative to the rendered config, which lives in dir_.
    std::ofstream(dir_.path() + "/users.conf") << readFile(std::string(TWINHUB_SOURCE_DIR) + "/deploy/nats/users.conf");
  }
  auto tlsValues = [&](const std::string& hub) -> std::vector<std::pair<std::string, std::string>> {
    if (!secure) return {};
    const std::string d = "\"" + secure->certs_dir + "/";
    return {{"tls-cert", d + hub + ".pem\""}, {"tls-key", d + hub + "-key.pem\""}, {"tls-ca", d + "ca.pem\""}};
  };
  auto with = [](std::vector<std::pair<std::string, std::string>> a, const std::vector<std::pair<std::string, std::string>>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
  };
  const std::string certs_dir = secure ? secure->certs_dir : "";
  // A port picked here can be taken by another process before nats-server binds it; pick again.
  for (int attempt = 1;; ++attempt) {
    try {
      auto p = pickFreePorts(5);
      NatsHub::Ports central_ports{p[0], p[1], p[2]};
      NatsHub::Ports edge_ports{p[3], p[4], 0};
      const std::string loopback = "127.0.0.1:";
      central_ = std::make_unique<NatsHub>(
          "central",
          renderShippedHubConfig("central" + suffix,
                                 with({{"client-listen", loopback + std::to_string(central_ports.client)},
                                       {"monitor-listen", loopback + std::to_string(central_ports.monitor)},
                                       {"leaf-listen", loopback + std::to_string(central_ports.leaf)},
                                       {"store-dir", "\"" + dir_.path() + "/central-store\""}},
                                      tlsValues("central"))) +
              extra_config,
          dir_.path(), central_ports, env, certs_dir);
      edge_ = std::make_unique<NatsHub>(
          "edge",
          renderShippedHubConfig("edge" + suffix,
                                 with({{"client-listen", loopback + std::to_string(edge_ports.client)},
                                       {"monitor-listen", loopback + std::to_string(edge_ports.monitor)},
                                       {"leaf-remote", "[\"nats-leaf://" + leaf_user +
                                                           (leaf_remote ? leaf_remote(central_ports.leaf)
                                                                        : loopback + std::to_string(central_ports.leaf)) +
                                                           "\"]"},
                                       {"store-dir", "\"" + dir_.path() + "/edge-store\""}},
                                      tlsValues("edge"))) +
              extra_config,
          dir_.path(), edge_ports, env, certs_dir);
      break;
    } catch (const std::runtime_error& e) {
      edge_.reset();
      central_.reset();
      if (attempt == 3 || std::string(e.what()).find("address already in use") == std::string::npos) throw;
    }
  }
  if (!waitLeafUp(10s)) {
    throw std::runtime_error("leaf link edge -> central did not come up; central:\n" + central_->output() +
                             "\nedge:\n" + edge_->output());
  }
}

HubPair::~HubPair() {
  // Edge first: its leaf link then fails against a live central rather than logging reconnects.
  try {
    if (edge_) edge_->kill();
    if (central_) central_->kill();
  } catch (const std::exception&) {
    // Process's destructor still SIGKILLs and reaps whatever is left.
  }
}

bool HubPair::waitLeafUp(std::chrono::milliseconds timeout) {
  return waitFor(
      [&] {
        return leafCount(central_->monitorGet("/leafz")) >= 1 && leafCount(edge_->monitorGet("/leafz")) >= 1;
      },
      timeout);
}

}  // namespace twinhub::test
