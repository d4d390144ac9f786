// Inbox: the bounded hand-off from cnats's threads; a flood costs dropped messages, not memory.
#include <catch2/catch.hpp>

#include "nats/hub_link.h"

namespace twinhub::ctl {
namespace {

Received message(size_t bytes) {
  Received r;
  r.subject = "health.status.pc2";
  r.data.assign(bytes, 'x');
  return r;
}

TEST_CASE("Inbox: messages beyond the count or byte capacity are dropped and counted", "[unit]") {
  Inbox inbox(3, 1000);
  inbox.push(message(100));
  inbox.push(message(100));
  inbox.push(message(900));  // over the bytes
  inbox.push(message(100));
  inbox.push(message(100));  // over the count
  CHECK(inbox.dropped() == 2);
  std::vector<Received> out;
  inbox.take(&out, 0);
  CHECK(out.size() == 3);
  inbox.push(message(900));  // room again once taken
  inbox.take(&out, 0);
  CHECK(out.size() == 4);
  CHECK(inbox.dropped() == 2);
}

TEST_CASE("HubAddress: --hub NAME=URL is checked", "[unit]") {
  HubAddress hub;
  CHECK(parseHubAddress("edge=nats://127.0.0.1:4223", &hub).empty());
  CHECK(hub.name == "edge");
  CHECK(hub.url == "nats://127.0.0.1:4223");
  CHECK(parseHubAddress("edge", &hub).find("NAME=URL") != std::string::npos);
  CHECK(!parseHubAddress("ed ge=nats://x:1", &hub).empty());
  CHECK(!parseHubAddress("edge=http://x:1", &hub).empty());
}

}  // namespace
}  // namespace twinhub::ctl
