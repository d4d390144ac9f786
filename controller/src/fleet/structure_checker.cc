#include "fleet/structure_checker.h"

#include <yaml-cpp/parser.h>

#include <algorithm>
#include <sstream>

namespace twinhub::fleet {

SourcePos toPos(const YAML::Mark& mark) { return {std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1}; }

void StructureChecker::check(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  // Two documents are enough to know there is a second. Going further is also unsafe: yaml-cpp
  // 0.7 can return "another document" forever on some malformed input without consuming it.
  for (int calls = 0; calls < 2 && parser.HandleNextDocument(*this); ++calls) {
  }
}

void StructureChecker::OnDocumentStart(const YAML::Mark& mark) {
  if (++documents_ == 2) problems_.error(toPos(mark), "a second YAML document starts here; a fleet file is one document");
}

void StructureChecker::leaf(const YAML::Mark& mark, const std::string* scalar) {
  keyAt(mark, scalar);
  nodeDone();
}

void StructureChecker::open(const YAML::Mark& mark, bool is_map) {
  keyAt(mark, nullptr);
  open_.push_back(Collection{is_map, true, {}});
}

void StructureChecker::close() {
  if (!open_.empty()) open_.pop_back();
  nodeDone();
}

void StructureChecker::keyAt(const YAML::Mark& mark, const std::string* scalar) {
  if (open_.empty() || !open_.back().is_map || !open_.back().at_key || scalar == nullptr) return;
  const SourcePos pos = toPos(mark);
  auto [it, inserted] = open_.back().keys.emplace(*scalar, pos);
  if (!inserted) {
    problems_.error(pos, "key '" + *scalar + "' appears twice in this mapping (first at " +
                             where(problems_.file(), it->second) + "); only one may stay");
  }
}

void StructureChecker::nodeDone() {
  if (!open_.empty() && open_.back().is_map) open_.back().at_key = !open_.back().at_key;
}

}  // namespace twinhub::fleet
