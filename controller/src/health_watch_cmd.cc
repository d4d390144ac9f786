// `twinhubctl health watch [--once]`: the aggregator. Long-running: alerts and recoveries go to
// stdout as they are published, one line each ("alert {...}", "recovery {...}"). With --once it
// listens for --window-ms, prints the fleet snapshot (a table, or JSON with --json) and exits,
// publishing nothing.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "commands.h"
#include "fleet_hubs.h"
#include "health/aggregator.h"
#include "health_wire/health_subjects.h"
#include "status/status_table.h"

namespace twinhub::ctl {

namespace {

int runHealthWatch(const GlobalOptions& global, const HealthWatchOptions& o) {
  const std::optional<std::vector<HubAddress>> hubs = resolveHubs(global.hubs, global.fleet_file, global.security, "aggregator");
  if (!hubs) return kExitUsage;
  AggregatorOptions options;
  options.hubs = *hubs;
  options.observer = o.observer.empty() ? defaultObserverName() : o.observer;
  options.publish = !o.once;
  options.metrics_address = o.metrics;
  options.detector.lost_beats = o.lost_beats_x10 / 10.0;
  options.history.enabled = !o.no_history;
  options.history.retention_ms = static_cast<int64_t>(o.retention_hours * 3600 * 1000);
  Aggregator aggregator(options, [&](const std::string& subject, const std::string& json) {
    if (o.once) return;
    std::printf("%s %s\n", subject == health::kAlertsSubject ? "alert" : "recovery", json.c_str());
    std::fflush(stdout);
  });
  if (std::string problem = aggregator.start(); !problem.empty()) {
    std::fprintf(stderr, "twinhubctl: %s\n", problem.c_str());
    return kExitUsage;
  }
  if (!o.once) {
    std::fprintf(stderr, "twinhubctl: aggregator %s watching %zu hub(s)%s\n", options.observer.c_str(),
                 hubs->size(),
                 o.metrics.empty() ? "" : (", metrics on http://" + aggregator.metricsAddress() + "/metrics").c_str());
  }
  aggregator.run(stopRequested(), o.once ? o.window_ms : -1);
  if (!o.once) return kExitOk;
  if (!aggregator.anyHubUp()) {
    std::fprintf(stderr, "twinhubctl: no hub reachable\n");
    return kExitNoHub;
  }
  const health::Aggregate snapshot = aggregator.snapshot();
  const std::string text = o.json ? health::encodeAggregate(snapshot) + "\n" : renderStatusTable(snapshot, "own listening");
  std::fputs(text.c_str(), stdout);
  return statusExitCode(snapshot);
}

}  // namespace

void addHealthWatch(CLI::App& health, GlobalOptions& global, HealthWatchOptions& options, int& exit_code) {
  CLI::App* watch = health.add_subcommand("watch", "Aggregate heartbeats from every hub; publish alerts, recoveries and the fleet state");
  watch->add_flag("--once", options.once, "Listen for --window-ms, print one snapshot and exit (publishes nothing)");
  watch->add_flag("--json", options.json, "With --once: print the snapshot as health.aggregate JSON");
  watch->add_option("-f,--fleet", global.fleet_file, "Take the hubs from this fleet file (when no --hub)");
  watch->add_option("--window-ms", options.window_ms, "With --once: how long to listen")->check(CLI::Range(100, 60000))->capture_default_str();
  watch->add_option("--metrics", options.metrics, "Serve Prometheus /metrics on HOST:PORT (port 0: any)");
  watch->add_option("--observer", options.observer, "This aggregator's name in alerts and history (default: the host name)")
      ->check([](const std::string& v) { return health::validName(v) ? "" : "not a valid name"; });
  watch->add_option("--lost-after-beats", options.lost_beats_x10, "Silence before sidecar_lost, in tenths of the sidecar's interval")
      ->check(CLI::Range(5, 1000))->capture_default_str();
  watch->add_flag("--no-history", options.no_history,
                  "Do not keep alerts, recoveries and aggregates in the TWINHUB_HEALTH stream, nor restore from it");
  watch->add_option("--retention-hours", options.retention_hours, "How long the history stream keeps messages")
      ->check(CLI::Range(0.01, 24.0 * 365))->capture_default_str();
  watch->callback([&] { exit_code = runHealthWatch(global, options); });
}

}  // namespace twinhub::ctl
