#include "migrate/progress_bar.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <fmt/format.h>

namespace twinhub::ctl {

namespace {

// Where a step ends within its batch, as a share of the batch: the soak is the long part.
double stepShare(const std::string& step, double into) {
  into = std::clamp(into, 0.0, 1.0);
  if (step == "baseline") return 0.05 + 0.35 * into;
  if (step == "flip") return 0.40 + 0.10 * into;
  if (step == "soak") return 0.50 + 0.50 * into;
  return 0.0;  // gate
}

}  // namespace

std::string renderProgressLine(const ProgressState& state, size_t width) {
  const double into = state.step_s > 0 ? state.elapsed_s / state.step_s : 0;
  const double done = state.batches == 0 ? 0
                                         : (static_cast<double>(state.batches_done) + (state.batch > 0 ? stepShare(state.step, into) : 0)) /
                                               static_cast<double>(state.batches);
  std::string text = fmt::format("{}/{} batches", state.batches_done, state.batches);
  if (state.batch > 0) {
    text += fmt::format(" | batch {} {}", state.batch, state.step);
    if (state.step_s > 0) {
      text += fmt::format(" {:.1f}/{:.1f} s", std::min(state.elapsed_s, state.step_s), state.step_s);
    } else if (state.elapsed_s > 0) {
      text += fmt::format(" {:.1f} s", state.elapsed_s);
    }
  }
  constexpr size_t kBar = 20;
  const size_t filled = static_cast<size_t>(std::clamp(done, 0.0, 1.0) * kBar + 0.5);
  std::string line = "[" + std::string(filled, '#') + std::string(kBar - filled, '-') + "] " + text;
  if (line.size() > width) line.resize(width);
  return line;
}

ProgressBar::ProgressBar(std::FILE* out) : out_(out), enabled_(::isatty(::fileno(out)) == 1) {}

void ProgressBar::show(const ProgressState& state) {
  if (!enabled_) return;
  winsize size{};
  const size_t columns = ::ioctl(::fileno(out_), TIOCGWINSZ, &size) == 0 && size.ws_col > 10 ? size.ws_col : 80;
  std::fprintf(out_, "\r\033[K%s", renderProgressLine(state, columns - 1).c_str());
  std::fflush(out_);
  shown_ = true;
}

void ProgressBar::clear() {
  if (!enabled_ || !shown_) return;
  std::fprintf(out_, "\r\033[K");
  std::fflush(out_);
  shown_ = false;
}

}  // namespace twinhub::ctl
