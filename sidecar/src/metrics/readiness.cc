#include "metrics/readiness.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

#include "common/net_address.h"

namespace twinhub {

namespace {
constexpr int kTargetTimeoutMs = 300;
}  // namespace

bool tcpConnects(const std::string& target, int timeout_ms) {
  std::optional<NetAddress> address = NetAddress::parse(target, nullptr);
  if (!address) return false;
  int fd = ::socket(address->isV6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const socklen_t len = address->isV6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
  bool ok = ::connect(fd, address->sockaddrPtr(), len) == 0;
  if (!ok && errno == EINPROGRESS) {
    pollfd p{fd, POLLOUT, 0};
    int error = 0;
    socklen_t error_len = sizeof(error);
    ok = ::poll(&p, 1, timeout_ms) == 1 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &error_len) == 0 && error == 0;
  }
  ::close(fd);
  return ok;
}

ReadinessState::ReadinessState() : ReadinessState([](const std::string& t) { return tcpConnects(t, kTargetTimeoutMs); }) {}

ReadinessState::ReadinessState(TargetCheck check) : check_(std::move(check)) {}

ReadinessVerdict evaluateReadiness(const ReadinessInputs& in) {
  if (in.draining) return {false, "draining"};
  if (!in.fronts_bound) return {false, "fronts not bound yet"};
  if (in.mode == "hub") {
    for (const auto& [name, state] : in.hubs) {
      if (state == HubState::kUp) return {true, "mode hub, hub " + name + " up"};
    }
    return {false, in.hubs.empty() ? "mode hub, no hub reported yet" : "mode hub, no hub up"};
  }
  for (const auto& [target, reachable] : in.direct_targets) {
    if (!reachable) return {false, "mode direct, " + target + " not reachable"};
  }
  return {true, "mode direct"};
}

void ReadinessState::setFrontsBound(bool bound) {
  std::lock_guard lock(mutex_);
  inputs_.fronts_bound = bound;
}

void ReadinessState::setDraining() {
  std::lock_guard lock(mutex_);
  inputs_.draining = true;
}

void ReadinessState::setMode(const std::string& mode) {
  std::lock_guard lock(mutex_);
  inputs_.mode = mode;
}

void ReadinessState::setHubState(const std::string& hub, HubState state) {
  std::lock_guard lock(mutex_);
  inputs_.hubs[hub] = state;
}

void ReadinessState::setDirectTargets(const std::vector<std::string>& targets) {
  std::lock_guard lock(mutex_);
  inputs_.direct_targets.clear();
  for (const std::string& target : targets) inputs_.direct_targets[target] = false;
}

ReadinessVerdict ReadinessState::verdict() const {
  ReadinessInputs inputs;
  {
    std::lock_guard lock(mutex_);
    inputs = inputs_;
  }
  // Outside the lock: the checks block.
  if (inputs.mode == "direct" && inputs.fronts_bound && !inputs.draining) {
    for (auto& [target, reachable] : inputs.direct_targets) reachable = check_(target);
  }
  return evaluateReadiness(inputs);
}

}  // namespace twinhub
