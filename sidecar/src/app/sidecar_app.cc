#include "app/sidecar_app.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <filesystem>

#include "common/problem_list.h"
#include "common/rlimit.h"
#include "config/config_loader.h"

namespace twinhub {

namespace {

constexpr uint64_t kDrainTickMs = 50;
// How often memory freed after a burst goes back to the system (common/memory_trimmer.h).
constexpr uint64_t kMemoryTrimIntervalMs = 10000;

// Fronts with the same key across a reload are the same listener. A fixed port can hold only
// one listener, so it is the key: a front whose service is renamed keeps its socket instead of
// failing to bind next to itself. Port 0 binds a fresh port each time; the service tells them apart.
std::string frontKey(const FrontConfig& front) {
  const std::string listen = front.listen.toString();
  return front.listen.port() != 0 ? listen : listen + "/" + front.service;
}

std::string securityFiles(const SidecarConfig& config) {
  std::string out;
  for (const HubConfig& hub : config.hubs) out += nats_security::filesFingerprint(hub.security) + "|";
  return out;
}

std::vector<HubOptions> hubOptions(const SidecarConfig& config) {
  std::vector<HubOptions> hubs;
  for (const HubConfig& hub : config.hubs) {
    HubOptions options;
    options.name = hub.name;
    options.url = hub.url;
    options.security = hub.security;
    options.ping_interval_ms = config.hub.ping_interval_ms;
    options.max_pings_out = config.hub.max_pings_out;
    hubs.push_back(options);
  }
  return hubs;
}

SessionRouterOptions routerOptions(const SidecarConfig& config) {
  SessionRouterOptions options;
  options.sidecar_id = config.id;
  options.subject_prefix = config.hub.subject_prefix;
  options.hubs.probe_interval_ms = config.hub.probe_interval_ms;
  options.hubs.suspect_after_ms = config.hub.suspect_after_ms;
  options.hubs.failback_hold_ms = config.hub.failback_hold_ms;
  options.session.window_bytes = config.hub.window_bytes;
  options.session.open_timeout_ms = config.hub.open_timeout_ms;
  options.session.connect_timeout_ms = config.proxy.connect_timeout_ms;
  options.session.idle_timeout_ms = config.proxy.idle_timeout_ms;
  options.session.fin_timeout_ms = config.proxy.fin_timeout_ms;
  options.max_server_sessions = config.serve && config.serve->max_sessions != 0 ? config.serve->max_sessions
                                                                                 : servedSessionCap(openFileLimit());
  return options;
}

}  // namespace

SidecarApp::SidecarApp(SidecarConfig config, std::string config_path, ConfigOverrides overrides)
    : config_(std::move(config)), config_path_(std::move(config_path)), overrides_(std::move(overrides)) {
  uv_loop_init(&loop_);
  context_ = std::make_unique<ProxyContext>(&loop_);
  context_->budget.setLimit(config_.proxy.buffer_budget_bytes);
  context_->budget.setStats(&metrics_.budgetStats());
  direct_factory_ = std::make_unique<DirectConnectionFactory>(*context_);
  uv_signal_init(&loop_, &sigterm_);
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sighup_);
  uv_timer_init(&loop_, &drain_timer_);
  trimmer_ = std::make_unique<MemoryTrimmer>(&loop_, kMemoryTrimIntervalMs);
  turn_monitor_ = std::make_unique<LoopTurnMonitor>(
      &loop_, LoopTurnReports{[this](double seconds) { metrics_.loopTurnLongest(seconds); },
                              [this] { metrics_.loopTurnSlow(); }});
  for (uv_signal_t* s : {&sigterm_, &sigint_, &sighup_}) s->data = this;
  drain_timer_.data = this;
}

SidecarApp::~SidecarApp() {
  if (!closed_) closeAll();
  uv_run(&loop_, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop_);
  if (rc != 0) spdlog::error("event loop closed with open handles: {}", uv_strerror(rc));
}

