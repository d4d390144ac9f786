#include "request_ledger.h"

namespace twinhub::agent_sim {

void RequestLedger::recordServed(const std::string& request_id) {
  ++served_;
  if (++times_served_[request_id] > 1) ++duplicates_;
}

uint64_t RequestLedger::timesServed(const std::string& request_id) const {
  auto it = times_served_.find(request_id);
  return it == times_served_.end() ? 0 : it->second;
}

nlohmann::json RequestLedger::statsJson() const {
  return {{"served", served_},
          {"unique_request_ids", uniqueIds()},
          {"duplicates", duplicates_},
          {"errors_injected", errors_injected_},
          {"invalid", invalid_}};
}

}  // namespace twinhub::agent_sim
