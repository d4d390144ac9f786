#include "yaml_support/structure_checker.h"

#include <yaml-cpp/parser.h>

#include <sstream>

namespace twinhub::yaml {

void StructureChecker::check(const std::string& text) {
  std::istringstream in(text);
  YAML::Parser parser(in);
  // Two calls at most: the second tells whether a second document exists, and yaml-cpp 0.7
  // reports a new document forever on some input (a lone ',') without reading on.
  for (int calls = 0; calls < 2 && parser.HandleNextDocument(*this); ++calls) {
  }
}

void StructureChecker::OnDocumentStart(const YAML::Mark& mark) {
  if (++documents_ == 2) problems_.secondDocument(mark);
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
  if (documents_ > 1 || open_.empty() || !open_.back().is_map || !open_.back().at_key || scalar == nullptr) return;
  auto [it, inserted] = open_.back().keys.emplace(*scalar, mark);
  if (!inserted) problems_.duplicateKey(*scalar, mark, it->second);
}

void StructureChecker::nodeDone() {
  if (!open_.empty() && open_.back().is_map) open_.back().at_key = !open_.back().at_key;
}

}  // namespace twinhub::yaml
