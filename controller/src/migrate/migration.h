// Migration: `twinhubctl migrate` and `rollback`, batch by batch (DESIGN.md "Control"):
//
//   gate      every sidecar of the batch heartbeating, its agent healthy, every hub up (or all but
//             one with --accept-one-hub); a failed gate pauses (exit 5), it rolls nothing back;
//   baseline  latency and errors from the batch's heartbeats over the baseline window, extended
//             while there are too few requests;
//   flip      a new generation per sidecar (mode hub, provisional until now + the deadline) into
//             every hub's domain; wait until every sidecar reports it (flip timeout -> roll back);
//   soak      the same figures for soak_s, judged sidecar by sidecar against the baseline
//             (SoakJudge); a breach rolls the batch back at once and stops (exit 4);
//   confirm   the same generation, confirmed: the sidecars stop counting down to a revert.
//
// Every step goes to the ledger (a JetStream stream in each domain) and to the progress output.
// A controller killed at any point leaves nothing unverified behind: unconfirmed flips revert on
// the sidecars by their deadline, and a new run skips the batches whose sidecars are confirmed in
// hub mode and migrates the rest. One controller at a time (the lease).
//
// Runs on the calling thread; the aggregator's cnats threads only fill its inbox.
#pragma once

#include <string>
#include <vector>

#include "nats/hub_link.h"

namespace twinhub::ctl {

// Exit statuses of migrate and rollback (also in --help).
constexpr int kMigrateExitDone = 0;
constexpr int kMigrateExitError = 1;
constexpr int kMigrateExitUsage = 2;
constexpr int kMigrateExitNoHub = 3;
constexpr int kMigrateExitRolledBack = 4;
constexpr int kMigrateExitPaused = 5;
constexpr int kMigrateExitLeaseHeld = 6;

constexpr const char* kMigrateExitHelp = R"(migrate / rollback exit status:
  0  done: every batch asked for migrated and confirmed (or rolled back, for rollback)
  1  error: a sidecar did not report a rollback in time, the ledger or hubs failed mid-way
  2  usage: bad options or an invalid fleet file
  3  no hub reachable
  4  a batch breached its thresholds during the soak (or did not take the flip) and was rolled back
  5  paused: a batch's gate failed (a sidecar not heard, an agent down, a hub down); nothing changed
  6  another controller holds the lease
)";

struct MigrateOptions {
  std::string fleet_file;
  int batch = 0;  // 1-based; 0: every batch in order
  bool dry_run = false;
  bool json = false;  // one JSON event per line on stdout
  bool accept_one_hub = false;
  double soak_s = -1;  // < 0: the fleet's
};

struct RollbackOptions {
  std::string fleet_file;
  int batch = 0;
  std::string sidecar;
  bool all = false;
  bool json = false;
};

// `hubs` (from --hub) when not empty, else the fleet's, each with `security`.
int runMigrate(const std::vector<HubAddress>& hubs, const MigrateOptions& options,
               const nats_security::HubSecurity& security = {});
int runRollback(const std::vector<HubAddress>& hubs, const RollbackOptions& options,
                const nats_security::HubSecurity& security = {});

}  // namespace twinhub::ctl
