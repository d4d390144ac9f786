#include "migrate/migration.h"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "commands.h"
#include "control/desired_state_store.h"
#include "fleet_hubs.h"
#include "health/aggregator.h"
#include "migrate/beat_window.h"
#include "migrate/progress_bar.h"
#include "migrate/soak_judge.h"

namespace twinhub::ctl {

namespace {

using json = nlohmann::json;

constexpr int64_t kLeaseTtlMs = 15000;
constexpr int64_t kWarmUpMs = 1500;        // long enough to hear every sidecar once (500 ms beats)
constexpr int64_t kListenStepMs = 100;
constexpr int64_t kGatePatienceMs = 3000;  // a gate that fails is asked again this long
constexpr int64_t kFlipPollMs = 10;        // a flip's arrival is a figure: look often
constexpr int kMaxWindowExtensions = 3;     // a quiet batch is judged on what there is after this

// ---- what the fleet says --------------------------------------------------------------------

// The sidecars of a batch: each agent's on its machine and on every replica machine.
std::vector<std::string> batchSidecars(const fleet::Fleet& f, const fleet::Batch& batch) {
  std::vector<std::string> ids;
  for (const fleet::NamedRef& ref : batch.agents) {
    const fleet::Agent* agent = f.findAgent(ref.name);
    if (!agent) continue;
    ids.push_back(agent->machine.name + "." + agent->name);
    for (const fleet::NamedRef& replica : agent->replicas) ids.push_back(replica.name + "." + agent->name);
  }
  return ids;
}

SoakThresholds soakThresholds(const fleet::Thresholds& t) {
  SoakThresholds s;
  s.max_latency_ratio_p99 = t.max_latency_ratio_p99;
  s.min_latency_delta_ms = t.min_latency_delta_ms;
  s.max_error_rate = t.max_error_rate;
  s.min_samples = t.min_samples;
  return s;
}

std::string controllerName() {
  char host[256] = "host";
  gethostname(host, sizeof host - 1);
  return std::string("twinhubctl@") + host + ":" + std::to_string(getpid());
}

// ---- progress and ledger ----------------------------------------------------------------------

// Every step as a line on stderr (or a JSON event on stdout with --json) and into the ledger;
// on a terminal, a live bar below the lines.
class Progress {
 public:
  Progress(bool json, DesiredStateStore& store, std::string run)
      : json_(json), store_(store), run_(std::move(run)), bar_(stderr) {}

  void planned(size_t batches) { state_.batches = batches; }
  void step(int batch, const char* name, double planned_s) {
    state_.batch = batch;
    state_.step = name;
    state_.step_s = planned_s;
    step_started_ms_ = health::wallClockMs();
    tick();
  }
  void batchDone() {
    ++state_.batches_done;
    state_.batch = 0;
    tick();
  }
  void tick() {
    if (json_) return;
    state_.elapsed_s = static_cast<double>(health::wallClockMs() - step_started_ms_) / 1000.0;
    bar_.show(state_);
  }
  void finish() { bar_.clear(); }

  void event(const std::string& step, int batch, json figures, const std::string& text) {
    json e = {{"v", 1}, {"ts_ms", health::wallClockMs()}, {"run", run_}, {"step", step}, {"batch", batch}};
    if (!figures.is_null()) e["figures"] = std::move(figures);
    e["text"] = text;
    const std::string line = e.dump();
    if (store_.appendLedger(line) == 0) ledger_misses_++;
    if (json_) {
      std::printf("%s\n", line.c_str());
      std::fflush(stdout);
    } else {
      bar_.clear();
      std::fprintf(stderr, "twinhubctl: %s%s: %s\n", batch > 0 ? ("batch " + std::to_string(batch) + " ").c_str() : "",
                   step.c_str(), text.c_str());
    }
  }
  int ledgerMisses() const { return ledger_misses_; }

 private:
  bool json_;
  DesiredStateStore& store_;
  std::string run_;
  int ledger_misses_ = 0;
  ProgressBar bar_;
  ProgressState state_;
  int64_t step_started_ms_ = 0;
};

// ---- the runner ------------------------------------------------------------------------------

class Runner {
 public:
  Runner(const fleet::Fleet& f, std::vector<HubAddress> hubs, bool json)
      : fleet_(f),
        hubs_(hubs),
        store_(hubs),
        me_(controllerName()),
        progress_(json, store_, me_ + "@" + std::to_string(health::wallClockMs())) {}

