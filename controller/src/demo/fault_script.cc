// The faults the demo injects once every batch is in hub mode, one after another under the
// callers' continuous load: each is injected while requests are in flight, held, healed, and
// looked up in the aggregator's alerts. The slowed agent (a batch's soak breached) is part of the
// migration in demo_run.cc.
#include <signal.h>

#include <fmt/format.h>

#include <functional>

#include "commands.h"
#include "demo/agent_control.h"
#include "demo/alert_log.h"
#include "demo/demo_world.h"

namespace twinhub::ctl::demo {

namespace {

struct Fault {
  std::string name, kind, subject;
  std::function<std::string()> inject, heal;  // "" or the problem
  std::string agent{};
  bool unreplicated = false;
};

void sleepMs(int ms) {
  waitUntil([] { return false; }, std::chrono::milliseconds(ms));
}

// Injects, holds `hold_ms` (looking for the alert meanwhile), heals, and gives the alert a few
// more seconds if it has not appeared yet.
void runFault(DemoWorld& w, const Fault& f, int hold_ms) {
  FaultRecord rec;
  rec.name = f.name;
  rec.expect = f.kind + " " + f.subject;
  rec.agent = f.agent;
  rec.unreplicated_agent = f.unreplicated;
  const LoadCounters before = w.load->counters();
  w.awaitInFlight();
  rec.start_epoch_ms = DemoWorld::epochMs();
  rec.start_ms = w.nowMs();
  w.say(fmt::format("fault: {} (requests sent so far {})", f.name, before.sent));
  if (std::string e = f.inject(); !e.empty()) w.result.problems.push_back(f.name + ": " + e);
  auto look = [&] {
    if (rec.detection_ms) return true;
    if (auto a = findAlert(w.aggregator->output(), f.kind, f.subject, rec.start_epoch_ms - 20)) {
      rec.detection_ms = static_cast<double>(a->detected_at_ms - rec.start_epoch_ms);
      rec.detected_by = a->summary;
      w.say(fmt::format("  detected after {:.0f} ms: {}", *rec.detection_ms, a->summary));
    }
    return rec.detection_ms.has_value();
  };
  const auto hold_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(hold_ms);
  waitUntil([&] { return look() && std::chrono::steady_clock::now() >= hold_until; }, std::chrono::milliseconds(hold_ms));
  if (std::string e = f.heal(); !e.empty()) w.result.problems.push_back(f.name + " (heal): " + e);
  rec.end_ms = w.nowMs();
  w.say(fmt::format("  healed after {:.1f} s", (rec.end_ms - rec.start_ms) / 1000));
  waitUntil(look, std::chrono::seconds(4));
  if (!rec.detection_ms) w.result.problems.push_back(f.name + ": no " + rec.expect + " alert");
  w.result.faults.push_back(rec);
}

}  // namespace

void runFaultScript(DemoWorld& w) {
  const bool s = w.options.short_run;
  const int hold = s ? 2000 : 3000;
  const int settle = s ? 2000 : 6000;  // sidecars go back to a recovered hub after failback_hold (5 s)
  std::vector<Fault> faults;
  faults.push_back({"hub edge killed (-9), restarted", "hub_down", "edge",
                    [&] {
                      w.hubs->edge()->signal(SIGKILL);
                      return w.hubs->edge()->wait(std::chrono::seconds(5)) ? "" : "edge did not die";
                    },
                    [&] { return w.hubs->restartEdge(); }});
  faults.push_back({"hub edge frozen (SIGSTOP), thawed", "hub_frozen", "edge",
                    [&] {
                      w.hubs->edge()->signal(SIGSTOP);
                      return "";
                    },
                    [&] {
                      w.hubs->edge()->signal(SIGCONT);
                      return "";
                    }});
  // The agent with a replica (on mainpc, serving the same service) and one without.
  const PlacedAgent& replicated = w.agents.front();
  const PlacedAgent& alone = w.agents[1];
  for (const PlacedAgent* a : {&replicated, &alone}) {
    const bool unreplicated = a == &alone;
    const std::string name = a->ports.name;
    faults.push_back({fmt::format("agent {} crashed ({}), restarted", name, unreplicated ? "no replica" : "has a replica"),
                      "agent_down", a->sidecar_id,
                      [&w, name] {
                        PlacedAgent* p = w.find(name);
                        const std::string health = "127.0.0.1:" + std::to_string(p->ports.health);
                        if (!crashAgent(health)) return std::string("sim_exit not answered");
                        return p->agent->wait(std::chrono::seconds(3)) ? std::string() : std::string("agent did not exit");
                      },
                      [&w, name] { return w.restartAgent(*w.find(name)); }, name, unreplicated});
  }
  faults.push_back({"link mainpc-pc2 cut, restored", "leaf_down", "leaf",
                    [&] {
                      w.hubs->link().cut();
                      return "";
                    },
                    [&] {
                      w.hubs->link().restore();
                      return "";
                    }});
  for (const Fault& f : faults) {
    if (stopRequested().load()) return;
    sleepMs(s ? 800 : 2000);  // traffic before the fault, so that it lands in flight
    runFault(w, f, f.kind == "leaf_down" ? hold + 1000 : hold);
    sleepMs(settle);
  }
}

}  // namespace twinhub::ctl::demo
