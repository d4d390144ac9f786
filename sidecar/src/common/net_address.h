// NetAddress: a parsed "host:port" or "[v6]:port" with numeric IPv4/IPv6 hosts (plus "localhost"
// and "*"), convertible to a sockaddr for libuv. A value type; any thread.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <optional>
#include <string>
#include <string_view>

namespace twinhub {

class NetAddress {
 public:
  // Parses "127.0.0.1:7140", "[::1]:7140", "0.0.0.0:0", "localhost:80", "*:7140" (all IPv4
  // interfaces). Returns nullopt and fills *error when the text is not such an address.
  static std::optional<NetAddress> parse(std::string_view text, std::string* error);
  static NetAddress fromSockaddr(const sockaddr* sa);

  const sockaddr* sockaddrPtr() const { return reinterpret_cast<const sockaddr*>(&storage_); }
  uint16_t port() const;
  bool isV6() const { return storage_.ss_family == AF_INET6; }
  // "127.0.0.1:7140" or "[::1]:7140".
  std::string toString() const;

  bool operator==(const NetAddress& other) const { return toString() == other.toString(); }

 private:
  sockaddr_storage storage_{};
};

}  // namespace twinhub
