// DesiredStateStore: the controller's side of the desired-state bucket. Each hub is its own
// JetStream domain, so the store holds a connection to every hub and writes each value into
// every domain it can reach; sidecars read whichever they can. A domain that missed writes (its
// hub was down) is brought up to date by catchUp(): for every key, the highest generation seen
// anywhere is written where it is missing or lower.
//
// The lease (one controller at a time) lives in the first reachable hub's domain, in order of
// preference; compare-and-set makes two controllers on the same domain exclusive. (Two
// controllers that each reach only a different hub would both win: the lease cannot be stronger
// than the hubs' partition; documented in docs/controller.md.)
//
// Blocking calls with short timeouts (cnats in its threaded mode; the controller has no loop).
// One thread calls it; readMany/writeMany talk to the domains side by side (a thread each), as a
// flip's time is that of its slowest domain, not the sum of every round trip.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "migrate/lease.h"
#include "nats/hub_link.h"
#include "control_wire/desired_state.h"

namespace twinhub::ctl {

constexpr const char* kLedgerStream = "TWINHUB_LEDGER";
constexpr const char* kLedgerSubject = "th.ledger.events";

class DesiredStateStore {
 public:
  explicit DesiredStateStore(std::vector<HubAddress> hubs);
  ~DesiredStateStore();
  DesiredStateStore(const DesiredStateStore&) = delete;
  DesiredStateStore& operator=(const DesiredStateStore&) = delete;

  // Connects to every hub and opens (or creates) the bucket; retries hubs that failed. Returns how
  // many hubs are usable.
  size_t connect();
  size_t usable() const;
  std::vector<std::string> unusableHubs() const;

  // The highest generation of `sidecar_id` over every usable hub; nullopt when none holds one.
  std::optional<wire::DesiredState> read(const std::string& sidecar_id);
  // read() for many sidecars at once, and writing their values into every usable hub's domain:
  // each domain on its own thread, a domain's writes pipelined.
  std::map<std::string, wire::DesiredState> readMany(const std::vector<std::string>& sidecar_ids);
  void writeMany(const std::map<std::string, wire::DesiredState>& states);
  // For every key, the highest generation anywhere goes where it is missing or lower. Returns
  // the number of values written.
  size_t catchUp();

  struct LeaseResult {
    bool held = false;
    std::optional<Lease> other;  // who holds it when not us
    std::string error;           // no hub reachable, ...
    std::string taken_over;      // the unexpired lease's holder, found dead on this machine
  };
  // Takes or renews the lease for `me` until now + ttl_ms.
  LeaseResult acquireLease(const std::string& me, int64_t ttl_ms);
  void releaseLease(const std::string& me);

  // The migration ledger: a JetStream stream (kLedgerStream, subject kLedgerSubject) in every
  // usable domain. Appends one JSON event to each; the number of domains that stored it.
  size_t appendLedger(const std::string& event_json);

 private:
  struct Domain;
  Domain* leaseDomain();
  std::vector<std::unique_ptr<Domain>> domains_;
};

}  // namespace twinhub::ctl
