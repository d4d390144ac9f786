// Test support: a NetAddress from text that must parse, or the test stops with the parser's reason.
// Header-only because it uses Catch2's assertions (the support library itself does not link Catch2).
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "common/net_address.h"

namespace twinhub::test {

inline NetAddress mustParse(const std::string& text) {
  std::string error;
  auto parsed = NetAddress::parse(text, &error);
  INFO(text << ": " << error);
  REQUIRE(parsed.has_value());
  return *parsed;
}

}  // namespace twinhub::test
