#include "fleet/structure_checker.h"

#include <algorithm>

namespace twinhub::fleet {

SourcePos toPos(const YAML::Mark& mark) { return {std::max(mark.line, 0) + 1, std::max(mark.column, 0) + 1}; }

void FleetStructureProblems::secondDocument(const YAML::Mark& at) {
  problems_.error(toPos(at), "a second YAML document starts here; a fleet file is one document");
}

void FleetStructureProblems::duplicateKey(const std::string& key, const YAML::Mark& at, const YAML::Mark& first) {
  problems_.error(toPos(at), "key '" + key + "' appears twice in this mapping (first at " +
                                 where(problems_.file(), toPos(first)) + "); only one may stay");
}

}  // namespace twinhub::fleet
