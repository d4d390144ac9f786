// ProgressBar: the live line `migrate` keeps at the foot of a terminal (stderr): batches done,
// the current batch's step, and how far into its window. Only on a terminal and without --json;
// event lines print above it. renderProgressLine is pure (unit-tested); ProgressBar writes.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>

namespace twinhub::ctl {

struct ProgressState {
  size_t batches = 0;       // in this run
  size_t batches_done = 0;  // migrated, skipped or rolled back
  int batch = 0;            // 1-based, the one in progress; 0 before the first
  std::string step;         // gate, baseline, flip, soak
  double elapsed_s = 0;     // into the step
  double step_s = 0;        // the step's planned length (0: open-ended)
};

// "[########------------] 1/4 batches | batch 2 soak 3.1/5.0 s", at most `width` characters.
std::string renderProgressLine(const ProgressState& state, size_t width);

class ProgressBar {
 public:
  // Enabled only when `out` is a terminal.
  explicit ProgressBar(std::FILE* out);
  bool enabled() const { return enabled_; }
  void show(const ProgressState& state);
  // Wipes the line (before an event line, and at the end).
  void clear();

 private:
  std::FILE* out_;
  bool enabled_;
  bool shown_ = false;
};

}  // namespace twinhub::ctl
