#include "health_wire/heartbeat.h"

#include <chrono>

#include <nlohmann/json.hpp>

#include "health_wire/health_subjects.h"

namespace twinhub::health {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxCounter = uint64_t{1} << 53;  // exact in every JSON reader
constexpr int64_t kMaxTimestampMs = int64_t{1} << 50;
constexpr double kMaxLatencyMs = 3600.0 * 1000;

bool validHubState(std::string_view s) { return s == "up" || s == "suspect" || s == "down"; }

void putOptional(json& out, const char* key, const std::optional<double>& value) {
  if (value) out[key] = *value;
}

json encodeAgent(const AgentReport& agent) {
  json out = {{"state", agentStateName(agent.state)}};
  putOptional(out, "latency_ms", agent.latency_ms);
  if (!agent.error.empty()) out["error"] = agent.error.substr(0, kMaxErrorText);
  return out;
}

json encodeStats(const BeatStats& s) {
  json out = {{"sessions_opened", s.sessions_opened},
              {"sessions_active", s.sessions_active},
              {"connect_failures", s.connect_failures},
              {"errors", s.errors},
              {"turns", s.turns}};
  putOptional(out, "turn_p50_ms", s.turn_p50_ms);
  putOptional(out, "turn_p99_ms", s.turn_p99_ms);
  return out;
}

AgentReport decodeAgent(JsonFields& f) {
  AgentReport agent;
  const json* o = f.object("agent");
  if (!o) return agent;
  JsonFields a(*o, "agent");
  agent.state = static_cast<AgentState>(a.choice("state", {"none", "ok", "failing"}));
  agent.latency_ms = a.optionalNumber("latency_ms", 0, kMaxLatencyMs);
  agent.error = a.optionalString("error", kMaxErrorText);
  if (!a.ok()) f.fail(a.error());
  return agent;
}

std::vector<HubReport> decodeHubs(JsonFields& f) {
  std::vector<HubReport> hubs;
  const json* list = f.array("hubs", kMaxHubs, true);
  if (!list) return hubs;
  for (size_t i = 0; i < list->size() && f.ok(); ++i) {
    const json& item = (*list)[i];
    if (!item.is_object()) {
      f.fail("field 'hubs[" + std::to_string(i) + "]' must be an object");
      break;
    }
    JsonFields h(item, "hubs[" + std::to_string(i) + "]");
    HubReport hub;
    hub.name = h.string("name", 64, validName);
    hub.state = h.string("state", 16, validHubState);
    hub.active = h.boolean("active");
    if (!h.ok()) f.fail(h.error());
    hubs.push_back(std::move(hub));
  }
  return hubs;
}

BeatStats decodeStats(JsonFields& f) {
  BeatStats s;
  const json* o = f.object("stats");
  if (!o) return s;
  JsonFields st(*o, "stats");
  s.sessions_opened = st.uint("sessions_opened", kMaxCounter);
  s.sessions_active = st.uint("sessions_active", kMaxCounter);
  s.connect_failures = st.uint("connect_failures", kMaxCounter);
  s.errors = st.uint("errors", kMaxCounter);
  s.turns = st.optionalUint("turns", kMaxCounter, 0);
  s.turn_p50_ms = st.optionalNumber("turn_p50_ms", 0, kMaxLatencyMs);
  s.turn_p99_ms = st.optionalNumber("turn_p99_ms", 0, kMaxLatencyMs);
  if (!st.ok()) f.fail(st.error());
  return s;
}

}  // namespace

const char* agentStateName(AgentState state) {
  switch (state) {
    case AgentState::kNone: return "none";
    case AgentState::kOk: return "ok";
    case AgentState::kFailing: return "failing";
  }
  return "?";
}

int64_t wallClockMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string encodeHeartbeat(const Heartbeat& beat) {
  json hubs = json::array();
  for (const HubReport& hub : beat.hubs) hubs.push_back({{"name", hub.name}, {"state", hub.state}, {"active", hub.active}});
  json out = {{"v", kHeartbeatVersion},
              {"id", beat.id},
              {"machine", beat.machine},
              {"services", {{"served", beat.served}, {"fronted", beat.fronted}}},
              {"via", beat.via},
              {"seq", beat.seq},
              {"ts", beat.ts_ms},
              {"interval_ms", beat.interval_ms},
              {"agent", encodeAgent(beat.agent)},
              {"mode", beat.mode},
              {"generation", beat.generation},
              {"hubs", std::move(hubs)},
              {"stats", encodeStats(beat.stats)}};
  // Replace, not throw, on invalid UTF-8 (an agent's error text is not ours to trust).
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

Decoded<Heartbeat> decodeHeartbeat(std::string_view data, int64_t now_ms, const HeartbeatLimits& limits) {
  Decoded<Heartbeat> out;
  std::optional<json> parsed = parseObject(data, limits.max_bytes, &out.reject, &out.detail);
  if (!parsed) return out;
  JsonFields f(*parsed);
  const int64_t version = f.integer("v", 0, 1 << 20);
  if (f.ok() && version != kHeartbeatVersion) {
    out.reject = Reject::kVersion;
    out.detail = "schema version " + std::to_string(version) + ", expected " + std::to_string(kHeartbeatVersion);
    return out;
  }
  Heartbeat beat;
  beat.id = f.string("id", 128, validName);
  beat.machine = f.string("machine", 64, validMachineName);
  if (const json* services = f.object("services")) {
    JsonFields s(*services, "services");
    beat.served = s.names("served", kMaxServices, validName, true);
    beat.fronted = s.names("fronted", kMaxServices, validName, true);
    if (!s.ok()) f.fail(s.error());
  }
  beat.via = f.string("via", 64, validName);
  beat.seq = f.uint("seq", kMaxCounter);
  beat.ts_ms = f.integer("ts", 0, kMaxTimestampMs);
  beat.interval_ms = static_cast<uint32_t>(f.uint("interval_ms", 3600 * 1000));
  beat.agent = decodeAgent(f);
  beat.mode = f.string("mode", 16, [](std::string_view m) { return m == "direct" || m == "hub"; });
  beat.generation = f.uint("generation", kMaxCounter);
  beat.hubs = decodeHubs(f);
  beat.stats = decodeStats(f);
  if (f.ok() && beat.interval_ms == 0) f.fail("field 'interval_ms' must be above 0");
  if (!f.ok()) {
    out.reject = Reject::kField;
    out.detail = f.error();
    return out;
  }
  if (beat.ts_ms > now_ms + limits.max_future_ms) {
    out.reject = Reject::kFuture;
    out.detail = "timestamp " + std::to_string(beat.ts_ms - now_ms) + " ms in the future";
    return out;
  }
  out.value = std::move(beat);
  return out;
}

}  // namespace twinhub::health
