// BeatStats collection: counts what a heartbeat reports about the interval since the previous
// beat (sessions opened and active, connect failures, errors, turn latency p50/p99). It sees the
// same events as the metrics through tees, so proxy and hub code keep reporting to one
// interface each. Loop thread only (FrontStats and HubStats are called there).
#pragma once

#include <memory>
#include <random>
#include <string>
#include <vector>

#include "health_wire/heartbeat.h"
#include "hub/hub_stats.h"
#include "proxy/front_stats.h"

namespace twinhub {

class BeatStatsCollector {
 public:
  void connectionOpened() { ++opened_, ++active_; }
  void connectionClosed() { if (active_ > 0) --active_; }
  void connectFailed() { ++connect_failures_; }
  void error() { ++errors_; }
  void turn(double seconds);

  // The counts since the previous call (sessions_active: now), then starts a new interval.
  health::BeatStats take();

 private:
  // Turn samples kept per interval; beyond this, a uniform sample of them (reservoir).
  static constexpr size_t kMaxTurnSamples = 4096;
  uint64_t opened_ = 0;
  uint64_t active_ = 0;
  uint64_t connect_failures_ = 0;
  uint64_t errors_ = 0;
  uint64_t turns_seen_ = 0;
  std::vector<double> turns_ms_;
  std::minstd_rand random_{12345};
};

// Forwards every call to the metrics' FrontStats and counts the beat's share.
class TeeFrontStats : public FrontStats {
 public:
  TeeFrontStats(std::shared_ptr<FrontStats> inner, BeatStatsCollector& beat) : inner_(std::move(inner)), beat_(beat) {}
  void connectionOpened() override { inner_->connectionOpened(), beat_.connectionOpened(); }
  void connectionClosed() override { inner_->connectionClosed(), beat_.connectionClosed(); }
  void connectionRejected(RefusalReason reason) override { inner_->connectionRejected(reason), beat_.error(); }
  void connectionEnded(CloseReason reason) override {
    inner_->connectionEnded(reason);
    if (reason == CloseReason::kError) beat_.error();
  }
  void bytesUpstream(size_t bytes) override { inner_->bytesUpstream(bytes); }
  void bytesDownstream(size_t bytes) override { inner_->bytesDownstream(bytes); }
  void upstreamConnected(double seconds) override { inner_->upstreamConnected(seconds); }
  void upstreamConnectFailed() override { inner_->upstreamConnectFailed(), beat_.connectFailed(); }
  void turnCompleted(double seconds) override { inner_->turnCompleted(seconds), beat_.turn(seconds); }
  void readingPaused() override { inner_->readingPaused(); }

 private:
  std::shared_ptr<FrontStats> inner_;
  BeatStatsCollector& beat_;
};

// Forwards every call to the metrics' HubStats; server sessions (an agent connection opened for
// a remote caller) and their failures count in the beat. Client sessions are front connections,
// already counted by TeeFrontStats.
class TeeHubStats : public HubStats {
 public:
  TeeHubStats(HubStats& inner, BeatStatsCollector& beat) : inner_(inner), beat_(beat) {}
  void hubState(const std::string& hub, HubState state) override { inner_.hubState(hub, state); }
  void activeHub(const std::string& hub, bool active) override { inner_.activeHub(hub, active); }
  void failover(const std::string& from, const std::string& to) override { inner_.failover(from, to); }
  void hubDetection(double seconds) override { inner_.hubDetection(seconds); }
  void sessionOpened(SessionRole role) override;
  void sessionClosed(SessionRole role) override;
  void sessionOpenFailed(const std::string& reason) override;
  void sessionOpenLatency(double seconds) override { inner_.sessionOpenLatency(seconds); }
  void framesResent(size_t frames, size_t bytes) override { inner_.framesResent(frames, bytes); }
  void frameDropped(const std::string& reason) override;
  void openRefused(const std::string& reason) override { inner_.openRefused(reason), beat_.error(); }
  void sessionClosedBy(const std::string& reason) override { inner_.sessionClosedBy(reason); }
  void hubConnectionRecreated(const std::string& hub) override { inner_.hubConnectionRecreated(hub); }

 private:
  HubStats& inner_;
  BeatStatsCollector& beat_;
};

}  // namespace twinhub