  ~Runner() { store_.releaseLease(me_); }

  // Connects, takes the lease, brings every domain up to date and listens to the fleet a moment.
  int start() {
    if (store_.connect() == 0) {
      for (const std::string& why : store_.unusableHubs()) std::fprintf(stderr, "twinhubctl: hub %s\n", why.c_str());
      std::fprintf(stderr, "twinhubctl: no hub reachable\n");
      return kMigrateExitNoHub;
    }
    DesiredStateStore::LeaseResult lease = store_.acquireLease(me_, kLeaseTtlMs);
    lease_renewed_ms_ = health::wallClockMs();
    if (!lease.held) {
      if (lease.other) {
        std::fprintf(stderr, "twinhubctl: another controller holds the lease: %s (until %lld ms from now)\n",
                     lease.other->holder.c_str(),
                     static_cast<long long>(lease.other->expires_ms - health::wallClockMs()));
        return kMigrateExitLeaseHeld;
      }
      std::fprintf(stderr, "twinhubctl: %s\n", lease.error.c_str());
      return kMigrateExitError;
    }
    if (!lease.taken_over.empty()) {
      progress_.event("lease_taken_over", 0, {{"from", lease.taken_over}},
                      "the lease's holder " + lease.taken_over + " is no longer running on this machine");
    }
    if (const size_t caught_up = store_.catchUp(); caught_up > 0) {
      progress_.event("catch_up", 0, {{"values", caught_up}}, std::to_string(caught_up) + " value(s) copied to hubs that missed them");
    }
    AggregatorOptions options;
    options.hubs = hubs_;
    options.observer = "twinhubctl.migrate." + std::to_string(getpid());
    options.publish = false;
    aggregator_ = std::make_unique<Aggregator>(options, [](const std::string&, const std::string&) {});
    aggregator_->setBeatSink([this](const health::Heartbeat& beat) {
      if (window_) window_->add(beat);
    });
    if (std::string problem = aggregator_->start(); !problem.empty()) {
      std::fprintf(stderr, "twinhubctl: %s\n", problem.c_str());
      return kMigrateExitError;
    }
    listen(kWarmUpMs);
    return kMigrateExitDone;
  }

  int migrate(size_t index, const MigrateOptions& options);
  int rollback(int batch, const std::vector<std::string>& ids, const std::string& why);
  Progress& progress() { return progress_; }

 private:
  void listen(int64_t ms) {
    for (int64_t waited = 0; waited < ms && !stopRequested().load(); waited += kListenStepMs) {
      aggregator_->run(stopRequested(), std::min(kListenStepMs, ms - waited));
      progress_.tick();
    }
    renewLease();
  }
  // A third of the TTL between renewals: listen() runs every 100 ms while waiting for a flip.
  void renewLease() {
    const int64_t now = health::wallClockMs();
    if (now - lease_renewed_ms_ < kLeaseTtlMs / 3) return;
    store_.acquireLease(me_, kLeaseTtlMs);
    lease_renewed_ms_ = now;
  }
  std::string gate(const std::vector<std::string>& ids, bool accept_one_hub);
  BatchFigures window(int batch, const char* step, double seconds, const SoakThresholds& thresholds);
  // How long a flip took: writing every value, and each sidecar's report of it.
  struct FlipTimes {
    int64_t written_ms = 0;
    std::vector<int64_t> reported_ms;  // one per sidecar that reported, in the order they did
    json figures() const {
      json f = {{"write_ms", written_ms}, {"sidecars_reported", reported_ms.size()}};
      if (!reported_ms.empty()) {
        f["report_p50_ms"] = reported_ms[reported_ms.size() / 2];
        f["report_max_ms"] = reported_ms.back();
      }
      return f;
    }
  };
  // Writes a new generation for every sidecar of `ids` and waits for their heartbeats to report
  // it; false on timeout. `known`: the values stored for `ids`, read beforehand (nullptr: read
  // them first).
  bool flip(const std::vector<std::string>& ids, const std::string& mode, int64_t provisional_until_ms,
            double timeout_s, std::map<std::string, uint64_t>* generations, FlipTimes* times = nullptr,
            const std::map<std::string, wire::DesiredState>* known = nullptr);
  void confirm(const std::map<std::string, uint64_t>& generations);
  bool alreadyMigrated(const std::vector<std::string>& ids);

