// BatchIndex: which batch each agent migrates in (its first listing) and every later listing of
// an agent already placed. Built once from a Fleet; read-only afterwards; any thread.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "fleet/fleet.h"

namespace twinhub::fleet {

class BatchIndex {
 public:
  struct Misplaced {
    std::string agent;
    size_t batch = 0;        // where it is listed again
    SourcePos pos;
    size_t first_batch = 0;  // where it was listed first
    SourcePos first_pos;
  };

  explicit BatchIndex(const Fleet& fleet);

  // 0-based index into fleet.batches, or nullopt when the agent is in no batch.
  std::optional<size_t> batchOf(const std::string& agent) const;
  const std::vector<Misplaced>& repeats() const { return repeats_; }

 private:
  struct Placement {
    size_t batch;
    SourcePos pos;
  };
  std::map<std::string, Placement> first_;
  std::vector<Misplaced> repeats_;
};

}  // namespace twinhub::fleet
