#include "heartbeat/beat_stats.h"

#include <algorithm>

namespace twinhub {

namespace {
double percentile(std::vector<double>& sorted, double p) {
  const size_t rank = static_cast<size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[std::min(rank, sorted.size() - 1)];
}
}  // namespace

void BeatStatsCollector::turn(double seconds) {
  const double ms = seconds * 1000.0;
  ++turns_seen_;
  if (turns_ms_.size() < kMaxTurnSamples) {
    turns_ms_.push_back(ms);
    return;
  }
  // Reservoir sampling: each turn of the interval is kept with the same probability.
  const uint64_t slot = random_() % turns_seen_;
  if (slot < kMaxTurnSamples) turns_ms_[slot] = ms;
}

health::BeatStats BeatStatsCollector::take() {
  health::BeatStats s;
  s.sessions_opened = opened_;
  s.sessions_active = active_;
  s.connect_failures = connect_failures_;
  s.errors = errors_;
  s.turns = turns_seen_;
  if (!turns_ms_.empty()) {
    std::sort(turns_ms_.begin(), turns_ms_.end());
    s.turn_p50_ms = percentile(turns_ms_, 0.50);
    s.turn_p99_ms = percentile(turns_ms_, 0.99);
  }
  opened_ = connect_failures_ = errors_ = turns_seen_ = 0;
  turns_ms_.clear();
  return s;
}

void TeeHubStats::sessionOpened(SessionRole role) {
  inner_.sessionOpened(role);
  if (role == SessionRole::kServer) beat_.connectionOpened();
}

void TeeHubStats::sessionClosed(SessionRole role) {
  inner_.sessionClosed(role);
  if (role == SessionRole::kServer) beat_.connectionClosed();
}

void TeeHubStats::sessionOpenFailed(const std::string& reason) {
  inner_.sessionOpenFailed(reason);
  beat_.connectFailed();
}

void TeeHubStats::frameDropped(const std::string& reason) {
  inner_.frameDropped(reason);
  if (reason == "malformed") beat_.error();
}

}  // namespace twinhub
