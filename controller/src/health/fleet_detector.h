// FleetDetector: the aggregator's decisions, apart from any socket. Fed with validated
// heartbeats (which hub each was published through and which of our connections received it),
// the state of our own connection to each hub, and the wall clock; it keeps, for every sidecar,
// when it was last heard "published via X, received via Y" (the matrix that tells failures
// apart) and returns one alert per transition:
//
// - agent_down / agent_up: the sidecar's probe result changed (from its newest beat).
// - sidecar_lost / sidecar_back: no beat through any route for lost_beats intervals.
// - hub_down / hub_frozen / hub_up: our own connection to the hub dropped / stopped answering
//   our flushes; or, while it looks fine to us, no sidecar publishes through it any more.
// - leaf_down / leaf_up: beats published via X stop arriving via Y (X != Y) while both X and Y
//   carry their own beats and both look fine to us (the hubs' link is cut).
// - partition / partition_healed: a machine heard through one hub only, while others are
//   heard through another hub (or while it is the only machine still heard at all).
//
// A hub that just came back gets `grace_ms` before its routes are judged (the leaf link and the
// sidecars need a moment to reconnect). Bounded: at most max_sidecars are tracked; beats of
// further sidecars are refused and counted by the caller.
//
// Not thread-safe: one thread feeds it.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "health_wire/aggregate.h"
#include "health_wire/alert.h"
#include "health_wire/heartbeat.h"

namespace twinhub::ctl {

// Our own connection to a hub, as the NATS plumbing sees it.
enum class LinkState { kUnknown, kUp, kDown, kFrozen };
const char* linkStateName(LinkState state);

struct DetectorOptions {
  std::string observer;
  std::vector<std::string> hubs;  // our hubs, in order of preference
  double lost_beats = 3.0;        // silence, in the sidecar's intervals, before sidecar_lost
  double stale_beats = 2.5;       // a route with no beat for this many intervals is stale
  int64_t min_silence_ms = 300;   // floor of both, for very short intervals
  int64_t grace_ms = 3000;        // after a hub comes back, before its routes are judged
  size_t max_sidecars = 4096;
};

// An alert, and for a recovery, when the condition it ends began.
struct Transition {
  health::Alert alert;
  std::optional<int64_t> opened_at_ms;
};

enum class BeatOutcome { kAccepted, kUnknownHub, kOverCapacity };

class FleetDetector {
 public:
  explicit FleetDetector(DetectorOptions options);

  // A validated beat received on our connection to hub `recv` (index into options.hubs).
  BeatOutcome onBeat(const health::Heartbeat& beat, size_t recv, int64_t now_ms);
  void setLink(size_t hub, LinkState state, const std::string& detail, int64_t now_ms);
  // Alerts for every transition since the previous call, in the order they were found.
  std::vector<Transition> evaluate(int64_t now_ms);
  health::Aggregate aggregate(int64_t now_ms) const;
  // Takes over the state of a stored aggregate (a restarted aggregator): known sidecars, lost
  // ones, failing agents, hub verdicts, the leaf, partitions and open alerts, so that conditions
  // still true are not raised again and their end is reported as a recovery. Opened-at times are
  // the aggregate's timestamp. Call before the first beat.
  void restore(const health::Aggregate& stored, int64_t now_ms);

  size_t known() const { return sidecars_.size(); }
  size_t lost() const;
  size_t healthy() const;  // heard, and its agent ok or none

 private:
  struct Sidecar {
    health::Heartbeat last;         // newest beat
    int64_t first_seen_ms = 0;
    int64_t last_heard_ms = 0;
    std::vector<int64_t> routes;    // [via * n + recv]: last heard, -1 never
    std::optional<double> sync_ms;  // of the newest copy received
    bool lost = false;
    health::AgentState alerted_agent = health::AgentState::kNone;
  };
  enum class HubVerdict { kUnknown, kUp, kDown, kFrozen };
  struct Hub {
    LinkState link = LinkState::kUnknown;
    std::string detail;
    int64_t link_up_since_ms = 0;
    bool ever_carried = false;  // some beat was published through it
    HubVerdict verdict = HubVerdict::kUnknown;
  };
  enum class Leaf { kUnknown, kUp, kDown };
  // How much longer (in the sidecar's intervals) a fresh hub must have carried beats than the
  // stale ones before a partition is judged: a route goes stale after stale_beats (2.5) intervals,
  // by when a cut machine's other hub has carried 1.5 or more intervals of beats.
  static constexpr double kOutliveBeats = 1.0;

  int64_t staleMs(const Sidecar& s) const;
  int64_t lostMs(const Sidecar& s) const;
  bool routeFresh(const Sidecar& s, size_t via, size_t recv, int64_t now_ms) const;
  bool viaFresh(const Sidecar& s, size_t via, int64_t now_ms) const;
  int64_t lastVia(const Sidecar& s, size_t via) const;  // newest copy published via `via`, -1 never
  // Beats kept coming through a fresh hub well after the stale ones fell silent: a cut, not a
  // sidecar that died (whose last beats through each hub are only milliseconds apart, so that
  // one route going stale a moment before the other is no evidence).
  bool outlivedSilentHubs(const Sidecar& s, int64_t now_ms) const;
  bool settled(size_t hub, int64_t now_ms) const;
  bool anyLinkUp() const;
  void agentTransition(Sidecar& s, int64_t now_ms);
  void checkLost(int64_t now_ms);
  void checkHubs(int64_t now_ms);
  HubVerdict judgeHub(size_t hub, int64_t now_ms, std::string* why) const;
  void checkLeaf(int64_t now_ms);
  void checkPartitions(int64_t now_ms);
  void raise(health::AlertKind kind, const std::string& subject, const std::string& machine, std::string summary,
             nlohmann::json evidence, int64_t now_ms);
  std::string openKey(health::AlertKind kind, const std::string& subject) const;

  DetectorOptions options_;
  std::map<std::string, Sidecar> sidecars_;
  std::vector<Hub> hubs_;
  Leaf leaf_ = Leaf::kUnknown;
  std::map<std::string, bool> partitioned_;  // machine -> partition open
  std::map<std::string, std::pair<health::AlertKind, int64_t>> open_;  // key -> (kind, opened at)
  std::vector<Transition> pending_;
};

}  // namespace twinhub::ctl
