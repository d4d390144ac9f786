// SidecarApp: wires one sidecar together: the loop, the fronts of the config, metrics, and the
// signals (SIGTERM/SIGINT drain then exit, a second one exits at once, SIGHUP reloads the file).
// Owns every handle; run() returns once all are closed. Loop thread only (the thread that calls
// run()).
#pragma once

#include <uv.h>

#include <map>
#include <memory>
#include <string>
#include <unordered_set>

#include "common/status.h"
#include "config/config.h"
#include "metrics/metrics.h"
#include "proxy/front.h"
#include "proxy/proxy_context.h"

namespace twinhub {

class SidecarApp {
 public:
  // `config_path` is re-read on SIGHUP; empty means there is no file to reload.
  SidecarApp(SidecarConfig config, std::string config_path);
  ~SidecarApp();
  SidecarApp(const SidecarApp&) = delete;
  SidecarApp& operator=(const SidecarApp&) = delete;

  // Returns the process exit code: 0 after a clean drain, 1 on a start-up failure or a forced
  // exit.
  int run();

 private:
  static void onSignal(uv_signal_t* handle, int signum);
  static void onDrainTimeout(uv_timer_t* timer);

  // Opens fronts that are new, updates those that stay, retires those that are gone. All or
  // nothing: if a new front cannot listen, nothing changes.
  [[nodiscard]] Status applyFronts(const SidecarConfig& config);
  FrontSettings frontSettings(const FrontConfig& front) const;
  void reload();
  void beginDrain();
  void forceExit();
  void retire(Front* front);
  void onFrontDrained(Front* front);
  void closeAll();

  SidecarConfig config_;
  std::string config_path_;
  uv_loop_t loop_;
  std::unique_ptr<ProxyContext> context_;
  Metrics metrics_;
  std::map<std::string, Front*> fronts_;  // by listen address and service
  std::unordered_set<Front*> retiring_;   // stopped accepting, connections still open
  uv_signal_t sigterm_;
  uv_signal_t sigint_;
  uv_signal_t sighup_;
  uv_timer_t drain_timer_;
  bool draining_ = false;
  bool forced_ = false;
  bool closed_ = false;
};

}  // namespace twinhub
