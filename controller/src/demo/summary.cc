#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "demo/demo_result.h"

namespace twinhub::ctl::demo {

namespace {

double percentile(std::vector<float>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(p * static_cast<double>(v.size() - 1))];
}

// A failed request to an agent with no replica while that agent was down (crash to restart, plus
// the callers' reply timeout) is the expected cost of that fault, not a loss.
bool explainedByCrash(const RequestRecord& r, const std::string& agent, const DemoResult& result) {
  for (const FaultRecord& f : result.faults) {
    if (!f.unreplicated_agent || f.agent != agent) continue;
    if (r.start_ms + r.latency_ms >= f.start_ms && r.start_ms <= f.end_ms + 1000) return true;
  }
  return false;
}

}  // namespace

void summarize(const std::vector<RequestRecord>& records, DemoResult* result, double bucket_ms) {
  const auto& targets_agent = [&](uint16_t t) -> std::string {
    return t < result->target_agents.size() ? result->target_agents[t] : "";
  };
  // Faults come one after another: a request is put down to the first fault it overlaps (one
  // that started in an earlier fault's window and outlasted it is that fault's cost).
  double previous_window_end = -1;
  for (FaultRecord& f : result->faults) {
    const double window_end = f.end_ms + 1000;
    for (const RequestRecord& r : records) {
      const double end = r.start_ms + r.latency_ms;
      if (r.start_ms <= f.start_ms && end >= f.start_ms) ++f.in_flight_at_start;
      if (r.start_ms <= window_end && end >= f.start_ms && r.start_ms > previous_window_end) {
        f.longest_stall_ms = std::max(f.longest_stall_ms, static_cast<double>(r.latency_ms));
        if (!r.ok) ++f.failed;
      }
    }
    previous_window_end = window_end;
  }
  result->lost = 0;
  for (const RequestRecord& r : records) {
    if (!r.ok && !explainedByCrash(r, targets_agent(r.target), *result)) ++result->lost;
  }
  // Per-process ledgers see a request served twice by one process; one served by an agent and
  // again by its replica (or by the agent before and after a restart) shows as more requests
  // served than the callers sent and got answered or gave up on.
  const uint64_t across = result->ledgers.unique_ids > result->load.sent ? result->ledgers.unique_ids - result->load.sent : 0;
  result->served_twice = result->ledgers.duplicates + across;

  result->timeline.clear();
  if (records.empty()) return;
  const double last = records.back().start_ms;
  size_t i = 0;
  for (double t = 0; t <= last; t += bucket_ms) {
    std::vector<float> lat;
    uint64_t failed = 0;
    while (i < records.size() && records[i].start_ms < t + bucket_ms) {
      lat.push_back(records[i].latency_ms);
      if (!records[i].ok) ++failed;
      ++i;
    }
    TimelinePoint p{t, lat.size() * 1000.0 / bucket_ms, 0, 0, 0, failed};
    if (!lat.empty()) {
      p.p50_ms = percentile(lat, 0.5);
      p.p99_ms = percentile(lat, 0.99);
      p.max_ms = lat.back();
    }
    result->timeline.push_back(p);
  }
}