FrontSettings SidecarApp::frontSettings(const FrontConfig& front) const {
  FrontSettings settings;
  settings.service = front.service;
  settings.listen = front.listen;
  settings.max_connections = front.max_connections;
  settings.connection.upstream = front.direct.value_or(NetAddress());
  settings.connection.connect_timeout_ms = front.connect_timeout_ms;
  settings.connection.high_watermark = config_.proxy.high_watermark;
  settings.connection.low_watermark = config_.proxy.low_watermark;
  settings.connection.timeouts.idle_ms = front.idle_timeout_ms.value_or(config_.proxy.idle_timeout_ms);
  settings.connection.timeouts.fin_ms = front.fin_timeout_ms.value_or(config_.proxy.fin_timeout_ms);
  return settings;
}

ConnectionFactory* SidecarApp::factoryFor(Mode mode) {
  if (mode == Mode::kHub && router_) return router_.get();
  return direct_factory_.get();
}

void SidecarApp::startHubs() {
  if (config_.hubs.empty()) return;
  executor_ = std::make_unique<LoopExecutor>(&loop_);
  hub_stats_tee_ = std::make_unique<TeeHubStats>(metrics_.hubStats(), beat_stats_);
  security_files_ = securityFiles(config_);
  router_ = std::make_unique<SessionRouter>(*context_, *executor_, hubOptions(config_), routerOptions(config_),
                                            *hub_stats_tee_);
  router_->start();
  startHeartbeats();
  if (!config_.serve) return;
  const ServeConfig& serve = *config_.serve;
  router_->serve(serve.service, serve.address);
  ProbeConfig probe;
  if (serve.probe) {
    probe = *serve.probe;
  } else {
    probe.type = ProbeType::kTcp;  // no probe configured: the agent's port must accept
    probe.address = serve.address;
  }
  health_ = std::make_unique<HealthChecker>(probe, [this](bool healthy, const std::string& detail) {
    // The checker's thread: hand the transition to the loop.
    executor_->post([this, healthy, detail] {
      spdlog::log(healthy ? spdlog::level::info : spdlog::level::warn, "agent {} is {}: {}", config_.serve->service,
                  healthy ? "healthy" : "unhealthy", detail);
      if (!draining_) router_->setServing(healthy);
      if (heartbeat_) heartbeat_->beatNow();  // tell the aggregators now, not at the next interval
    });
  });
  health_->start();
}

void SidecarApp::startControl() {
  if (!executor_) return;
  std::vector<ControlHub> hubs;
  for (const HubConfig& hub : config_.hubs) hubs.push_back({hub.name, hub.url, hub.security});
  if (!config_.state_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(config_.state_dir, ec);
    if (ec) spdlog::error("state_dir {}: {}; applied desired state will not survive a restart", config_.state_dir, ec.message());
  }
  control_ = std::make_unique<DesiredStateController>(
      &loop_, *executor_, std::move(hubs), config_.id, config_.state_dir,
      [this](FlipAction action, const AppliedState& applied) { onDesiredState(action, applied); });
  if (std::optional<std::string> mode = control_->restore(modeName(config_.mode))) {
    config_.mode = *mode == "hub" ? Mode::kHub : Mode::kDirect;
    metrics_.setMode(modeName(config_.mode));
  }
  metrics_.setAppliedGeneration(control_->applied().generation);
  control_->start();
}

void SidecarApp::onDesiredState(FlipAction action, const AppliedState& applied) {
  metrics_.desiredStateChanged(flipActionName(action), applied.generation);
  const Mode mode = applied.mode == "hub" ? Mode::kHub : Mode::kDirect;
  if (!draining_) switchMode(mode, "desired state generation " + std::to_string(applied.generation));
  if (heartbeat_) heartbeat_->beatNow();  // the controller waits for this generation in a beat
}

bool SidecarApp::switchMode(Mode mode, const std::string& why) {
  if (mode == config_.mode) return true;
  if (mode == Mode::kHub && !router_) {
    spdlog::error("mode hub asked by {}, but no hubs are configured: staying {}", why, modeName(config_.mode));
    return false;
  }
  const Mode previous = config_.mode;
  config_.mode = mode;
  if (Status status = applyFronts(config_); !status) {  // existing fronts only change their factory
    config_.mode = previous;
    spdlog::error("mode {} asked by {}: {}", modeName(mode), why, status.message());
    return false;
  }
  spdlog::warn("mode {} -> {} ({}): new connections take the new path, open ones keep theirs", modeName(previous),
               modeName(mode), why);
  metrics_.setMode(modeName(mode));
  return true;
}

