#include "demo/demo_run.h"

#include <signal.h>
#include <unistd.h>

#include <fmt/format.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "commands.h"
#include "demo/agent_control.h"
#include "demo/alert_log.h"
#include "demo/report_html.h"
#include "fleet/fleet_loader.h"
#include "fleet/sidecar_config_gen.h"
#include "status/status_table.h"

namespace twinhub::ctl::demo {

namespace fs = std::filesystem;

double DemoWorld::nowMs() const {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - zero).count();
}

int64_t DemoWorld::epochMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

void DemoWorld::say(const std::string& text) const {
  std::string line = fmt::format("[{:6.1f} s] {}", nowMs() / 1000, text);
  if (load) {
    const LoadCounters c = load->counters();
    line += fmt::format("   (requests sent {}, answered {}, failed {})", c.sent, c.answered, c.failed);
  }
  std::fprintf(quiet_progress ? stderr : stdout, "%s\n", line.c_str());
  std::fflush(quiet_progress ? stderr : stdout);
}

void DemoWorld::awaitInFlight() const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
  while (load && load->inFlight() < 2 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

std::vector<std::string> DemoWorld::hubArgs() const {
  return {"--hub", "edge=" + hubs->url("edge"), "--hub", "central=" + hubs->url("central")};
}

PlacedAgent* DemoWorld::find(const std::string& name) {
  for (PlacedAgent& a : agents) {
    if (a.ports.name == name) return &a;
  }
  return nullptr;
}

std::string DemoWorld::restartAgent(PlacedAgent& a) {
  ++a.incarnation;
  const size_t logged = a.agent->output().size();  // the new incarnation appends to the same log
  std::vector<std::string> args = a.args;
  args.back() = fmt::format("{}/ledgers/{}.{}.json", run_dir, a.sidecar_id, a.incarnation);
  std::string error;
  a.agent = supervisor->start("agent-" + a.sidecar_id, bin_dir + "/twinhub-agent-sim", args, &error);
  if (!a.agent) return error;
  if (!waitUntil([&] { return a.agent->output().find("serving on", logged) != std::string::npos || !a.agent->running(); },
                 std::chrono::seconds(10)) || !a.agent->running()) {
    return "agent-sim " + a.ports.name + " did not start again (log: " + a.agent->logPath() + ")";
  }
  return "";
}

namespace {

std::string findNatsServer(const std::string& bin_dir) {
  for (const std::string& p : {bin_dir + "/nats-server", std::string("/usr/sbin/nats-server"), std::string("/usr/bin/nats-server"),
                               std::string("/usr/local/bin/nats-server")}) {
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

std::string makeRunDir() {
  std::string pattern = "/tmp/twinhub-demo-XXXXXX";
  if (!::mkdtemp(pattern.data())) return "";
  return pattern;
}

// Runs `binary` to the end (at most `timeout`); its exit status and output.
std::pair<int, std::string> runChild(DemoWorld& w, const std::string& name, const std::string& binary,
                                     const std::vector<std::string>& args, std::chrono::seconds timeout) {
  std::string error;
  Child* c = w.supervisor->start(name, binary, args, &error);
  if (!c) return {-1, error};
  const std::optional<int> status = c->wait(timeout);
  if (!status) Supervisor::stop(*c, std::chrono::milliseconds(2000));
  return {status.value_or(-1), c->output()};
}

// Runs a twinhubctl subcommand to the end.
std::pair<int, std::string> runSelf(DemoWorld& w, const std::string& name, const std::vector<std::string>& args,
                                    std::chrono::seconds timeout) {
  return runChild(w, name, w.self, args, timeout);
}

// plan on the reference plan as written (its duplicate must be caught), then on the demo fleet.
bool showPlan(DemoWorld& w) {
  auto [planned_exit, planned] = runSelf(w, "plan-as-planned", {"plan", "-f", w.options.fleet_dir + "/reference-as-planned.yaml"},
                                         std::chrono::seconds(30));
  w.result.plan_as_planned_exit = planned_exit;
  const std::string caught = planned;
  w.result.plan_as_planned = "twinhubctl plan -f reference-as-planned.yaml (exit " + std::to_string(planned_exit) + "):\n" + caught;
  w.say("plan on the seed plan as written: exit " + std::to_string(planned_exit) + (planned_exit != 0 ? ", caught:" : ", NOT caught"));
  std::fputs(caught.c_str(), w.quiet_progress ? stderr : stdout);
  auto [demo_exit, demo_plan] = runSelf(w, "plan-demo", {"plan", "-f", w.fleet_path}, std::chrono::seconds(30));
  w.result.plan_demo_exit = demo_exit;
  w.say(fmt::format("plan on the corrected fleet ({} agents, {} batches): exit {}", w.fleet.agents.size(),
                    w.fleet.batch_names.size(), demo_exit));
  if (planned_exit == 0) w.result.problems.push_back("plan did not catch the seed plan's duplicate");
  if (demo_exit != 0) {
    w.result.problems.push_back("plan rejected the demo fleet:\n" + demo_plan);
    return false;
  }
  return true;
}

std::string startAggregator(DemoWorld& w) {
  std::vector<std::string> args = w.hubArgs();
  for (const std::string& a : {std::string("health"), std::string("watch"), std::string("-f"), w.fleet_path, std::string("--observer"),
                               std::string("demo"), std::string("--no-history"), std::string("--metrics"), std::string("127.0.0.1:0")}) {
    args.push_back(a);  // -f: the fleet's security section (the hubs are --hub's)
  }
  std::string error;
  w.aggregator = w.supervisor->start("aggregator", w.self, args, &error);
  if (!w.aggregator) return error;
  if (!waitUntil([&] { return w.aggregator->output().find("metrics on http://") != std::string::npos || !w.aggregator->running(); },
                 std::chrono::seconds(15)) || !w.aggregator->running()) {
    return "the aggregator did not start (log: " + w.aggregator->logPath() + ")";
  }
  return "";
}

int aggregatorMetricsPort(const DemoWorld& w) {
  const std::string out = w.aggregator->output();
  const size_t at = out.find("metrics on http://");
  if (at == std::string::npos) return 0;
  const size_t colon = out.find(':', at + 18);
  return colon == std::string::npos ? 0 : std::atoi(out.c_str() + colon + 1);
}

std::string startAgent(DemoWorld& w, const fleet::Fleet& fleet, const fleet::Agent& agent, const fleet::Machine& machine,
                       const DemoAgent& ports) {
  PlacedAgent p;
  p.ports = ports;
  p.sidecar_id = machine.name + "." + agent.name;
  p.args = {"--name", agent.name, "--port", std::to_string(ports.agent), "--health-port", std::to_string(ports.health),
            "--stats-file", fmt::format("{}/ledgers/{}.1.json", w.run_dir, p.sidecar_id)};
  std::string error;
  p.agent = w.supervisor->start("agent-" + p.sidecar_id, w.bin_dir + "/twinhub-agent-sim", p.args, &error);
  if (!p.agent) return error;
  const std::string config = w.run_dir + "/sidecars/" + fleet::sidecarConfigFileName(agent, machine);
  std::ofstream(config) << fleet::sidecarConfigYaml(fleet, agent, machine);
  p.sidecar = w.supervisor->start("sidecar-" + p.sidecar_id, w.bin_dir + "/twinhub-sidecar", {"--config", config}, &error);
  if (!p.sidecar) return error;
  w.agents.push_back(std::move(p));
  return "";
}

// Every agent-sim and sidecar of the demo fleet, and the replica of the first agent on mainpc
// (the same agent on ports shifted by 500, since both machines share 127.0.0.1).
std::string startFleet(DemoWorld& w, const fleet::Fleet& fleet) {
  fs::create_directories(w.run_dir + "/sidecars");
  fs::create_directories(w.run_dir + "/ledgers");
  const fleet::Machine* pc2 = fleet.findMachine("pc2");
  const fleet::Machine* mainpc = fleet.findMachine("mainpc");
  for (const DemoAgent& a : w.fleet.agents) {
    if (std::string e = startAgent(w, fleet, *fleet.findAgent(a.name), *pc2, a); !e.empty()) return e;
  }
  fleet::Agent replica = *fleet.findAgent(w.fleet.agents.front().name);
  DemoAgent rports = w.fleet.agents.front();
  for (int* port : {&rports.front, &rports.agent, &rports.health, &rports.metrics}) *port += 500;
  replica.port = static_cast<uint32_t>(rports.front);
  replica.health_port = static_cast<uint32_t>(rports.health);
  if (std::string e = startAgent(w, fleet, replica, *mainpc, rports); !e.empty()) return e;
  for (PlacedAgent& p : w.agents) {
    const bool ok = waitUntil(
        [&] {
          return !p.sidecar->running() || !p.agent->running() ||
                 p.sidecar->output().find("serving " + p.ports.name + " through the hubs") != std::string::npos;
        },
        std::chrono::seconds(30));
    if (!ok || !p.sidecar->running() || !p.agent->running()) {
      return "sidecar " + p.sidecar_id + " did not start serving (logs: " + p.sidecar->logPath() + ", " + p.agent->logPath() + ")";
    }
  }
  return "";
}

// One `twinhubctl migrate --batch N --json`, its events shown as they come. `on_event` sees each.
int migrateBatch(DemoWorld& w, size_t batch, int attempt, const std::function<void(const nlohmann::json&)>& on_event) {
  std::vector<std::string> args = w.hubArgs();
  for (const std::string& a : {std::string("migrate"), std::string("-f"), w.fleet_path, std::string("--batch"),
                               std::to_string(batch + 1), std::string("--json")}) {
    args.push_back(a);
  }
  std::string error;
  Child* c = w.supervisor->start(fmt::format("migrate-b{}-{}", batch + 1, attempt), w.self, args, &error);
  if (!c) {
    w.result.problems.push_back("migrate: " + error);
    return -1;
  }
  size_t seen = 0;
  auto drain = [&] {
    const std::string out = c->output();
    size_t nl;
    while ((nl = out.find('\n', seen)) != std::string::npos) {
      const auto event = nlohmann::json::parse(out.substr(seen, nl - seen), nullptr, false);
      seen = nl + 1;
      if (!event.is_object() || !event.contains("step")) continue;
      const std::string step = event.value("step", "");
      if (step != "catch_up") w.say(fmt::format("  batch {} {}: {}", batch + 1, step, event.value("text", "")));
      on_event(event);
    }
  };
  std::optional<int> status;
  while (!(status = c->wait(std::chrono::milliseconds(50)))) {
    drain();
    if (stopRequested().load()) {
      Supervisor::stop(*c, std::chrono::milliseconds(3000));
      return -1;
    }
  }
  drain();
  return *status;
}

void migrateAll(DemoWorld& w) {
  const size_t last = w.fleet.batch_names.size() - 1;
  // The agent slowed during the last batch's soak: its first agent.
  const DemoAgent* slowed = nullptr;
  for (const DemoAgent& a : w.fleet.agents) {
    if (a.batch == last && !slowed) slowed = &a;
  }
  bool all = true;
  for (size_t b = 0; b <= last && !stopRequested().load(); ++b) {
    bool done = false;
    for (int attempt = 1; attempt <= 2 && !done && !stopRequested().load(); ++attempt) {
      const bool slow_now = b == last && attempt == 1 && slowed;
      BatchRecord rec{w.fleet.batch_names[b], attempt, w.nowMs(), 0, ""};
      FaultRecord slow;
      int64_t breach_epoch = 0;
      w.say(fmt::format("migrate batch {}/{} {} (attempt {}){}", b + 1, last + 1, rec.name, attempt,
                        slow_now ? fmt::format(": {} will be slowed to 150 ms per request during the soak", slowed->name) : ""));
      const int status = migrateBatch(w, b, attempt, [&](const nlohmann::json& e) {
        const std::string step = e.value("step", "");
        const double t = w.toDemoMs(e.value("ts_ms", int64_t{0}));
        const std::string tag = "b" + std::to_string(b + 1);
        if (step == "flipped") {
          w.result.marks.push_back({t, tag + " flipped", "flip"});
          rec.flip_ms = e.contains("figures") ? e["figures"].value("ms", -1.0) : -1.0;
          if (slow_now) {
            slow.name = "agent " + slowed->name + " slowed during the soak";
            slow.expect = "migrate breach";
            slow.agent = slowed->name;
            w.awaitInFlight();
            slow.start_epoch_ms = DemoWorld::epochMs();
            slow.start_ms = w.nowMs();
            if (!setAgentLatency("127.0.0.1:" + std::to_string(slowed->health), 150)) {
              w.result.problems.push_back("could not slow " + slowed->name);
            }
            w.say("fault: " + slow.name + " (150 ms per request)");
          }
        } else if (step == "confirmed") {
          w.result.marks.push_back({t, tag + " confirmed", "confirm"});
        } else if (step == "breach") {
          breach_epoch = e.value("ts_ms", int64_t{0});
          slow.detected_by = e.value("text", "");
        } else if (step == "rolled_back") {
          w.result.marks.push_back({t, tag + " rolled back", "rollback"});
        } else if (step == "breach_to_rolled_back" && e.contains("figures")) {
          w.result.rollback_ms = e["figures"].value("ms", 0.0);
        }
      });
      rec.end_ms = w.nowMs();
      rec.outcome = status == 0 ? "confirmed" : status == 4 ? "rolled_back" : fmt::format("failed (exit {})", status);
      w.result.batches.push_back(rec);
      if (slow_now && !slow.name.empty()) {
        setAgentLatency("127.0.0.1:" + std::to_string(slowed->health), 0);
        slow.end_ms = w.nowMs();
        if (breach_epoch > 0) slow.detection_ms = static_cast<double>(breach_epoch - slow.start_epoch_ms);
        else w.result.problems.push_back("the slowed agent did not make its batch roll back");
        w.result.faults.push_back(slow);
        w.say(fmt::format("  {} back to full speed; the batch is migrated again", slowed->name));
      } else if (status == 4) {
        w.say("  batch rolled back without an injected fault (noise on this machine?); trying once more");
      } else if (status == 5) {
        w.say("  batch paused by its gate; trying once more in 2 s");
        waitUntil([] { return false; }, std::chrono::seconds(2));
      }
      done = status == 0;
      if (status != 0 && status != 4 && status != 5) break;
    }
    if (!done) {
      all = false;
      w.result.problems.push_back("batch " + w.fleet.batch_names[b] + " was not migrated");
      break;
    }
  }
  w.result.migrated_all = all && !stopRequested().load();
}

// Ledgers of every agent-sim incarnation (written at exit, crash included).
LedgerTotals readLedgers(const std::string& dir) {
  LedgerTotals t;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".json") continue;
    std::ifstream in(entry.path());
    const auto j = nlohmann::json::parse(in, nullptr, false);
    if (!j.is_object()) continue;
    ++t.files;
    t.served += j.value("served", uint64_t{0});
    t.unique_ids += j.value("unique_request_ids", uint64_t{0});
    t.duplicates += j.value("duplicates", uint64_t{0});
  }
  return t;
}

int finish(DemoWorld& w, bool interrupted) {
  DemoResult& r = w.result;
  if (w.load) {
    w.say("stopping the callers");
    w.load->stop();
    r.load = w.load->counters();
  }
  for (PlacedAgent& p : w.agents) {
    if (p.sidecar && p.sidecar->running()) {
      const size_t rss = p.sidecar->rssBytes();
      r.sidecar_rss.push_back({p.sidecar_id, rss});
      r.rss_total += rss;
      if (p.sidecar_id.rfind("pc2.", 0) == 0) r.fleet_pss += p.sidecar->pssBytes();
    }
  }
  if (w.aggregator && w.aggregator->running()) {
    const SyncFigures sync = syncFigures(httpGet(aggregatorMetricsPort(w), "/metrics"));
    r.sync_beats = sync.beats;
    r.sync_p50_ms = sync.p50_ms;
    r.sync_p99_ms = sync.p99_ms;
  }
  // Agents first, so that each writes its ledger; then everything else.
  for (PlacedAgent& p : w.agents) {
    if (p.agent && p.agent->running()) p.agent->signal(SIGTERM);
  }
  for (PlacedAgent& p : w.agents) {
    if (p.agent) p.agent->wait(std::chrono::seconds(3));
  }
  if (fs::exists(w.run_dir + "/ledgers")) r.ledgers = readLedgers(w.run_dir + "/ledgers");
  w.supervisor->stopAll();
  r.callers = 3;
  r.agents = w.fleet.agents.size();
  if (w.load) {
    for (const LoadTarget& t : w.load->targets()) r.target_agents.push_back(t.agent);
    summarize(w.load->records(), &r, 500);
  }
  r.total_s = w.nowMs() / 1000;
  if (interrupted) r.problems.push_back("interrupted");
  if (r.lost > 0) r.problems.push_back(fmt::format("{} requests lost", r.lost));
  if (r.served_twice > 0) r.problems.push_back(fmt::format("{} requests served twice", r.served_twice));
  if (w.load && r.ledgers.files < w.agents.size()) {
    r.problems.push_back(fmt::format("only {} ledgers for {} agent-sims", r.ledgers.files, w.agents.size()));
  }
  for (const FaultRecord& f : r.faults) {
    if (f.in_flight_at_start == 0) r.problems.push_back(f.name + ": no request was in flight when it landed");
  }
  size_t fleet_rss = 0;  // the fleet's pc2 sidecars, without the replica's
  for (const auto& [id, rss] : r.sidecar_rss) fleet_rss += id.rfind("pc2.", 0) == 0 ? rss : 0;
  // A target of issue 10, reported as met or not; the exit status is about requests and faults.
  if (!w.options.short_run && fleet_rss > 400u * 1000 * 1000) {
    r.targets_missed.push_back(fmt::format("the fleet's sidecars together {:.0f} MB RSS (target 400 MB; PSS {:.0f} MB)",
                                           fleet_rss / 1e6, r.fleet_pss / 1e6));
  }
  FILE* out = w.quiet_progress ? stderr : stdout;
  std::fputs(summaryTable(r).c_str(), out);
  const std::string report = w.options.report_path.empty() ? w.run_dir + "/report.html" : w.options.report_path;
  if (std::string e = writeReport(r, report); !e.empty()) {
    std::fprintf(stderr, "twinhubctl demo: %s\n", e.c_str());
  } else {
    std::fprintf(out, "report: %s\nlogs: %s/logs\n", fs::absolute(report).c_str(), w.run_dir.c_str());
  }
  if (w.options.json) std::printf("%s\n", summaryJson(r).c_str());
  std::fflush(stdout);
  // The hubs' JetStream stores are the only large files; the logs and ledgers stay.
  std::error_code ec;
  fs::remove_all(w.run_dir + "/hubs/central", ec);
  fs::remove_all(w.run_dir + "/hubs/edge", ec);
  if (interrupted) return 130;
  return r.problems.empty() ? 0 : 1;
}

}  // namespace

int runDemo(const DemoOptions& options) {
  DemoWorld w;
  w.options = options;
  w.quiet_progress = options.json;
  w.zero = std::chrono::steady_clock::now();
  w.zero_epoch_ms = DemoWorld::epochMs();
  w.self = fs::read_symlink("/proc/self/exe").string();
  w.bin_dir = fs::path(w.self).parent_path().string();
  for (const char* b : {"twinhub-sidecar", "twinhub-agent-sim"}) {
    if (::access((w.bin_dir + "/" + b).c_str(), X_OK) != 0) {
      std::fprintf(stderr, "twinhubctl demo: %s/%s not found (build everything: ./scripts/build.sh)\n", w.bin_dir.c_str(), b);
      return kExitUsage;
    }
  }
  const std::string nats_server = findNatsServer(w.bin_dir);
  if (nats_server.empty()) {
    std::fprintf(stderr, "twinhubctl demo: nats-server not found (apt-get install nats-server)\n");
    return kExitUsage;
  }
  const fleet::FleetLoadResult reference = fleet::loadFleetFile(options.fleet_dir + "/reference.yaml");
  if (!reference.ok()) {
    std::fprintf(stderr, "twinhubctl demo: %s/reference.yaml is not a valid fleet (see --fleet-dir)\n", options.fleet_dir.c_str());
    return kExitUsage;
  }
  w.run_dir = options.run_dir.empty() ? makeRunDir() : options.run_dir;
  fs::create_directories(w.run_dir);
  w.supervisor = std::make_unique<Supervisor>(w.run_dir);
  HubPorts ports;
  ports.central = options.hub_port_base;
  ports.edge = options.hub_port_base + 1;
  ports.central_monitor = options.hub_port_base + 4000;
  ports.edge_monitor = options.hub_port_base + 4001;
  ports.leaf = options.hub_port_base + 3200;
  const std::string certs_dir = options.plain_hubs ? "" : w.run_dir + "/certs";
  w.result.hub_security = options.plain_hubs ? "plain" : "tls+users";
  if (!certs_dir.empty()) {
    // Before anything listens: every hub connection of the run uses these.
    auto [made, output] = runChild(w, "gen-certs", "/bin/bash", {options.gen_certs, certs_dir}, std::chrono::seconds(120));
    if (made != 0) {
      std::fprintf(stderr, "twinhubctl demo: %s %s failed (exit %d):\n%s", options.gen_certs.c_str(), certs_dir.c_str(), made,
                   output.c_str());
      return kExitUsage;
    }
  }
  w.hubs = std::make_unique<LocalHubs>(*w.supervisor, nats_server, w.run_dir + "/hubs", ports, certs_dir);
  w.result.short_run = options.short_run;
  w.result.mode = "all on 127.0.0.1 with distinct ports; the link cut stops edge's leaf connection (a relay in front of "
                  "central's leaf port stops forwarding); no network namespaces";

  DemoFleetOptions fo;
  fo.port_shift = options.port_shift;
  fo.state_dir = w.run_dir + "/state";
  if (options.short_run) {
    fo.batches = 2;
    fo.agents_per_batch = 3;
    fo.soak_s = 1.5;
    fo.baseline_window_s = 1.5;
    fo.min_samples = 10;
  }
  w.fleet = makeDemoFleet(reference.fleet, ports, fo);
  // Sidecar configs and twinhubctl's migrate and health watch take their TLS files and users from here.
  if (!certs_dir.empty()) w.fleet.yaml += "security: {certs_dir: " + nlohmann::json(certs_dir).dump() + "}\n";
  w.fleet_path = w.run_dir + "/demo-fleet.yaml";
  std::ofstream(w.fleet_path) << w.fleet.yaml;
  const fleet::FleetLoadResult demo_fleet = fleet::loadFleetFile(w.fleet_path);
  if (!demo_fleet.ok()) {
    std::fprintf(stderr, "twinhubctl demo: the generated fleet %s is invalid\n", w.fleet_path.c_str());
    return kExitUsage;
  }
  w.say(fmt::format("twinhub demo ({}): run directory {}", options.short_run ? "short" : "full", w.run_dir));
  w.say("network: " + w.result.mode);

  auto fail = [&](const std::string& what) {
    std::fprintf(stderr, "twinhubctl demo: %s\n", what.c_str());
    w.result.problems.push_back(what);
    return finish(w, stopRequested().load());
  };
  if (!showPlan(w)) return fail("plan");
  if (std::string e = w.hubs->start(); !e.empty()) {
    w.supervisor->stopAll();
    std::fprintf(stderr, "twinhubctl demo: %s\n", e.c_str());
    return kExitUsage;
  }
  w.say(fmt::format("hubs up: central {} (mainpc), edge {} (pc2), leaf link through the relay on 127.0.0.1:{}; {}",
                    w.hubs->url("central"), w.hubs->url("edge"), w.hubs->link().port(),
                    certs_dir.empty() ? "plain (--plain-hubs): no TLS, no users"
                                      : "TLS with client certificates and a user per role (" + certs_dir + ")"));
  if (std::string e = startAggregator(w); !e.empty()) return fail(e);
  if (std::string e = startFleet(w, demo_fleet.fleet); !e.empty()) return fail(e);
  w.say(fmt::format("{} agent-sims serving through their sidecars (direct mode), and {}'s replica on mainpc",
                    w.fleet.agents.size(), w.fleet.agents.front().name));
  std::vector<LoadTarget> targets;
  for (size_t i = 0; i < w.fleet.agents.size(); ++i) {
    const DemoAgent& a = w.fleet.agents[i];
    targets.push_back({a.name, "127.0.0.1:" + std::to_string(a.front), "mainpc.Caller" + std::to_string(i % 3 + 1)});
  }
  const int pause_ms = options.short_run ? 25 : 120;
  w.load = std::make_unique<CallerLoad>(std::move(targets), pause_ms, 5000, std::to_string(::getpid()) + "-" +
                                                                              std::to_string(w.zero_epoch_ms), w.zero);
  w.load->start();
  w.say(fmt::format("3 mainpc callers send to every agent's front, one request per agent every ~{} ms", pause_ms));
  waitUntil([] { return false; }, std::chrono::milliseconds(options.short_run ? 1500 : 3000));
  if (stopRequested().load()) return finish(w, true);

  migrateAll(w);
  if (stopRequested().load()) return finish(w, true);
  if (!w.result.migrated_all) return finish(w, false);
  if (w.aggregator->running()) {
    const SyncFigures steady = syncFigures(httpGet(aggregatorMetricsPort(w), "/metrics"));
    w.result.steady_sync_beats = steady.beats;
    w.result.steady_sync_p50_ms = steady.p50_ms;
    w.result.steady_sync_p99_ms = steady.p99_ms;
  }
  w.say("every batch in hub mode; now the faults, under the same load");
  runFaultScript(w);
  waitUntil([] { return false; }, std::chrono::milliseconds(1000));
  return finish(w, stopRequested().load());
}

}  // namespace twinhub::ctl::demo
