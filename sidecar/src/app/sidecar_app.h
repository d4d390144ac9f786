// SidecarApp: wires one sidecar together: the loop, the fronts of the config, the hub side
// (connections to every hub, sessions, serving the local agent while its probe passes), metrics,
// and the signals: SIGTERM/SIGINT drain then exit (a second one exits at once), SIGHUP reloads
// the file (fronts, mode, tuning; hubs and serve need a restart).
//
// Owns every handle; run() returns once all are closed. Loop thread only (the thread that calls
// run()); the health checker's thread reaches it only through the LoopExecutor.
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <unordered_set>

#include "common/loop_executor.h"
#include "common/loop_turn_monitor.h"
#include "common/memory_trimmer.h"
#include "common/status.h"
#include "config/config.h"
#include "control/desired_state_controller.h"
#include "health/health_checker.h"
#include "heartbeat/beat_stats.h"
#include "heartbeat/heartbeat_publisher.h"
#include "hub/session_router.h"
#include "metrics/metrics.h"
#include "proxy/direct_connection_factory.h"
#include "proxy/front.h"
#include "proxy/proxy_context.h"

namespace twinhub {

class SidecarApp {
 public:
  // `config_path` is re-read on SIGHUP; empty means there is no file to reload. `overrides` (the
  // command line's settings) are applied to every reloaded file.
  SidecarApp(SidecarConfig config, std::string config_path, ConfigOverrides overrides = {});
  ~SidecarApp();
  SidecarApp(const SidecarApp&) = delete;
  SidecarApp& operator=(const SidecarApp&) = delete;

  // Returns the process exit code: 0 after a clean drain, 1 on a start-up failure or a forced
  // exit.
  int run();

 private:
  static void onSignal(uv_signal_t* handle, int signum);
  static void onDrainTick(uv_timer_t* timer);

  void startHubs();
  // Desired state from the controller (through the hubs): restores the last applied mode, then
  // watches for new generations.
  void startControl();
  void onDesiredState(FlipAction action, const AppliedState& applied);
  // New connections take `mode`; open ones keep their path. False when hub mode has no hubs.
  bool switchMode(Mode mode, const std::string& why);
  void startHeartbeats();
  health::AgentReport agentReport() const;
  std::shared_ptr<FrontStats> frontStats(const std::string& service);
  // Opens fronts that are new, updates those that stay, retires those that are gone. All or
  // nothing: if a new front cannot listen, nothing changes.
  [[nodiscard]] Status applyFronts(const SidecarConfig& config);
  FrontSettings frontSettings(const FrontConfig& front) const;
  ConnectionFactory* factoryFor(Mode mode);
  void reload();
  // Tells /readyz the fronts' direct targets (checked when it is asked).
  void reportDirectTargets();
  void beginDrain();
  void forceExit();
  void abortEverything();
  void retire(Front* front);
  void onFrontDrained(Front* front);
  bool drained() const;
  void closeAll();

  SidecarConfig config_;
  std::string config_path_;
  std::string security_files_;  // fingerprint of the hubs' TLS and credential files in use
  ConfigOverrides overrides_;
  uv_loop_t loop_;
  std::unique_ptr<ProxyContext> context_;
  Metrics metrics_;
  BeatStatsCollector beat_stats_;                // what the next heartbeat reports
  std::unique_ptr<TeeHubStats> hub_stats_tee_;   // metrics + beat_stats_, when hubs are configured
  std::unique_ptr<DirectConnectionFactory> direct_factory_;
  std::unique_ptr<LoopExecutor> executor_;    // when hubs are configured
  std::unique_ptr<SessionRouter> router_;     // when hubs are configured
  std::unique_ptr<HealthChecker> health_;     // when serving
  std::unique_ptr<DesiredStateController> control_;  // when hubs are configured
  std::unique_ptr<HeartbeatPublisher> heartbeat_;  // when hubs are configured
  std::map<std::string, Front*> fronts_;      // by listen address and service
  std::unordered_set<Front*> retiring_;       // stopped accepting, connections still open
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  uv_signal_t sighup_;
  uv_timer_t drain_timer_;
  std::unique_ptr<MemoryTrimmer> trimmer_;
  std::unique_ptr<LoopTurnMonitor> turn_monitor_;
  uint64_t drain_deadline_ns_ = 0;
  bool draining_ = false;
  bool aborted_ = false;
  bool forced_ = false;
  bool closed_ = false;
};

}  // namespace twinhub