  const fleet::Fleet& fleet_;
  std::vector<HubAddress> hubs_;
  DesiredStateStore store_;
  std::string me_;
  Progress progress_;
  std::unique_ptr<Aggregator> aggregator_;
  std::unique_ptr<BeatWindow> window_;
  int64_t lease_renewed_ms_ = 0;
};

std::string Runner::gate(const std::vector<std::string>& ids, bool accept_one_hub) {
  const health::Aggregate fleet = aggregator_->snapshot();
  size_t hubs_down = 0;
  std::string down;
  for (const health::HubSummary& hub : fleet.hubs) {
    if (hub.state != "up") {
      ++hubs_down;
      down += (down.empty() ? "" : ", ") + hub.name + " " + hub.state;
    }
  }
  if (hubs_down > (accept_one_hub ? 1u : 0u) || hubs_down == fleet.hubs.size()) return "hub " + down;
  for (const std::string& id : ids) {
    auto it = std::find_if(fleet.sidecars.begin(), fleet.sidecars.end(),
                           [&](const health::SidecarSummary& s) { return s.id == id; });
    if (it == fleet.sidecars.end()) return "sidecar " + id + " not heard";
    if (it->state != "ok") return "sidecar " + id + " " + it->state;
    if (it->agent == "failing") return "agent of " + id + " is failing";
  }
  return "";
}

BatchFigures Runner::window(int batch, const char* step, double seconds, const SoakThresholds& thresholds) {
  window_->reset();
  listen(static_cast<int64_t>(seconds * 1000));
  for (int extension = 0; extension < kMaxWindowExtensions && !enoughSamples(window_->figures(), thresholds) &&
                          !stopRequested().load();
       ++extension) {
    progress_.event(step, batch, nullptr, "too few requests so far: window extended");
    listen(static_cast<int64_t>(seconds * 1000));
  }
  return window_->figures();
}

bool Runner::flip(const std::vector<std::string>& ids, const std::string& mode, int64_t provisional_until_ms,
                  double timeout_s, std::map<std::string, uint64_t>* generations, FlipTimes* times,
                  const std::map<std::string, wire::DesiredState>* known) {
  const std::map<std::string, wire::DesiredState> stored = known ? *known : store_.readMany(ids);
  const int64_t started = health::wallClockMs();
  std::map<std::string, wire::DesiredState> next;
  for (const std::string& id : ids) {
    uint64_t current = 0;
    if (auto it = stored.find(id); it != stored.end()) current = it->second.generation;
    if (auto it = window_->generations().find(id); it != window_->generations().end()) {
      current = std::max(current, it->second);
    }
    wire::DesiredState& state = next[id];
    state.mode = mode;
    state.generation = current + 1;
    state.provisional_until_ms = provisional_until_ms;
    state.confirmed = provisional_until_ms == 0;
    state.by = me_;
    (*generations)[id] = state.generation;
  }
  store_.writeMany(next);
  if (times) times->written_ms = health::wallClockMs() - started;
  // When each sidecar's beat first carried its new generation, from the first write.
  std::map<std::string, uint64_t> waiting = *generations;
  const int64_t deadline = health::wallClockMs() + static_cast<int64_t>(timeout_s * 1000);
  while (!waiting.empty() && health::wallClockMs() < deadline && !stopRequested().load()) {
    listen(kFlipPollMs);
    for (auto it = waiting.begin(); it != waiting.end();) {
      if (window_->allReport({*it})) {
        if (times) times->reported_ms.push_back(health::wallClockMs() - started);
        it = waiting.erase(it);
      } else {
        ++it;
      }
    }
  }
  return waiting.empty();
}

void Runner::confirm(const std::map<std::string, uint64_t>& generations) {
  std::map<std::string, wire::DesiredState> confirmed;
  for (const auto& [id, generation] : generations) {
    wire::DesiredState& state = confirmed[id];
    state.mode = "hub";
    state.generation = generation;
    state.confirmed = true;
    state.by = me_;
  }
  store_.writeMany(confirmed);
}

bool Runner::alreadyMigrated(const std::vector<std::string>& ids) {
  for (const std::string& id : ids) {
    auto state = store_.read(id);
    if (!state || state->mode != "hub" || !state->confirmed) return false;
  }
  return !ids.empty();
}

int Runner::rollback(int batch, const std::vector<std::string>& ids, const std::string& why) {
  if (!window_) window_ = std::make_unique<BeatWindow>(std::set<std::string>(ids.begin(), ids.end()));
  const int64_t started = health::wallClockMs();
  std::map<std::string, uint64_t> generations;
  const bool reported = flip(ids, "direct", 0, fleet_.thresholds.flip_timeout_s, &generations);
  const int64_t took = health::wallClockMs() - started;
  progress_.event("rolled_back", batch, {{"sidecars", ids.size()}, {"ms", took}, {"reported", reported}},
                  why + (reported ? "; every sidecar back in direct mode after " + std::to_string(took) + " ms"
                                  : "; not every sidecar reported the rollback in time"));
  return reported ? kMigrateExitRolledBack : kMigrateExitError;
}

int Runner::migrate(size_t index, const MigrateOptions& options) {
  const fleet::Batch& batch = fleet_.batches[index];
  const int number = static_cast<int>(index) + 1;
  const std::vector<std::string> ids = batchSidecars(fleet_, batch);
  window_ = std::make_unique<BeatWindow>(std::set<std::string>(ids.begin(), ids.end()));
  if (alreadyMigrated(ids)) {
    progress_.event("skipped", number, {{"sidecars", ids.size()}}, batch.name + ": already migrated and confirmed");
    return kMigrateExitDone;
  }
  const int64_t batch_started = health::wallClockMs();
  progress_.step(number, "gate", 0);
  listen(kWarmUpMs / 3);
  // A blip (a beat late on a busy machine, a hub reconnecting) is not a reason to stop: the
  // gate is asked again for a few seconds before the batch pauses.
  std::string why = gate(ids, options.accept_one_hub);
  for (int64_t waited = 0; !why.empty() && waited < kGatePatienceMs && !stopRequested().load(); waited += kListenStepMs) {
    listen(kListenStepMs);
    why = gate(ids, options.accept_one_hub);
  }
  if (!why.empty()) {
    progress_.event("paused", number, {{"reason", why}}, "gate failed: " + why + "; nothing changed");
    return kMigrateExitPaused;
  }
  progress_.event("gate", number, {{"sidecars", ids.size()}}, batch.name + ": " + std::to_string(ids.size()) + " sidecar(s) heard, agents healthy, hubs up");
  if (options.dry_run) return kMigrateExitDone;

  const fleet::Thresholds& t = fleet_.thresholds;
  const SoakThresholds thresholds = soakThresholds(t);
  const double soak_s = options.soak_s >= 0 ? options.soak_s : t.soak_s;
  progress_.step(number, "baseline", t.baseline_window_s);
  const BatchFigures baseline = window(number, "baseline", t.baseline_window_s, thresholds);
  // Under the lease nobody else writes: what is stored now is what the flip builds on.
  const std::map<std::string, wire::DesiredState> stored = store_.readMany(ids);
  uint64_t baseline_requests = 0;
  for (const auto& [id, f] : baseline) baseline_requests += f.requests();
  progress_.event("baseline", number, {{"window_s", t.baseline_window_s}, {"requests", baseline_requests}},
                  std::to_string(baseline_requests) + " request(s) in the baseline window");

  const int64_t flip_started = health::wallClockMs();
  const int64_t until = flip_started + static_cast<int64_t>(t.provisional_deadline_s * 1000);
  std::map<std::string, uint64_t> generations;
  FlipTimes times;
  progress_.step(number, "flip", 0);
  if (!flip(ids, "hub", until, t.flip_timeout_s, &generations, &times, &stored)) {
    progress_.event("flip_timeout", number, {{"timeout_s", t.flip_timeout_s}}, "not every sidecar reported the flip in time");
    rollback(number, ids, "flip not taken");
    return kMigrateExitRolledBack;
  }
  const int64_t flip_ms = health::wallClockMs() - flip_started;
  json flip_figures = times.figures();
  flip_figures["ms"] = flip_ms;
  progress_.event("flipped", number, flip_figures,
                  "every sidecar reports hub mode after " + std::to_string(flip_ms) + " ms (values written in " +
                      std::to_string(times.written_ms) + " ms)");

  progress_.step(number, "soak", soak_s);
  const BatchFigures soak = window(number, "soak", soak_s, thresholds);
  const SoakVerdict verdict = judgeSoak(baseline, soak, thresholds);
  if (verdict.kind == SoakVerdict::Kind::kBreach) {
    const int64_t breach_at = health::wallClockMs();
    progress_.event("breach", number,
                    {{"sidecar", verdict.sidecar}, {"figure", verdict.figure}, {"value", verdict.value},
                     {"threshold", verdict.threshold}, {"baseline", verdict.baseline}, {"samples", verdict.samples},
                     {"window_s", soak_s}},
                    verdict.describe() + " over a " + std::to_string(soak_s) + " s soak");
    rollback(number, ids, "breach");
    progress_.event("breach_to_rolled_back", number, {{"ms", health::wallClockMs() - breach_at}}, "rollback done");
    return kMigrateExitRolledBack;
  }
  confirm(generations);
  progress_.event("confirmed", number,
                  {{"soak_s", soak_s}, {"verdict", verdict.describe()}, {"batch_ms", health::wallClockMs() - batch_started}},
                  batch.name + " migrated: " + verdict.describe());
  return kMigrateExitDone;
}

}  // namespace

int runMigrate(const std::vector<HubAddress>& global_hubs, const MigrateOptions& options,
               const nats_security::HubSecurity& security) {
  std::optional<fleet::Fleet> f = loadFleetOrSay(options.fleet_file);
  if (!f) return kMigrateExitUsage;
  if (options.batch < 0 || options.batch > static_cast<int>(f->batches.size())) {
    std::fprintf(stderr, "twinhubctl: --batch %d: the fleet has batches 1 to %zu\n", options.batch, f->batches.size());
    return kMigrateExitUsage;
  }
  Runner runner(*f, fleetHubs(*f, global_hubs, security, "controller"), options.json);
  if (int code = runner.start(); code != kMigrateExitDone) return code;
  const int64_t started = health::wallClockMs();
  runner.progress().planned(options.batch != 0 ? 1 : f->batches.size());
  for (size_t i = 0; i < f->batches.size() && !stopRequested().load(); ++i) {
    if (options.batch != 0 && static_cast<size_t>(options.batch) != i + 1) continue;
    const int code = runner.migrate(i, options);
    runner.progress().batchDone();
    if (code != kMigrateExitDone) {
      runner.progress().finish();
      return code;
    }
  }
  runner.progress().finish();
  if (stopRequested().load()) return kMigrateExitError;
  runner.progress().event("done", 0, {{"ms", health::wallClockMs() - started}}, options.dry_run ? "dry run: every gate passed" : "migration done");
  return kMigrateExitDone;
}

int runRollback(const std::vector<HubAddress>& global_hubs, const RollbackOptions& options,
                const nats_security::HubSecurity& security) {
  std::optional<fleet::Fleet> f = loadFleetOrSay(options.fleet_file);
  if (!f) return kMigrateExitUsage;
  std::vector<std::string> ids;
  if (!options.sidecar.empty()) {
    ids.push_back(options.sidecar);
  } else {
    for (size_t i = 0; i < f->batches.size(); ++i) {
      if (!options.all && static_cast<size_t>(options.batch) != i + 1) continue;
      for (const std::string& id : batchSidecars(*f, f->batches[i])) ids.push_back(id);
    }
  }
  if (ids.empty()) {
    std::fprintf(stderr, "twinhubctl: rollback: say --batch N, --sidecar ID or --all\n");
    return kMigrateExitUsage;
  }
  Runner runner(*f, fleetHubs(*f, global_hubs, security, "controller"), options.json);
  if (int code = runner.start(); code != kMigrateExitDone) return code;
  const int code = runner.rollback(options.batch, ids, "rollback asked");
  return code == kMigrateExitRolledBack ? kMigrateExitDone : code;
}

}  // namespace twinhub::ctl
