#include "health/fleet_detector.h"

#include <algorithm>
#include <set>

namespace twinhub::ctl {

using health::AgentState;
using health::AlertKind;
using nlohmann::json;

const char* linkStateName(LinkState state) {
  switch (state) {
    case LinkState::kUnknown: return "unknown";
    case LinkState::kUp: return "up";
    case LinkState::kDown: return "down";
    case LinkState::kFrozen: return "frozen";
  }
  return "?";
}

namespace {

// The family a kind belongs to: a recovery closes the alert of the same family and subject.
const char* family(AlertKind kind) {
  switch (kind) {
    case AlertKind::kAgentDown: case AlertKind::kAgentUp: return "agent";
    case AlertKind::kSidecarLost: case AlertKind::kSidecarBack: return "sidecar";
    case AlertKind::kHubDown: case AlertKind::kHubUp: case AlertKind::kHubFrozen: return "hub";
    case AlertKind::kLeafDown: case AlertKind::kLeafUp: return "leaf";
    case AlertKind::kPartition: case AlertKind::kPartitionHealed: return "partition";
  }
  return "?";
}

const char* verdictName(int verdict) {
  static const char* kNames[] = {"unknown", "up", "down", "frozen"};
  return kNames[verdict];
}

}  // namespace

FleetDetector::FleetDetector(DetectorOptions options) : options_(std::move(options)), hubs_(options_.hubs.size()) {}

int64_t FleetDetector::staleMs(const Sidecar& s) const {
  return std::max<int64_t>(options_.min_silence_ms, static_cast<int64_t>(options_.stale_beats * s.last.interval_ms));
}

int64_t FleetDetector::lostMs(const Sidecar& s) const {
  return std::max<int64_t>(options_.min_silence_ms, static_cast<int64_t>(options_.lost_beats * s.last.interval_ms));
}

std::string FleetDetector::openKey(AlertKind kind, const std::string& subject) const {
  return std::string(family(kind)) + ":" + subject;
}

void FleetDetector::raise(AlertKind kind, const std::string& subject, const std::string& machine, std::string summary,
                          json evidence, int64_t now_ms) {
  Transition t;
  t.alert.kind = kind;
  t.alert.subject = subject;
  t.alert.machine = machine;
  t.alert.observer = options_.observer;
  t.alert.detected_at_ms = now_ms;
  t.alert.summary = std::move(summary);
  t.alert.evidence = std::move(evidence);
  const std::string key = openKey(kind, subject);
  if (health::isRecoveryKind(kind)) {
    if (auto it = open_.find(key); it != open_.end()) {
      t.opened_at_ms = it->second.second;
      open_.erase(it);
    }
  } else if (!open_.count(key)) {
    open_[key] = {kind, now_ms};  // hub_down after hub_frozen keeps the first time
  } else {
    open_[key].first = kind;
  }
  pending_.push_back(std::move(t));
}

// ---- beats ------------------------------------------------------------------------------------

BeatOutcome FleetDetector::onBeat(const health::Heartbeat& beat, size_t recv, int64_t now_ms) {
  const size_t n = hubs_.size();
  if (recv >= n) return BeatOutcome::kUnknownHub;
  auto it = sidecars_.find(beat.id);
  if (it == sidecars_.end()) {
    if (sidecars_.size() >= options_.max_sidecars) return BeatOutcome::kOverCapacity;
    Sidecar fresh;
    fresh.first_seen_ms = now_ms;
    fresh.routes.assign(n * n, -1);
    fresh.last = beat;
    fresh.alerted_agent = AgentState::kOk;  // a first beat that says failing raises agent_down
    it = sidecars_.emplace(beat.id, std::move(fresh)).first;
  }
  Sidecar& s = it->second;
  const auto via = std::find(options_.hubs.begin(), options_.hubs.end(), beat.via);
  if (via != options_.hubs.end()) {
    const size_t v = static_cast<size_t>(via - options_.hubs.begin());
    s.routes[v * n + recv] = now_ms;
    hubs_[v].ever_carried = true;
  }
  s.last_heard_ms = now_ms;
  if (s.lost) {
    s.lost = false;
    raise(AlertKind::kSidecarBack, beat.id, beat.machine, "sidecar " + beat.id + " heard again via " + beat.via,
          {{"via", beat.via}, {"received_via", options_.hubs[recv]}, {"seq", beat.seq}}, now_ms);
  }
  // Copies of one beat arrive once per route; a lower seq with a newer timestamp is a restart.
  const bool newer = beat.seq > s.last.seq || beat.ts_ms > s.last.ts_ms || beat.seq == s.last.seq;
  if (newer) {
    s.last = beat;
    s.sync_ms = static_cast<double>(now_ms - beat.ts_ms);
    agentTransition(s, now_ms);
  }
  return BeatOutcome::kAccepted;
}

void FleetDetector::agentTransition(Sidecar& s, int64_t now_ms) {
  const health::AgentReport& agent = s.last.agent;
  if (agent.state == AgentState::kNone || agent.state == s.alerted_agent) return;
  s.alerted_agent = agent.state;
  const std::string service = s.last.served.empty() ? "" : s.last.served.front();
  json evidence = {{"sidecar", s.last.id}, {"service", service}, {"seq", s.last.seq}, {"via", s.last.via}};
  if (agent.latency_ms) evidence["probe_latency_ms"] = *agent.latency_ms;
  if (!agent.error.empty()) evidence["last_error"] = agent.error;
  if (agent.state == AgentState::kFailing) {
    raise(AlertKind::kAgentDown, s.last.id, s.last.machine, "agent " + service + " behind " + s.last.id + " is failing",
          std::move(evidence), now_ms);
  } else {
    raise(AlertKind::kAgentUp, s.last.id, s.last.machine, "agent " + service + " behind " + s.last.id + " is ok again",
          std::move(evidence), now_ms);
  }
}

void FleetDetector::setLink(size_t hub, LinkState state, const std::string& detail, int64_t now_ms) {
  if (hub >= hubs_.size()) return;
  Hub& h = hubs_[hub];
  if (state == LinkState::kUp && h.link != LinkState::kUp) h.link_up_since_ms = now_ms;
  h.link = state;
  h.detail = detail;
}

// ---- time-based checks ---------------------------------------------------------------------------

bool FleetDetector::routeFresh(const Sidecar& s, size_t via, size_t recv, int64_t now_ms) const {
  const int64_t heard = s.routes[via * hubs_.size() + recv];
  return heard >= 0 && now_ms - heard <= staleMs(s);
}

bool FleetDetector::viaFresh(const Sidecar& s, size_t via, int64_t now_ms) const {
  for (size_t recv = 0; recv < hubs_.size(); ++recv) {
    if (routeFresh(s, via, recv, now_ms)) return true;
  }
  return false;
}

int64_t FleetDetector::lastVia(const Sidecar& s, size_t via) const {
  int64_t newest = -1;
  for (size_t recv = 0; recv < hubs_.size(); ++recv) newest = std::max(newest, s.routes[via * hubs_.size() + recv]);
  return newest;
}

bool FleetDetector::outlivedSilentHubs(const Sidecar& s, int64_t now_ms) const {
  int64_t live = -1, silent = -1;
  for (size_t v = 0; v < hubs_.size(); ++v) {
    int64_t& newest = viaFresh(s, v, now_ms) ? live : silent;
    newest = std::max(newest, lastVia(s, v));
  }
  return live >= 0 && live - silent >= static_cast<int64_t>(kOutliveBeats * s.last.interval_ms);
}

bool FleetDetector::settled(size_t hub, int64_t now_ms) const {
  const Hub& h = hubs_[hub];
  return h.link == LinkState::kUp && now_ms - h.link_up_since_ms >= options_.grace_ms;
}

bool FleetDetector::anyLinkUp() const {
  return std::any_of(hubs_.begin(), hubs_.end(), [](const Hub& h) { return h.link == LinkState::kUp; });
}

std::vector<Transition> FleetDetector::evaluate(int64_t now_ms) {
  checkHubs(now_ms);
  checkLost(now_ms);
  checkLeaf(now_ms);
  checkPartitions(now_ms);
  std::vector<Transition> out;
  out.swap(pending_);
  return out;
}

void FleetDetector::checkLost(int64_t now_ms) {
  // With no hub reachable we see nothing: that is hub_down, not a fleet of lost sidecars.
  if (!anyLinkUp()) return;
  for (auto& [id, s] : sidecars_) {
    const int64_t silent = now_ms - s.last_heard_ms;
    if (s.lost || silent <= lostMs(s)) continue;
    s.lost = true;
    json links = json::object();
    for (size_t i = 0; i < hubs_.size(); ++i) links[options_.hubs[i]] = linkStateName(hubs_[i].link);
    raise(AlertKind::kSidecarLost, id, s.last.machine,
          "sidecar " + id + " on " + s.last.machine + " not heard for " + std::to_string(silent) + " ms",
          {{"silent_ms", silent}, {"interval_ms", s.last.interval_ms}, {"last_seq", s.last.seq},
           {"last_via", s.last.via}, {"observer_links", links}},
          now_ms);
  }
}

FleetDetector::HubVerdict FleetDetector::judgeHub(size_t hub, int64_t now_ms, std::string* why) const {
  const Hub& h = hubs_[hub];
  if (h.link == LinkState::kUnknown) return HubVerdict::kUnknown;
  if (h.link == LinkState::kDown || h.link == LinkState::kFrozen) {
    *why = "observer's connection " + std::string(linkStateName(h.link)) + (h.detail.empty() ? "" : ": " + h.detail);
    return h.link == LinkState::kDown ? HubVerdict::kDown : HubVerdict::kFrozen;
  }
  if (!h.ever_carried || !settled(hub, now_ms)) return HubVerdict::kUp;
  // Our connection is fine; do the sidecars still get beats through it, while other hubs carry?
  bool carried_here = false, carried_elsewhere = false;
  for (const auto& [id, s] : sidecars_) {
    if (s.lost) continue;
    for (size_t v = 0; v < hubs_.size(); ++v) {
      if (!viaFresh(s, v, now_ms)) continue;
      (v == hub ? carried_here : carried_elsewhere) = true;
    }
  }
  if (!carried_here && carried_elsewhere) {
    *why = "no sidecar publishes through it (beats arrive through other hubs)";
    return HubVerdict::kDown;
  }
  return HubVerdict::kUp;
}

void FleetDetector::checkHubs(int64_t now_ms) {
  for (size_t i = 0; i < hubs_.size(); ++i) {
    std::string why;
    const HubVerdict verdict = judgeHub(i, now_ms, &why);
    Hub& h = hubs_[i];
    if (verdict == h.verdict || verdict == HubVerdict::kUnknown) continue;
    const HubVerdict before = h.verdict;
    h.verdict = verdict;
    const std::string& name = options_.hubs[i];
    json evidence = {{"observer_link", linkStateName(h.link)}, {"reason", why}, {"was", verdictName(int(before))}};
    if (verdict == HubVerdict::kDown) {
      raise(AlertKind::kHubDown, name, "", "hub " + name + " is down: " + why, std::move(evidence), now_ms);
    } else if (verdict == HubVerdict::kFrozen) {
      raise(AlertKind::kHubFrozen, name, "", "hub " + name + " is frozen: " + why, std::move(evidence), now_ms);
    } else if (before != HubVerdict::kUnknown) {
      raise(AlertKind::kHubUp, name, "", "hub " + name + " is up again", std::move(evidence), now_ms);
    }
  }
}

void FleetDetector::checkLeaf(int64_t now_ms) {
  json broken = json::array(), crossing = json::array();
  for (size_t x = 0; x < hubs_.size(); ++x) {
    for (size_t y = 0; y < hubs_.size(); ++y) {
      if (x == y || !settled(x, now_ms) || !settled(y, now_ms)) continue;
      if (hubs_[x].verdict != HubVerdict::kUp || hubs_[y].verdict != HubVerdict::kUp) continue;
      bool sources = false, crosses = false;
      std::string sample;
      for (const auto& [id, s] : sidecars_) {
        if (s.lost || now_ms - s.first_seen_ms <= staleMs(s)) continue;
        if (routeFresh(s, x, y, now_ms)) crosses = true;
        if (routeFresh(s, x, x, now_ms) && sample.empty()) sample = id;
        sources = sources || routeFresh(s, x, x, now_ms);
      }
      const std::string direction = options_.hubs[x] + "->" + options_.hubs[y];
      if (crosses) crossing.push_back(direction);
      else if (sources) broken.push_back({{"direction", direction}, {"example_sidecar", sample}});
    }
  }
  const Leaf next = !broken.empty() ? Leaf::kDown : !crossing.empty() ? Leaf::kUp : Leaf::kUnknown;
  if (next == Leaf::kUnknown || next == leaf_) return;
  const Leaf before = leaf_;
  leaf_ = next;
  if (next == Leaf::kDown) {
    raise(AlertKind::kLeafDown, "leaf", "",
          "beats stop crossing between the hubs: " + broken[0]["direction"].get<std::string>() +
              " (both hubs reachable by " + options_.observer + ")",
          {{"broken", broken}, {"crossing", crossing}}, now_ms);
  } else if (before == Leaf::kDown) {
    raise(AlertKind::kLeafUp, "leaf", "", "beats cross between the hubs again", {{"crossing", crossing}}, now_ms);
  }
}

void FleetDetector::checkPartitions(int64_t now_ms) {
  // Which hubs each machine's live sidecars are heard through.
  std::map<std::string, std::set<size_t>> heard;
  std::map<std::string, bool> any_live, outlived;
  for (const auto& [id, s] : sidecars_) {
    if (now_ms - s.first_seen_ms <= staleMs(s)) continue;  // too new to judge
    any_live[s.last.machine] = any_live[s.last.machine] || !s.lost;
    if (s.lost) continue;
    outlived[s.last.machine] = outlived[s.last.machine] || outlivedSilentHubs(s, now_ms);
    for (size_t v = 0; v < hubs_.size(); ++v) {
      if (viaFresh(s, v, now_ms)) heard[s.last.machine].insert(v);
    }
  }
  for (const auto& [machine, live] : any_live) {
    const std::set<size_t>& mine = heard[machine];
    bool others_elsewhere = false, others_live = false, others_known = false;
    for (const auto& [other, other_live] : any_live) {
      if (other == machine) continue;
      others_known = true;
      others_live = others_live || other_live;
      for (size_t v : heard[other]) others_elsewhere = others_elsewhere || !mine.count(v);
    }
    const bool alone = others_known && !others_live;  // the only machine we still hear
    const bool cut =
        hubs_.size() >= 2 && live && mine.size() == 1 && outlived[machine] && (others_elsewhere || alone);
    bool& open = partitioned_[machine];
    if (!live && !cut) continue;  // not heard at all: sidecar_lost says it; no verdict either way
    if (cut == open) continue;
    open = cut;
    if (cut) {
      const std::string only = options_.hubs[*mine.begin()];
      raise(AlertKind::kPartition, machine, machine,
            "machine " + machine + " heard only through hub " + only +
                (alone ? "; no other machine is heard" : "; other machines are heard through other hubs"),
            {{"heard_via", json::array({only})}, {"other_machines_heard", others_live}}, now_ms);
    } else {
      raise(AlertKind::kPartitionHealed, machine, machine, "machine " + machine + " heard through several hubs again",
            {{"heard_via", mine.size()}}, now_ms);
    }
  }
}

// ---- restart -----------------------------------------------------------------------------------------

void FleetDetector::restore(const health::Aggregate& stored, int64_t now_ms) {
  const size_t n = hubs_.size();
  for (const health::HubSummary& hub : stored.hubs) {
    auto it = std::find(options_.hubs.begin(), options_.hubs.end(), hub.name);
    if (it == options_.hubs.end()) continue;
    Hub& h = hubs_[static_cast<size_t>(it - options_.hubs.begin())];
    h.verdict = hub.state == "up" ? HubVerdict::kUp : hub.state == "down" ? HubVerdict::kDown
              : hub.state == "frozen" ? HubVerdict::kFrozen : HubVerdict::kUnknown;
    h.ever_carried = true;
  }
  leaf_ = stored.leaf == "up" ? Leaf::kUp : stored.leaf == "down" ? Leaf::kDown : Leaf::kUnknown;
  for (const health::SidecarSummary& s : stored.sidecars) {
    if (sidecars_.size() >= options_.max_sidecars) break;
    Sidecar r;
    r.last.id = s.id;
    r.last.machine = s.machine;
    r.last.served = s.served;
    r.last.fronted = s.fronted;
    r.last.mode = s.mode;
    r.last.generation = s.generation;
    r.last.agent.state = s.agent == "failing" ? AgentState::kFailing : s.agent == "ok" ? AgentState::kOk : AgentState::kNone;
    r.alerted_agent = s.agent == "failing" ? AgentState::kFailing : AgentState::kOk;
    r.lost = s.state == "lost";
    // A live one gets a full silence window from now: our own subscriptions are only starting.
    r.first_seen_ms = now_ms;
    r.last_heard_ms = r.lost ? now_ms - s.age_ms : now_ms;
    r.routes.assign(n * n, -1);
    sidecars_.emplace(s.id, std::move(r));
  }
  for (const std::string& machine : stored.partitioned) partitioned_[machine] = true;
  for (const std::string& entry : stored.open_alerts) {
    const size_t space = entry.find(' ');
    AlertKind kind;
    if (space == std::string::npos || !health::alertKindFromName(entry.substr(0, space), &kind)) continue;
    open_[openKey(kind, entry.substr(space + 1))] = {kind, stored.ts_ms};
  }
}

// ---- reporting ----------------------------------------------------------------------------------

size_t FleetDetector::lost() const {
  return std::count_if(sidecars_.begin(), sidecars_.end(), [](const auto& kv) { return kv.second.lost; });
}

size_t FleetDetector::healthy() const {
  return std::count_if(sidecars_.begin(), sidecars_.end(), [](const auto& kv) {
    return !kv.second.lost && kv.second.last.agent.state != AgentState::kFailing;
  });
}

health::Aggregate FleetDetector::aggregate(int64_t now_ms) const {
  health::Aggregate a;
  a.observer = options_.observer;
  a.ts_ms = now_ms;
  for (size_t i = 0; i < hubs_.size(); ++i) {
    a.hubs.push_back({options_.hubs[i], verdictName(int(hubs_[i].verdict))});
  }
  a.leaf = leaf_ == Leaf::kUp ? "up" : leaf_ == Leaf::kDown ? "down" : "unknown";
  for (const auto& [id, s] : sidecars_) {
    health::SidecarSummary out;
    out.id = id;
    out.machine = s.last.machine;
    out.served = s.last.served;
    out.fronted = s.last.fronted;
    out.mode = s.last.mode;
    out.generation = s.last.generation;
    for (const health::HubReport& hub : s.last.hubs) {
      if (hub.active) out.hub_in_use = hub.name;
    }
    out.agent = health::agentStateName(s.last.agent.state);
    out.state = s.lost ? "lost" : "ok";
    out.age_ms = now_ms - s.last_heard_ms;
    out.sync_ms = s.sync_ms;
    for (size_t v = 0; v < hubs_.size(); ++v) {
      if (viaFresh(s, v, now_ms)) out.heard_via.push_back(options_.hubs[v]);
    }
    a.sidecars.push_back(std::move(out));
  }
  for (const auto& [machine, open] : partitioned_) {
    if (open) a.partitioned.push_back(machine);
  }
  for (const auto& [key, open] : open_) {
    a.open_alerts.push_back(std::string(health::alertKindName(open.first)) + " " + key.substr(key.find(':') + 1));
  }
  return a;
}

}  // namespace twinhub::ctl
