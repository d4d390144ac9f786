// Heartbeat wire format: round trips, and a reader that refuses garbage, other versions, wrong
// types, oversized messages and timestamps from the future, never throwing; fuzzed with random
// and mutated inputs.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <random>
#include <string>

#include "health_wire/aggregate.h"
#include "health_wire/heartbeat.h"

namespace twinhub::health {
namespace {

using nlohmann::json;
constexpr int64_t kNow = 1'700'000'000'000;

Heartbeat sampleBeat() {
  Heartbeat b;
  b.id = "pc2.MemoryOrchestratorService";
  b.machine = "pc2";
  b.served = {"MemoryOrchestratorService"};
  b.fronted = {"ModelManager"};
  b.via = "edge";
  b.seq = 42;
  b.ts_ms = kNow - 3;
  b.interval_ms = 500;
  b.agent = {AgentState::kFailing, 1.25, "zmq tcp://127.0.0.1:18140: timeout"};
  b.mode = "hub";
  b.generation = 7;
  b.hubs = {{"edge", "up", true}, {"central", "suspect", false}};
  b.stats.sessions_opened = 3;
  b.stats.sessions_active = 1;
  b.stats.connect_failures = 2;
  b.stats.errors = 1;
  b.stats.turn_p50_ms = 0.5;
  b.stats.turn_p99_ms = 4.0;
  return b;
}

json sampleJson() { return json::parse(encodeHeartbeat(sampleBeat())); }

Reject rejectOf(const json& j) { return decodeHeartbeat(j.dump(), kNow).reject; }

TEST_CASE("Heartbeat: encode then decode gives the same beat", "[unit]") {
  const Heartbeat beat = sampleBeat();
  Decoded<Heartbeat> d = decodeHeartbeat(encodeHeartbeat(beat), kNow);
  INFO(d.detail);
  REQUIRE(d.value);
  CHECK(*d.value == beat);
  CHECK(json::parse(encodeHeartbeat(beat))["v"] == kHeartbeatVersion);
}

TEST_CASE("Heartbeat: optional fields may be absent", "[unit]") {
  Heartbeat beat = sampleBeat();
  beat.agent = {};
  beat.stats.turn_p50_ms.reset();
  beat.stats.turn_p99_ms.reset();
  Decoded<Heartbeat> d = decodeHeartbeat(encodeHeartbeat(beat), kNow);
  REQUIRE(d.value);
  CHECK(d.value->agent.state == AgentState::kNone);
  CHECK_FALSE(d.value->stats.turn_p99_ms);
}

TEST_CASE("Heartbeat: garbage and non-objects are syntax errors", "[unit]") {
  for (const char* text : {"", "garbage", "{", "[1,2]", "42", "\"x\"", "{\"v\":1,}", "nul"}) {
    Decoded<Heartbeat> d = decodeHeartbeat(text, kNow);
    CHECK_FALSE(d.value);
    CHECK(d.reject == Reject::kSyntax);
  }
}

TEST_CASE("Heartbeat: another schema version is refused as such", "[unit]") {
  json j = sampleJson();
  j["v"] = 2;
  CHECK(rejectOf(j) == Reject::kVersion);
  j["v"] = "1";
  CHECK(rejectOf(j) == Reject::kField);
  j.erase("v");
  CHECK(rejectOf(j) == Reject::kField);
}

TEST_CASE("Heartbeat: wrong types and ranges are field errors naming the field", "[unit]") {
  struct Case {
    const char* pointer;
    json value;
  };
  const std::vector<Case> cases = {
      {"/seq", -1},          {"/seq", 1.5},          {"/seq", "1"},        {"/ts", "now"},
      {"/ts", -5},           {"/id", 7},             {"/id", "a b"},        {"/id", std::string(200, 'a')},
      {"/machine", "pc.2"},  {"/machine", "pc2>"},   {"/machine", ""},     {"/via", json::array()},
      {"/interval_ms", 0},   {"/mode", "turbo"},     {"/agent/state", "maybe"}, {"/agent/latency_ms", -1},
      {"/agent/latency_ms", "fast"}, {"/hubs", "edge"}, {"/hubs/0/state", "sideways"}, {"/hubs/0/active", 1},
      {"/hubs/0", 5},        {"/services/served", json::array({1})}, {"/services", json::array()},
      {"/stats/errors", -3}, {"/stats/turn_p99_ms", "slow"}, {"/generation", json::object()}};
  for (const Case& c : cases) {
    json j = sampleJson();
    j[json::json_pointer(c.pointer)] = c.value;
    Decoded<Heartbeat> d = decodeHeartbeat(j.dump(), kNow);
    INFO(c.pointer << " = " << c.value.dump());
    CHECK_FALSE(d.value);
    CHECK(d.reject == Reject::kField);
    CHECK_FALSE(d.detail.empty());
  }
}

TEST_CASE("Heartbeat: lists beyond their caps are refused", "[unit]") {
  json j = sampleJson();
  j["hubs"] = json::array();
  for (size_t i = 0; i <= kMaxHubs; ++i) j["hubs"].push_back({{"name", "h" + std::to_string(i)}, {"state", "up"}, {"active", false}});
  CHECK(rejectOf(j) == Reject::kField);
  j = sampleJson();
  j["services"]["served"] = json::array();
  for (size_t i = 0; i <= kMaxServices; ++i) j["services"]["served"].push_back("s" + std::to_string(i));
  CHECK(rejectOf(j) == Reject::kField);
}

TEST_CASE("Heartbeat: oversized messages are refused before parsing", "[unit]") {
  json j = sampleJson();
  j["padding"] = std::string(kMaxHeartbeatBytes, 'x');
  CHECK(rejectOf(j) == Reject::kOversized);
  const std::string text = sampleJson().dump();
  HeartbeatLimits tight;
  tight.max_bytes = text.size() - 1;
  CHECK(decodeHeartbeat(text, kNow, tight).reject == Reject::kOversized);
}

TEST_CASE("Heartbeat: timestamps beyond the allowed skew are refused", "[unit]") {
  json j = sampleJson();
  j["ts"] = kNow + 4000;
  CHECK(decodeHeartbeat(j.dump(), kNow).value);
  j["ts"] = kNow + 6000;
  CHECK(rejectOf(j) == Reject::kFuture);
  j["ts"] = kNow + 1000LL * 86400 * 365;
  CHECK(rejectOf(j) == Reject::kFuture);
}

TEST_CASE("Heartbeat: deep nesting inside the size cap neither crashes nor passes", "[unit]") {
  std::string deep = "{\"v\":1,\"x\":" + std::string(30000, '[') + std::string(30000, ']') + "}";
  CHECK_FALSE(decodeHeartbeat(deep, kNow).value);
}

// Random bytes, random JSON-ish token soup, and mutations of a valid beat: the reader must never
// throw or crash, and must refuse every input that is not a valid beat (counted by reason).
TEST_CASE("Heartbeat: fuzzed input never crashes the reader", "[unit][fuzz]") {
  std::mt19937_64 rng(20261130);
  const std::string valid = encodeHeartbeat(sampleBeat());
  const std::vector<std::string> tokens = {"{", "}", "[", "]", ",", ":", "\"v\"", "1", "-1", "1e999", "null",
                                           "true", "\"seq\"", "\"hubs\"", "\"\\u0000\"", "\"\xff\xfe\"", "0.5"};
  std::map<Reject, int> seen;
  int accepted = 0;
  const int kRounds = 20000;
  for (int round = 0; round < kRounds; ++round) {
    std::string input;
    switch (round % 3) {
      case 0: {
        input.resize(rng() % 256);
        for (char& c : input) c = static_cast<char>(rng());
        break;
      }
      case 1: {
        for (int t = rng() % 40; t > 0; --t) input += tokens[rng() % tokens.size()];
        break;
      }
      default: {
        input = valid;
        for (int m = 1 + rng() % 4; m > 0; --m) {
          const size_t at = rng() % input.size();
          switch (rng() % 3) {
            case 0: input[at] = static_cast<char>(rng()); break;
            case 1: input.erase(at, 1 + rng() % 8); break;
            default: input.insert(at, tokens[rng() % tokens.size()]); break;
          }
          if (input.empty()) input = "x";
        }
      }
    }
    Decoded<Heartbeat> d;
    REQUIRE_NOTHROW(d = decodeHeartbeat(input, kNow));
    if (d.value) {
      ++accepted;
      // Whatever passed must survive its own round trip.
      CHECK(decodeHeartbeat(encodeHeartbeat(*d.value), kNow).value);
    } else {
      CHECK(d.reject != Reject::kNone);
      ++seen[d.reject];
    }
  }
  INFO("accepted " << accepted);
  CHECK(seen[Reject::kSyntax] > kRounds / 2);
  CHECK(seen[Reject::kField] > 0);
  CHECK(accepted < kRounds / 10);
}

TEST_CASE("Aggregate: encode then decode gives the same fleet state, garbage is refused", "[unit]") {
  Aggregate a;
  a.observer = "mainpc.123";
  a.ts_ms = kNow;
  a.hubs = {{"edge", "up"}, {"central", "frozen"}};
  a.leaf = "down";
  SidecarSummary s;
  s.id = "pc2.A";
  s.machine = "pc2";
  s.served = {"A"};
  s.mode = "hub";
  s.hub_in_use = "edge";
  s.agent = "ok";
  s.state = "ok";
  s.age_ms = 120;
  s.sync_ms = 1.5;
  s.heard_via = {"edge"};
  a.sidecars = {s};
  a.partitioned = {"pc2"};
  a.open_alerts = {"hub_frozen central"};
  Decoded<Aggregate> d = decodeAggregate(encodeAggregate(a));
  INFO(d.detail);
  REQUIRE(d.value);
  CHECK(*d.value == a);
  CHECK(decodeAggregate("{\"v\":1}").reject == Reject::kField);
  CHECK(decodeAggregate("{\"v\":9}").reject == Reject::kVersion);
  CHECK(decodeAggregate("]").reject == Reject::kSyntax);
}

}  // namespace
}  // namespace twinhub::health
