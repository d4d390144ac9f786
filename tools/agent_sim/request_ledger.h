// RequestLedger: counts the request ids a simulated agent has served, so that tests can see
// whether every request was answered exactly once (duplicates reveal retries that were processed
// twice). Single-threaded: owned and used by the agent's one thread.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace twinhub::agent_sim {

class RequestLedger {
 public:
  // A successful reply was sent for a request carrying `request_id`.
  void recordServed(const std::string& request_id);
  // A successful reply was sent for a request that had no request_id (counted as served only).
  void recordServedWithoutId() { ++served_; }
  void recordInjectedError() { ++errors_injected_; }
  void recordInvalid() { ++invalid_; }

  uint64_t served() const { return served_; }
  uint64_t uniqueIds() const { return times_served_.size(); }
  uint64_t duplicates() const { return duplicates_; }
  uint64_t timesServed(const std::string& request_id) const;

  // The sim_stats reply: {"served","unique_request_ids","duplicates","errors_injected","invalid"}.
  nlohmann::json statsJson() const;

 private:
  std::unordered_map<std::string, uint64_t> times_served_;
  uint64_t served_ = 0;
  uint64_t duplicates_ = 0;
  uint64_t errors_injected_ = 0;
  uint64_t invalid_ = 0;
};

}  // namespace twinhub::agent_sim
