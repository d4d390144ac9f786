// BeatWindow: the heartbeats of a set of sidecars over a window, as figures per sidecar. Every
// beat arrives once per hub it went through; the copies share id and seq, so each counts once.
// One thread.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "health_wire/heartbeat.h"
#include "migrate/soak_judge.h"

namespace twinhub::ctl {

class BeatWindow {
 public:
  explicit BeatWindow(std::set<std::string> sidecars) : sidecars_(std::move(sidecars)) {}
  // Starts a new window (the figures so far are dropped; generations seen are kept).
  void reset();
  void add(const health::Heartbeat& beat);

  const BatchFigures& figures() const { return figures_; }
  // The applied generation each sidecar reported last (absent: never heard).
  const std::map<std::string, uint64_t>& generations() const { return generations_; }
  // Every sidecar of `wanted` reported at least its generation.
  bool allReport(const std::map<std::string, uint64_t>& wanted) const;

 private:
  std::set<std::string> sidecars_;
  BatchFigures figures_;
  std::map<std::string, uint64_t> last_seq_;
  std::map<std::string, uint64_t> generations_;
};

}  // namespace twinhub::ctl