void SidecarApp::startHeartbeats() {
  HeartbeatSettings settings;
  settings.id = config_.id;
  settings.machine = config_.machine.empty() ? "local" : config_.machine;
  if (config_.serve) settings.served.push_back(config_.serve->service);
  for (const FrontConfig& front : config_.fronts) {
    if (std::find(settings.fronted.begin(), settings.fronted.end(), front.service) == settings.fronted.end())
      settings.fronted.push_back(front.service);
  }
  settings.interval_ms = config_.health.interval_ms;
  HeartbeatInputs inputs;
  inputs.agent = [this] { return agentReport(); };
  inputs.mode = [this] { return std::string(modeName(config_.mode)); };
  inputs.generation = [this] { return control_ ? control_->applied().generation : uint64_t{0}; };
  inputs.take_stats = [this] { return beat_stats_.take(); };
  heartbeat_ = std::make_unique<HeartbeatPublisher>(&loop_, router_->hubSet(), std::move(settings), std::move(inputs));
  heartbeat_->start();
}

health::AgentReport SidecarApp::agentReport() const {
  health::AgentReport report;
  if (!health_ || health_->probesRun() == 0) return report;  // not serving, or no result yet: none
  const HealthChecker::Sample sample = health_->lastSample();
  report.state = health_->healthy() ? health::AgentState::kOk : health::AgentState::kFailing;
  report.latency_ms = sample.latency_ms;
  report.error = sample.last_error;
  return report;
}

std::shared_ptr<FrontStats> SidecarApp::frontStats(const std::string& service) {
  return std::make_shared<TeeFrontStats>(metrics_.frontStats(service), beat_stats_);
}

int SidecarApp::run() {
  if (config_.metrics) {
    Status status = metrics_.serve(*config_.metrics, config_.metrics_auth);
    if (!status) {
      spdlog::error("{}", status.message());
      closeAll();
      return 1;
    }
    spdlog::info("metrics on http://{}/metrics{}", metrics_.servingAddress()->toString(),
                 config_.metrics_auth ? " (basic auth)" : "");
  }
  metrics_.setMode(modeName(config_.mode));
  // Before the fronts announce themselves: a script that signals as soon as it sees them must
  // reach these handlers, not the default action.
  uv_signal_start(&sigterm_, onSignal, SIGTERM);
  uv_signal_start(&sigint_, onSignal, SIGINT);
  uv_signal_start(&sighup_, onSignal, SIGHUP);
  startHubs();
  startControl();
  if (router_) trimmer_->start();  // the hub side's threads are what leave memory behind
  if (Status status = applyFronts(config_); !status) {
    spdlog::error("{}", status.message());
    closeAll();
    return 1;
  }
  metrics_.readiness().setFrontsBound(true);
  reportDirectTargets();
  // After the fronts: the first push already carries their series.
  if (config_.metrics_push) {
    metrics_.startPush(*config_.metrics_push, config_.id, config_.machine.empty() ? "local" : config_.machine);
  }
  spdlog::info("sidecar {} running: mode {}, {} front(s), {} hub(s){}", config_.id, modeName(config_.mode),
               fronts_.size(), config_.hubs.size(), config_.serve ? ", serving " + config_.serve->service : "");
  uv_run(&loop_, UV_RUN_DEFAULT);
  // Off the loop (it has ended): the last push, or the delete, waits on HTTP up to its timeout.
  metrics_.stopPush();
  spdlog::info("exit");
  return forced_ ? 1 : 0;
}

