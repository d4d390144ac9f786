#include "fleet/batch_index.h"

namespace twinhub::fleet {

BatchIndex::BatchIndex(const Fleet& fleet) {
  for (size_t b = 0; b < fleet.batches.size(); ++b) {
    for (const NamedRef& ref : fleet.batches[b].agents) {
      auto [it, inserted] = first_.emplace(ref.name, Placement{b, ref.pos});
      if (!inserted) repeats_.push_back({ref.name, b, ref.pos, it->second.batch, it->second.pos});
    }
  }
}

std::optional<size_t> BatchIndex::batchOf(const std::string& agent) const {
  auto it = first_.find(agent);
  if (it == first_.end()) return std::nullopt;
  return it->second.batch;
}

}  // namespace twinhub::fleet
