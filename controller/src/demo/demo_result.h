// What a demo run measured, as the summary table, the --json summary and the HTML report read it.
// Times are milliseconds since the run's time zero (steady clock) unless named *_epoch_ms.
// Plain data; filled by the demo's main thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "demo/caller_load.h"

namespace twinhub::ctl::demo {

struct FaultRecord {
  std::string name;           // "hub edge killed (-9), restarted"
  std::string expect;         // the alert (or migrate step) that detects it, e.g. "hub_down edge"
  double start_ms = 0, end_ms = 0;  // injected, healed
  int64_t start_epoch_ms = 0;
  std::optional<double> detection_ms;  // detection time after the injection
  std::string detected_by;             // the alert's summary
  bool unreplicated_agent = false;     // requests to `agent` may fail while it is down
  std::string agent;
  // Filled by summarize():
  uint64_t in_flight_at_start = 0;  // requests sent before the injection and answered after it
  double longest_stall_ms = 0;      // the longest request overlapping [start, end + 1 s]
  uint64_t failed = 0;              // requests overlapping that window that got no reply
};

struct Mark {
  double t_ms;
  std::string label;  // "b1 flipped", "b4 rolled back"
  std::string kind;   // flip | confirm | rollback
};

struct BatchRecord {
  std::string name;
  int attempt = 1;
  double start_ms = 0, end_ms = 0;
  std::string outcome;  // confirmed | rolled_back | failed (exit N)
  double flip_ms = -1;  // flip written -> every sidecar reported it (from the ledger), -1 unknown
};

struct LedgerTotals {
  uint64_t served = 0, unique_ids = 0, duplicates = 0;
  size_t files = 0;
};

struct TimelinePoint {
  double t_ms;         // bucket start
  double rate;         // requests completed per second
  double p50_ms, p99_ms, max_ms;
  uint64_t failed;
};

struct DemoResult {
  std::string mode;  // "127.0.0.1 (link cut: relay in front of central's leaf port)"
  std::string hub_security;  // "tls+users" (the default) or "plain" (--plain-hubs)
  bool short_run = false;
  size_t agents = 0, callers = 0;
  double total_s = 0;
  std::string plan_as_planned;  // what plan said about reference-as-planned.yaml
  int plan_as_planned_exit = 0, plan_demo_exit = 0;
  std::vector<BatchRecord> batches;
  std::optional<double> rollback_ms;  // breach to the batch back in direct mode
  std::vector<FaultRecord> faults;
  std::vector<Mark> marks;
  LoadCounters load;
  uint64_t lost = 0, served_twice = 0;
  LedgerTotals ledgers;
  std::vector<std::pair<std::string, size_t>> sidecar_rss;  // id, bytes
  size_t rss_total = 0;
  size_t fleet_pss = 0;
  std::vector<std::string> targets_missed;  // figures over their targets: said, but not a failure  // the pc2 sidecars' PSS: shared library pages counted once (reported, not judged)
  std::optional<double> sync_p50_ms, sync_p99_ms;  // the whole run, faults included
  uint64_t sync_beats = 0;
  std::optional<double> steady_sync_p50_ms, steady_sync_p99_ms;  // up to the first hub/agent/link fault
  uint64_t steady_sync_beats = 0;
  std::vector<TimelinePoint> timeline;
  std::vector<std::string> target_agents;  // the load targets' agent names, by target index
  std::vector<std::string> problems;  // why the run failed, if it did
  bool migrated_all = false;
};

// Fills the per-fault figures, lost/served twice and the timeline from the caller records.
void summarize(const std::vector<RequestRecord>& records, DemoResult* result, double bucket_ms);
// The summary table, as printed at the end.
std::string summaryTable(const DemoResult& result);
// The --json summary (one object).
std::string summaryJson(const DemoResult& result);

}  // namespace twinhub::ctl::demo
