#include "fleet/problem_list.h"

#include <algorithm>

namespace twinhub::fleet {

namespace {

// Cuts `text` to about `max` bytes without splitting a UTF-8 character.
std::string bounded(std::string text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  const size_t dropped = text.size() - cut;
  text.resize(cut);
  return text + "... (" + std::to_string(dropped) + " more bytes)";
}

}  // namespace

void ProblemList::add(Severity severity, SourcePos pos, std::string message) {
  problems_.push_back({severity, pos, bounded(std::move(message), kMaxMessageChars)});
}

size_t ProblemList::count(Severity severity) const {
  return std::count_if(problems_.begin(), problems_.end(), [&](const Problem& p) { return p.severity == severity; });
}

std::vector<Problem> ProblemList::sorted(Severity severity) const {
  std::vector<Problem> out;
  for (const Problem& p : problems_) {
    if (p.severity == severity) out.push_back(p);
  }
  std::stable_sort(out.begin(), out.end(), [](const Problem& a, const Problem& b) { return a.pos < b.pos; });
  return out;
}

std::string ProblemList::format(const Problem& problem) const {
  const char* tag = problem.severity == Severity::kWarning ? "warning: " : "";
  return where(file_, problem.pos) + ": " + tag + problem.message;
}

std::vector<std::string> ProblemList::formatted(Severity severity) const {
  const std::vector<Problem> all = sorted(severity);
  std::vector<std::string> out;
  for (size_t i = 0; i < all.size() && i < kMaxListed; ++i) out.push_back(format(all[i]));
  if (all.size() > kMaxListed) {
    const size_t more = all.size() - kMaxListed;
    const char* what = severity == Severity::kWarning ? " more warning" : " more problem";
    out.push_back("... and " + std::to_string(more) + what + (more == 1 ? "" : "s"));
  }
  return out;
}

}  // namespace twinhub::fleet
