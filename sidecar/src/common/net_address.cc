#include "common/net_address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace twinhub {

std::optional<NetAddress> NetAddress::parse(std::string_view text, std::string* error) {
  auto fail = [&](const std::string& why) -> std::optional<NetAddress> {
    if (error) *error = "invalid address '" + std::string(text) + "': " + why;
    return std::nullopt;
  };
  std::string_view host;
  std::string_view port_text;
  if (!text.empty() && text.front() == '[') {
    size_t close = text.find(']');
    if (close == std::string_view::npos) return fail("missing ']'");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return fail("expected ':port' after ']'");
    port_text = text.substr(close + 2);
  } else {
    size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail("expected host:port");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return fail("IPv6 hosts must be written [addr]:port");
  }
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || end != port_text.data() + port_text.size() || port > 65535) {
    return fail("port must be a number from 0 to 65535");
  }
  if (host.empty()) return fail("missing host");

  NetAddress out;
  std::string host_str(host);
  if (host_str == "localhost") host_str = "127.0.0.1";
  if (host_str == "*") host_str = "0.0.0.0";
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out.storage_);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out.storage_);
  if (inet_pton(AF_INET, host_str.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(static_cast<uint16_t>(port));
  } else if (inet_pton(AF_INET6, host_str.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(static_cast<uint16_t>(port));
  } else {
    return fail("host must be a numeric IPv4 or IPv6 address");
  }
  return out;
}

NetAddress NetAddress::fromSockaddr(const sockaddr* sa) {
  NetAddress out;
  std::memcpy(&out.storage_, sa, sa->sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  return out;
}

uint16_t NetAddress::port() const {
  if (isV6()) return ntohs(reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_port);
  return ntohs(reinterpret_cast<const sockaddr_in*>(&storage_)->sin_port);
}

std::string NetAddress::toString() const {
  char buf[INET6_ADDRSTRLEN] = {0};
  if (isV6()) {
    inet_ntop(AF_INET6, &reinterpret_cast<const sockaddr_in6*>(&storage_)->sin6_addr, buf, sizeof buf);
    return "[" + std::string(buf) + "]:" + std::to_string(port());
  }
  inet_ntop(AF_INET, &reinterpret_cast<const sockaddr_in*>(&storage_)->sin_addr, buf, sizeof buf);
  return std::string(buf) + ":" + std::to_string(port());
}

}  // namespace twinhub
