// FleetStructureProblems: words the structure problems the shared yaml::StructureChecker finds
// (a key written twice in one mapping, a second document) for a fleet file. Not thread-safe; one
// per check.
#pragma once

#include <yaml-cpp/mark.h>

#include <string>

#include "fleet/problem_list.h"
#include "fleet/source_pos.h"
#include "yaml_support/structure_checker.h"

namespace twinhub::fleet {

// A yaml-cpp mark (0-based) as a 1-based position.
SourcePos toPos(const YAML::Mark& mark);

class FleetStructureProblems : public yaml::StructureProblems {
 public:
  explicit FleetStructureProblems(ProblemList& problems) : problems_(problems) {}
  void secondDocument(const YAML::Mark& at) override;
  void duplicateKey(const std::string& key, const YAML::Mark& at, const YAML::Mark& first) override;

 private:
  ProblemList& problems_;
};

}  // namespace twinhub::fleet
