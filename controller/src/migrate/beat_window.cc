#include "migrate/beat_window.h"

namespace twinhub::ctl {

void BeatWindow::reset() { figures_.clear(); }

void BeatWindow::add(const health::Heartbeat& beat) {
  if (!sidecars_.count(beat.id)) return;
  auto [it, fresh] = last_seq_.emplace(beat.id, beat.seq);
  if (!fresh) {
    if (beat.seq <= it->second) return;  // the copy through the other hub, or an old one
    it->second = beat.seq;
  }
  generations_[beat.id] = beat.generation;
  const health::BeatStats& s = beat.stats;
  figures_[beat.id].addBeat(s.turns, s.connect_failures + s.errors, s.turn_p99_ms,
                            beat.agent.state == health::AgentState::kFailing);
}

bool BeatWindow::allReport(const std::map<std::string, uint64_t>& wanted) const {
  for (const auto& [id, generation] : wanted) {
    auto it = generations_.find(id);
    if (it == generations_.end() || it->second < generation) return false;
  }
  return true;
}

}  // namespace twinhub::ctl