Status SidecarApp::applyFronts(const SidecarConfig& config) {
  ConnectionFactory* factory = factoryFor(config.mode);
  std::map<std::string, Front*> next;
  std::vector<Front*> opened;
  std::vector<std::string> errors;
  for (const FrontConfig& fc : config.fronts) {
    const std::string key = frontKey(fc);
    if (auto it = fronts_.find(key); it != fronts_.end()) {
      next[key] = it->second;
      continue;
    }
    auto* front = new Front(*context_, frontSettings(fc), frontStats(fc.service), factory);
    front->setOnDrained([this](Front* f) { onFrontDrained(f); });
    opened.push_back(front);
    next[key] = front;
    if (Status status = front->listen(); !status) errors.push_back(status.message());
  }
  if (!errors.empty()) {
    for (Front* front : opened) retire(front);
    return Status::error(joinedProblems(errors));  // 100,000 fronts that fail must not make one 5 MB line
  }
  for (const FrontConfig& fc : config.fronts) {
    Front* front = next[frontKey(fc)];
    if (std::find(opened.begin(), opened.end(), front) == opened.end()) {
      if (front->settings().service != fc.service) {
        spdlog::info("front {} on {} now serves {}", front->settings().service, front->boundAddress().toString(),
                     fc.service);
      }
      front->update(frontSettings(fc), frontStats(fc.service), factory);
    } else if (config.mode == Mode::kHub) {
      spdlog::info("front {} listening on {} (hub)", fc.service, front->boundAddress().toString());
    } else {
      spdlog::info("front {} listening on {} (direct {})", fc.service, front->boundAddress().toString(),
                   front->settings().connection.upstream.toString());
    }
  }
  for (auto& [key, front] : fronts_) {
    if (!next.count(key)) {
      spdlog::info("front {} on {} removed: draining {} connection(s)", front->settings().service,
                   front->boundAddress().toString(), front->activeConnections());
      retire(front);
    }
  }
  fronts_ = std::move(next);
  return Status::ok();
}

void SidecarApp::retire(Front* front) {
  retiring_.insert(front);
  front->stopAccepting();
}

void SidecarApp::onFrontDrained(Front* front) {
  retiring_.erase(front);
  delete front;
  if (draining_ && drained()) closeAll();
}

bool SidecarApp::drained() const { return retiring_.empty() && (!router_ || router_->serverSessions() == 0); }

void SidecarApp::onSignal(uv_signal_t* handle, int signum) {
  auto* self = static_cast<SidecarApp*>(handle->data);
  if (signum == SIGHUP) {
    self->reload();
  } else if (self->draining_) {
    self->forceExit();
  } else {
    self->beginDrain();
  }
}

void SidecarApp::reload() {
  if (draining_) return;
  if (config_path_.empty()) {
    spdlog::warn("SIGHUP: no config file to reload (started without --config)");
    return;
  }
  spdlog::info("SIGHUP: reloading {}", config_path_);
  ConfigLoadResult loaded = loadConfigFile(config_path_);
  for (const std::string& warning : loaded.warnings) spdlog::warn("{}", warning);
  SidecarConfig& next = loaded.config;
  overrides_.applyTo(next);
  if (loaded.ok() && next.mode == Mode::kHub && !router_) {
    loaded.errors.push_back(config_path_ + ": mode hub needs the hubs to be configured at start; restart the sidecar");
  }
  if (!loaded.ok()) {
    metrics_.reloadFailed();
    spdlog::warn("reload failed: {} problem(s); the running config stays", loaded.errors.size());
    for (const std::string& error : listedProblems(loaded.errors)) spdlog::warn("  {}", error);
    return;
  }
  if (next.metrics != config_.metrics || next.metrics_auth != config_.metrics_auth) {
    spdlog::warn("the metrics address and its basic_auth change only on restart");
  }
  if (next.metrics_push != config_.metrics_push) spdlog::warn("metrics_push changes only on restart");
  if (next.hubs != config_.hubs || next.serve != config_.serve || next.hub != config_.hub) {
    spdlog::warn("changes to hubs, hub_options and serve take effect only on restart; the running ones stay");
  }
  if (next.health != config_.health) spdlog::warn("health.interval_ms changes only on restart");
  if (router_ && next.hubs == config_.hubs && securityFiles(config_) != security_files_) {
    // Same paths, new contents (a rotated certificate): new connections read them, one hub at a
    // time so that open sessions always have a hub to move to.
    spdlog::info("hub certificates or credentials changed: renewing the hub connections one at a time");
    security_files_ = securityFiles(config_);
    router_->hubSet().renewConnections();
  }
  next.health = config_.health;
  next.metrics = config_.metrics;
  next.metrics_auth = config_.metrics_auth;
  next.metrics_push = config_.metrics_push;
  next.hubs = config_.hubs;
  next.serve = config_.serve;
  next.hub = config_.hub;
  if (control_ && control_->applied().generation != 0 && modeName(next.mode) != control_->applied().mode) {
    // The file's mode is where a sidecar starts; once the controller has spoken, it rules.
    spdlog::info("mode stays {} (desired state generation {}), not the file's {}", control_->applied().mode,
                 control_->applied().generation, modeName(next.mode));
    next.mode = config_.mode;
  }
  const SidecarConfig previous = config_;
  config_ = next;  // frontSettings() reads the new proxy tuning
  if (Status status = applyFronts(next); !status) {
    config_ = previous;
    metrics_.reloadFailed();
    spdlog::warn("reload failed: {}; the running config stays", status.message());
    return;
  }
  if (previous.mode != config_.mode) {
    spdlog::warn("mode {} -> {}: new connections take the new path, open ones keep theirs", modeName(previous.mode),
                 modeName(config_.mode));
    metrics_.setMode(modeName(config_.mode));
  }
  context_->budget.setLimit(config_.proxy.buffer_budget_bytes);
  spdlog::set_level(spdlog::level::from_str(config_.log_level));
  reportDirectTargets();
  metrics_.reloadSucceeded();
  spdlog::info("reload ok: {} front(s), mode {}", fronts_.size(), modeName(config_.mode));
}

