// HeartbeatPublisher: every interval, one heartbeat (health_wire/heartbeat.h) through every hub
// that is up, each copy on that hub's own connection and naming it in `via`, so an aggregator can
// tell which hub carried what. A change of the agent's health is published at once (beatNow), so
// alerts do not wait for the next interval.
//
// Never blocks: HubSet::publishOn appends each copy to that hub's connection buffer, written at
// the loop's next turn, and only while that hub is up. Loop thread only.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "health_wire/heartbeat.h"
#include "hub/hub_set.h"

namespace twinhub {

struct HeartbeatSettings {
  std::string id;
  std::string machine;
  std::vector<std::string> served;
  std::vector<std::string> fronted;
  uint32_t interval_ms = 500;
};

// What the beat reports that the publisher does not own; each is called on the loop thread.
struct HeartbeatInputs {
  std::function<health::AgentReport()> agent;
  std::function<std::string()> mode;
  std::function<uint64_t()> generation;
  std::function<health::BeatStats()> take_stats;
};

class HeartbeatPublisher {
 public:
  HeartbeatPublisher(uv_loop_t* loop, HubSet& hubs, HeartbeatSettings settings, HeartbeatInputs inputs);
  ~HeartbeatPublisher();
  HeartbeatPublisher(const HeartbeatPublisher&) = delete;
  HeartbeatPublisher& operator=(const HeartbeatPublisher&) = delete;

  void start();
  // Publishes a beat now and restarts the interval.
  void beatNow();
  // Closes the timer; the object may be destroyed once the loop ran the close callback, which
  // the owner's loop teardown does (the timer's memory is heap-owned by the close callback).
  void stop();

  uint64_t beatsSent() const { return beats_sent_; }

 private:
  static void onTimer(uv_timer_t* timer);
  void beat();
  health::Heartbeat makeBeat();
  void checkOwnBeat(const std::string& encoded);

  uv_timer_t* timer_;  // freed in its close callback
  HubSet& hubs_;
  HeartbeatSettings settings_;
  HeartbeatInputs inputs_;
  std::string subject_;
  uint64_t seq_ = 0;
  uint64_t beats_sent_ = 0;
  bool checked_ = false;
  bool stopped_ = false;
};

}  // namespace twinhub
