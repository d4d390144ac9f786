#include "health_wire/aggregate.h"

#include <nlohmann/json.hpp>

#include "health_wire/health_subjects.h"

namespace twinhub::health {

using nlohmann::json;

namespace {

constexpr uint64_t kMaxCounter = uint64_t{1} << 53;
constexpr int64_t kMaxMs = int64_t{1} << 50;

bool anyShortText(std::string_view s) { return s.size() <= 256; }

json sidecarJson(const SidecarSummary& s) {
  json out = {{"id", s.id},         {"machine", s.machine}, {"served", s.served},
              {"fronted", s.fronted}, {"mode", s.mode},     {"generation", s.generation},
              {"hub_in_use", s.hub_in_use}, {"agent", s.agent}, {"state", s.state},
              {"age_ms", s.age_ms},   {"heard_via", s.heard_via}};
  if (s.sync_ms) out["sync_ms"] = *s.sync_ms;
  return out;
}

SidecarSummary decodeSidecar(const json& item, JsonFields& f, size_t i) {
  SidecarSummary s;
  if (!item.is_object()) {
    f.fail("sidecars[" + std::to_string(i) + "] must be an object");
    return s;
  }
  JsonFields r(item, "sidecars[" + std::to_string(i) + "]");
  s.id = r.string("id", 128, validName);
  s.machine = r.string("machine", 64, validMachineName);
  s.served = r.names("served", kMaxServices, validName, true);
  s.fronted = r.names("fronted", kMaxServices, validName, true);
  s.mode = r.string("mode", 16);
  s.generation = r.uint("generation", kMaxCounter);
  s.hub_in_use = r.optionalString("hub_in_use", 64);
  s.agent = r.string("agent", 16);
  s.state = r.string("state", 16);
  s.age_ms = r.integer("age_ms", -kMaxMs, kMaxMs);
  s.sync_ms = r.optionalNumber("sync_ms", -1e9, 1e9);
  s.heard_via = r.names("heard_via", kMaxHubs, validName, true);
  if (!r.ok()) f.fail(r.error());
  return s;
}

}  // namespace

std::string encodeAggregate(const Aggregate& a) {
  json hubs = json::array();
  for (const HubSummary& h : a.hubs) hubs.push_back({{"name", h.name}, {"state", h.state}});
  json sidecars = json::array();
  for (const SidecarSummary& s : a.sidecars) sidecars.push_back(sidecarJson(s));
  json out = {{"v", kAggregateVersion}, {"observer", a.observer},   {"ts", a.ts_ms},
              {"hubs", std::move(hubs)}, {"leaf", a.leaf},          {"sidecars", std::move(sidecars)},
              {"partitioned", a.partitioned}, {"open_alerts", a.open_alerts}};
  return out.dump(-1, ' ', false, json::error_handler_t::replace);
}

Decoded<Aggregate> decodeAggregate(std::string_view data) {
  Decoded<Aggregate> out;
  std::optional<json> parsed = parseObject(data, kMaxAggregateBytes, &out.reject, &out.detail);
  if (!parsed) return out;
  JsonFields f(*parsed);
  const int64_t version = f.integer("v", 0, 1 << 20);
  if (f.ok() && version != kAggregateVersion) {
    out.reject = Reject::kVersion;
    out.detail = "schema version " + std::to_string(version) + ", expected " + std::to_string(kAggregateVersion);
    return out;
  }
  Aggregate a;
  a.observer = f.string("observer", 128, validName);
  a.ts_ms = f.integer("ts", 0, kMaxMs);
  a.leaf = f.string("leaf", 16);
  if (const json* hubs = f.array("hubs", kMaxHubs, true)) {
    for (size_t i = 0; i < hubs->size() && f.ok(); ++i) {
      if (!(*hubs)[i].is_object()) {
        f.fail("hubs[" + std::to_string(i) + "] must be an object");
        break;
      }
      JsonFields h((*hubs)[i], "hubs[" + std::to_string(i) + "]");
      a.hubs.push_back({h.string("name", 64, validName), h.string("state", 16)});
      if (!h.ok()) f.fail(h.error());
    }
  }
  if (const json* sidecars = f.array("sidecars", kMaxAggregateSidecars, true)) {
    for (size_t i = 0; i < sidecars->size() && f.ok(); ++i) a.sidecars.push_back(decodeSidecar((*sidecars)[i], f, i));
  }
  a.partitioned = f.names("partitioned", kMaxAggregateSidecars, validMachineName, true);
  a.open_alerts = f.names("open_alerts", 4 * kMaxAggregateSidecars, anyShortText, true);
  if (!f.ok()) {
    out.reject = Reject::kField;
    out.detail = f.error();
    return out;
  }
  out.value = std::move(a);
  return out;
}

}  // namespace twinhub::health
