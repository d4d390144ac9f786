#include "demo/agent_control.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <zmq.hpp>

namespace twinhub::ctl::demo {

std::optional<nlohmann::json> agentControl(const std::string& health_address, const nlohmann::json& request,
                                           int timeout_ms) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::req);
  socket.set(zmq::sockopt::rcvtimeo, timeout_ms);
  socket.set(zmq::sockopt::linger, 0);
  socket.connect("tcp://" + health_address);
  socket.send(zmq::buffer(request.dump()), zmq::send_flags::none);
  zmq::message_t reply;
  if (!socket.recv(reply, zmq::recv_flags::none)) return std::nullopt;
  auto parsed = nlohmann::json::parse(reply.to_string_view(), nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

bool setAgentLatency(const std::string& health_address, int latency_ms) {
  auto reply = agentControl(health_address, {{"action", "sim_set"}, {"latency_ms", latency_ms}});
  return reply && reply->value("ok", false);
}

bool crashAgent(const std::string& health_address) {
  auto reply = agentControl(health_address, {{"action", "sim_exit"}, {"code", 3}});
  return reply && reply->value("ok", false);
}

namespace {

int connectLoopback(int port, int timeout_ms) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return -1;
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  sa.sin_port = htons(static_cast<uint16_t>(port));
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) {
    pollfd p{fd, POLLOUT, 0};
    int err = 0;
    socklen_t len = sizeof err;
    if (errno != EINPROGRESS || ::poll(&p, 1, timeout_ms) != 1 ||
        ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0) {
      ::close(fd);
      return -1;
    }
  }
  return fd;
}

}  // namespace

bool tcpConnects(int port) {
  const int fd = connectLoopback(port, 500);
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

std::string httpGet(int port, const std::string& path, int timeout_ms) {
  const int fd = connectLoopback(port, timeout_ms);
  if (fd < 0) return "";
  const std::string request = "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
  if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(request.size())) {
    ::close(fd);
    return "";
  }
  std::string response;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  char buf[16384];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    response.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  const size_t body = response.find("\r\n\r\n");
  return body == std::string::npos ? "" : response.substr(body + 4);
}

}  // namespace twinhub::ctl::demo
