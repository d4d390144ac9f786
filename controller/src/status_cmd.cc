// `twinhubctl status [--json] [--watch]`: the fleet table. It listens on every hub for
// health.aggregate (published each second by a running aggregator) and, at the same time, to the
// heartbeats themselves; an aggregate from another aggregator wins, otherwise it shows what its
// own --window-ms of listening found. Publishes nothing.
#include <CLI/CLI.hpp>

#include <unistd.h>

#include <cstdio>

#include "commands.h"
#include "fleet_hubs.h"
#include "health/aggregator.h"
#include "status/status_table.h"

namespace twinhub::ctl {

namespace {

int showOnce(Aggregator& aggregator, const StatusOptions& o, bool clear) {
  aggregator.forgetRemoteAggregate();  // only what this window heard: the aggregator may be gone
  aggregator.run(stopRequested(), o.window_ms);
  if (!aggregator.anyHubUp()) {
    std::fprintf(stderr, "twinhubctl: no hub reachable\n");
    return kExitNoHub;
  }
  const bool remote = aggregator.remoteAggregate().has_value();
  const health::Aggregate shown = remote ? *aggregator.remoteAggregate() : aggregator.snapshot();
  std::string text = o.json ? health::encodeAggregate(shown) + "\n"
                            : renderStatusTable(shown, remote ? "aggregator " + shown.observer : "heartbeats");
  if (clear) text = "\x1b[H\x1b[2J" + text;
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  return statusExitCode(shown);
}

int runStatus(const GlobalOptions& global, const StatusOptions& o) {
  const std::optional<std::vector<HubAddress>> hubs = resolveHubs(global.hubs, global.fleet_file, global.security, "controller");
  if (!hubs) return kExitUsage;
  AggregatorOptions options;
  options.hubs = *hubs;
  options.observer = defaultObserverName() + ".status." + std::to_string(getpid());  // never an aggregator's name
  options.publish = false;
  options.read_aggregates = true;
  Aggregator aggregator(options, [](const std::string&, const std::string&) {});
  if (std::string problem = aggregator.start(); !problem.empty()) {
    std::fprintf(stderr, "twinhubctl: %s\n", problem.c_str());
    return kExitUsage;
  }
  int code = showOnce(aggregator, o, o.watch && !o.json);
  while (o.watch && !stopRequested().load()) code = showOnce(aggregator, o, !o.json);
  return code;
}

}  // namespace

void addStatus(CLI::App& app, GlobalOptions& global, StatusOptions& options, int& exit_code) {
  CLI::App* status = app.add_subcommand("status", "Print the fleet table (from a running aggregator, or from heartbeats)");
  status->add_option("-f,--fleet", global.fleet_file, "Take the hubs from this fleet file (when no --hub)");
  status->add_flag("--json", options.json, "Print health.aggregate JSON instead of the table");
  status->add_flag("--watch", options.watch, "Refresh every --window-ms until interrupted");
  status->add_option("--window-ms", options.window_ms, "How long to listen before printing")
      ->check(CLI::Range(100, 60000))->capture_default_str();
  status->callback([&] { exit_code = runStatus(global, options); });
}

}  // namespace twinhub::ctl
