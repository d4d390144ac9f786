#include "common/net_address.h"

#include <arpa/inet.h>

#include <catch2/catch.hpp>

#include "support/net_address_parse.h"

namespace twinhub {
namespace {

using test::mustParse;

std::string parseError(const std::string& text) {
  std::string error;
  auto parsed = NetAddress::parse(text, &error);
  INFO(text);
  REQUIRE_FALSE(parsed.has_value());
  return error;
}

TEST_CASE("NetAddress: parses an IPv4 address and port", "[unit]") {
  NetAddress a = mustParse("127.0.0.1:7140");
  CHECK_FALSE(a.isV6());
  CHECK(a.port() == 7140);
  CHECK(a.toString() == "127.0.0.1:7140");
  const auto* sin = reinterpret_cast<const sockaddr_in*>(a.sockaddrPtr());
  CHECK(sin->sin_family == AF_INET);
  CHECK(ntohs(sin->sin_port) == 7140);
  CHECK(ntohl(sin->sin_addr.s_addr) == INADDR_LOOPBACK);
}

TEST_CASE("NetAddress: parses port 0 and the ends of the port range", "[unit]") {
  CHECK(mustParse("0.0.0.0:0").port() == 0);
  CHECK(mustParse("10.1.2.3:1").port() == 1);
  CHECK(mustParse("10.1.2.3:65535").port() == 65535);
}

TEST_CASE("NetAddress: parses a bracketed IPv6 address", "[unit]") {
  NetAddress a = mustParse("[::1]:7140");
  CHECK(a.isV6());
  CHECK(a.port() == 7140);
  CHECK(a.toString() == "[::1]:7140");
  const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(a.sockaddrPtr());
  CHECK(sin6->sin6_family == AF_INET6);
  CHECK(IN6_IS_ADDR_LOOPBACK(&sin6->sin6_addr));

  CHECK(mustParse("[::]:0").toString() == "[::]:0");
  // Written forms normalise to the canonical one.
  CHECK(mustParse("[fe80:0:0:0:0:0:0:1]:80").toString() == "[fe80::1]:80");
  CHECK(mustParse("[::ffff:10.0.0.1]:9").isV6());
}

TEST_CASE("NetAddress: localhost and * name IPv4 loopback and any", "[unit]") {
  CHECK(mustParse("localhost:80").toString() == "127.0.0.1:80");
  CHECK(mustParse("*:7140").toString() == "0.0.0.0:7140");
}

TEST_CASE("NetAddress: rejects bad ports", "[unit]") {
  for (const char* text : {"127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:99999999999", "127.0.0.1:-1",
                           "127.0.0.1:80x", "127.0.0.1:x80", "127.0.0.1: 80", "127.0.0.1:+80", "[::1]:",
                           "[::1]:70000"}) {
    std::string error = parseError(text);
    INFO(text << " -> " << error);
    CHECK_THAT(error, Catch::Contains("port"));
  }
}

TEST_CASE("NetAddress: rejects a missing host or port separator", "[unit]") {
  CHECK_THAT(parseError(":7140"), Catch::Contains("missing host"));
  CHECK_THAT(parseError("[]:7140"), Catch::Contains("host"));
  CHECK_THAT(parseError("127.0.0.1"), Catch::Contains("host:port"));
  CHECK_THAT(parseError(""), Catch::Contains("host:port"));
}

TEST_CASE("NetAddress: rejects hosts that are not numeric addresses", "[unit]") {
  CHECK_THAT(parseError("example.com:80"), Catch::Contains("numeric"));
  CHECK_THAT(parseError("256.0.0.1:80"), Catch::Contains("numeric"));
  CHECK_THAT(parseError("[not-v6]:80"), Catch::Contains("numeric"));
  // An IPv4 address in brackets is not an IPv6 address but still a numeric host; either way it
  // must not come out as something else.
  std::string error;
  auto odd = NetAddress::parse("[127.0.0.1]:80", &error);
  if (odd) CHECK(odd->toString() == "127.0.0.1:80");
}

TEST_CASE("NetAddress: rejects malformed IPv6 brackets", "[unit]") {
  CHECK_THAT(parseError("[::1:7140"), Catch::Contains("]"));
  CHECK_THAT(parseError("[::1]7140"), Catch::Contains(":port"));
  CHECK_THAT(parseError("::1:7140"), Catch::Contains("[addr]:port"));
}

TEST_CASE("NetAddress: the error names the text it could not parse", "[unit]") {
  CHECK_THAT(parseError("bogus:port"), Catch::Contains("'bogus:port'"));
  // A null error pointer is allowed.
  CHECK_FALSE(NetAddress::parse("bogus", nullptr).has_value());
}

TEST_CASE("NetAddress: round-trips through a sockaddr", "[unit]") {
  for (const char* text : {"192.168.1.20:7140", "[2001:db8::5]:443", "0.0.0.0:0"}) {
    NetAddress a = mustParse(text);
    NetAddress b = NetAddress::fromSockaddr(a.sockaddrPtr());
    CHECK(b == a);
    CHECK(b.toString() == text);
  }
  CHECK_FALSE(mustParse("127.0.0.1:1") == mustParse("127.0.0.1:2"));
}

}  // namespace
}  // namespace twinhub
