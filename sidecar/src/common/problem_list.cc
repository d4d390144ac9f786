#include "common/problem_list.h"

namespace twinhub {

std::string boundedText(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t cut = max;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;  // UTF-8 continuation byte
  return text.substr(0, cut) + "... (" + std::to_string(text.size() - cut) + " more bytes)";
}

std::vector<std::string> listedProblems(const std::vector<std::string>& problems, size_t max) {
  std::vector<std::string> out;
  for (size_t i = 0; i < problems.size() && i < max; ++i) out.push_back(boundedText(problems[i]));
  if (problems.size() > max) out.push_back("... and " + std::to_string(problems.size() - max) + " more problem(s)");
  return out;
}

std::string joinedProblems(const std::vector<std::string>& problems, size_t max) {
  std::string out;
  for (const std::string& problem : listedProblems(problems, max)) out += (out.empty() ? "" : "; ") + problem;
  return out;
}

}  // namespace twinhub