void SidecarApp::reportDirectTargets() {
  std::vector<std::string> targets;
  for (const FrontConfig& front : config_.fronts) {
    if (front.direct) targets.push_back(front.direct->toString());
  }
  metrics_.readiness().setDirectTargets(targets);
}

void SidecarApp::beginDrain() {
  draining_ = true;
  metrics_.readiness().setDraining();
  size_t open = router_ ? router_->serverSessions() : 0;
  for (auto& [key, front] : fronts_) open += front->activeConnections();
  spdlog::info("draining: stopped accepting; {} connection(s) open, waiting up to {} ms", open,
               config_.proxy.drain_timeout_ms);
  if (router_) router_->setServing(false);
  for (auto& [key, front] : fronts_) retire(front);
  fronts_.clear();
  uv_signal_stop(&sighup_);
  if (drained()) {
    closeAll();
    return;
  }
  drain_deadline_ns_ = uv_hrtime() + static_cast<uint64_t>(config_.proxy.drain_timeout_ms) * 1000000;
  uv_timer_start(&drain_timer_, onDrainTick, kDrainTickMs, kDrainTickMs);
}

void SidecarApp::onDrainTick(uv_timer_t* timer) {
  auto* self = static_cast<SidecarApp*>(timer->data);
  if (self->drained()) {
    self->closeAll();
  } else if (!self->aborted_ && uv_hrtime() >= self->drain_deadline_ns_) {
    spdlog::warn("drain timeout: resetting the connections still open");
    self->abortEverything();
  }
}

void SidecarApp::forceExit() {
  spdlog::warn("second signal: exiting now");
  forced_ = true;
  abortEverything();
  if (drained()) closeAll();
}

void SidecarApp::abortEverything() {
  aborted_ = true;
  for (Front* front : retiring_) front->abortConnections();
  if (heartbeat_) heartbeat_->stop();  // it reads the hubs, which stop next
  if (router_) router_->stop();
}

void SidecarApp::closeAll() {
  if (closed_) return;
  closed_ = true;
  for (auto& [key, front] : fronts_) retire(front);
  fronts_.clear();
  for (uv_handle_t* h : {reinterpret_cast<uv_handle_t*>(&sigterm_), reinterpret_cast<uv_handle_t*>(&sigint_),
                         reinterpret_cast<uv_handle_t*>(&sighup_), reinterpret_cast<uv_handle_t*>(&drain_timer_)}) {
    if (!uv_is_closing(h)) uv_close(h, nullptr);
  }
  health_.reset();  // joins its thread: nothing posts to the executor after this
  if (heartbeat_) heartbeat_->stop();
  if (control_) control_->close();  // joins its threads too
  context_->shutdown();
  if (router_) router_->stop();
  if (executor_) executor_->close();
  trimmer_->close();
  turn_monitor_->close();
}

}  // namespace twinhub