std::string summaryTable(const DemoResult& r) {
  std::string s;
  s += fmt::format("\n== twinhub demo summary ({}, {} agents, {} callers, network: {}, hubs: {}) ==\n",
                   r.short_run ? "short" : "full", r.agents, r.callers, r.mode, r.hub_security);
  s += fmt::format("requests  sent {}  answered {}  failed {}  lost {}  served twice {}   (agents' ledgers: {} served, "
                   "{} unique ids, {} duplicates, {} ledgers)\n",
                   r.load.sent, r.load.answered, r.load.failed, r.lost, r.served_twice, r.ledgers.served,
                   r.ledgers.unique_ids, r.ledgers.duplicates, r.ledgers.files);
  s += fmt::format("\n{:<62} {:<42} {:>9}   {:>9}  {:>13}  {:>6}\n", "fault", "detected by", "detection", "in flight",
                   "longest stall", "failed");
  for (const FaultRecord& f : r.faults) {
    s += fmt::format("{:<62} {:<42} {:>9}   {:>9}  {:>10.0f} ms  {:>6}\n", f.name, f.expect,
                     f.detection_ms ? fmt::format("{:.0f} ms", *f.detection_ms) : std::string("NOT SEEN"),
                     f.in_flight_at_start, f.longest_stall_ms, f.failed);
  }
  s += "\nbatch                              attempt  outcome        time     flip reported\n";
  for (const BatchRecord& b : r.batches) {
    s += fmt::format("{:<34} {:>7}  {:<12} {:>6.1f} s   {}\n", b.name, b.attempt, b.outcome, (b.end_ms - b.start_ms) / 1000,
                     b.flip_ms >= 0 ? fmt::format("{:.0f} ms", b.flip_ms) : std::string("-"));
  }
  s += fmt::format("rollback (breach to batch back in direct mode): {}\n",
                   r.rollback_ms ? fmt::format("{:.0f} ms", *r.rollback_ms) : std::string("none"));
  auto bound = [](const std::optional<double>& v) { return v ? fmt::format("{:.1f} ms", *v) : std::string("> 1 s"); };
  s += fmt::format("health sync (heartbeat to aggregator): before the faults {} beats p50 <= {} p99 <= {}; "
                   "whole run {} beats p50 <= {} p99 <= {}\n",
                   r.steady_sync_beats, bound(r.steady_sync_p50_ms), bound(r.steady_sync_p99_ms), r.sync_beats,
                   bound(r.sync_p50_ms), bound(r.sync_p99_ms));
  size_t max_rss = 0, fleet_rss = 0, fleet_n = 0;
  for (const auto& [id, rss] : r.sidecar_rss) {
    max_rss = std::max(max_rss, rss);
    if (id.rfind("pc2.", 0) == 0) fleet_rss += rss, ++fleet_n;
  }
  s += fmt::format("sidecar RSS: the fleet's {} pc2 sidecars together {:.1f} MB (target for 26: < 400 MB); PSS {:.1f} MB "
                   "(shared library pages counted once)\n",
                   fleet_n, fleet_rss / 1e6, r.fleet_pss / 1e6);
  s += fmt::format("sidecar RSS: {} sidecars, together {:.1f} MB, each {:.1f} MB on average, largest {:.1f} MB\n",
                   r.sidecar_rss.size(), r.rss_total / 1e6, r.sidecar_rss.empty() ? 0.0 : r.rss_total / 1e6 / r.sidecar_rss.size(),
                   max_rss / 1e6);
  s += fmt::format("whole demo: {:.1f} s\n", r.total_s);
  for (const std::string& t : r.targets_missed) s += "TARGET NOT MET: " + t + "\n";
  for (const std::string& p : r.problems) s += "PROBLEM: " + p + "\n";
  s += r.problems.empty() ? "RESULT: pass\n" : "RESULT: FAIL\n";
  return s;
}

std::string summaryJson(const DemoResult& r) {
  nlohmann::json j;
  j["v"] = 1;
  j["mode"] = r.mode;
  j["hub_security"] = r.hub_security;
  j["short"] = r.short_run;
  j["agents"] = r.agents;
  j["total_s"] = r.total_s;
  j["requests"] = {{"sent", r.load.sent},       {"answered", r.load.answered}, {"failed", r.load.failed},
                   {"lost", r.lost},            {"served_twice", r.served_twice},
                   {"ledger_served", r.ledgers.served}, {"ledger_unique_ids", r.ledgers.unique_ids},
                   {"ledger_duplicates", r.ledgers.duplicates}};
  j["faults"] = nlohmann::json::array();
  for (const FaultRecord& f : r.faults) {
    j["faults"].push_back({{"name", f.name},
                           {"expect", f.expect},
                           {"start_ms", f.start_ms},
                           {"end_ms", f.end_ms},
                           {"detection_ms", f.detection_ms ? nlohmann::json(*f.detection_ms) : nlohmann::json()},
                           {"detected_by", f.detected_by},
                           {"in_flight_at_start", f.in_flight_at_start},
                           {"longest_stall_ms", f.longest_stall_ms},
                           {"failed", f.failed}});
  }
  j["batches"] = nlohmann::json::array();
  for (const BatchRecord& b : r.batches) {
    j["batches"].push_back({{"name", b.name}, {"attempt", b.attempt}, {"outcome", b.outcome},
                            {"seconds", (b.end_ms - b.start_ms) / 1000}, {"flip_reported_ms", b.flip_ms}});
  }
  j["rollback_ms"] = r.rollback_ms ? nlohmann::json(*r.rollback_ms) : nlohmann::json();
  j["health_sync_ms"] = {{"p50", r.sync_p50_ms ? nlohmann::json(*r.sync_p50_ms) : nlohmann::json()},
                         {"p99", r.sync_p99_ms ? nlohmann::json(*r.sync_p99_ms) : nlohmann::json()},
                         {"beats", r.sync_beats},
                         {"steady_p50", r.steady_sync_p50_ms ? nlohmann::json(*r.steady_sync_p50_ms) : nlohmann::json()},
                         {"steady_p99", r.steady_sync_p99_ms ? nlohmann::json(*r.steady_sync_p99_ms) : nlohmann::json()},
                         {"steady_beats", r.steady_sync_beats}};
  j["sidecar_rss_bytes"] = nlohmann::json::object();
  for (const auto& [id, rss] : r.sidecar_rss) j["sidecar_rss_bytes"][id] = rss;
  j["sidecar_rss_total_bytes"] = r.rss_total;
  j["fleet_sidecar_pss_bytes"] = r.fleet_pss;
  j["problems"] = r.problems;
  j["targets_not_met"] = r.targets_missed;
  j["pass"] = r.problems.empty();
  return j.dump();
}

}  // namespace twinhub::ctl::demo
