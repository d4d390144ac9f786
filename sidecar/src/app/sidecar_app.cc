#include "app/sidecar_app.h"

#include <spdlog/spdlog.h>

#include "config/config_loader.h"

namespace twinhub {

namespace {

std::string frontKey(const FrontConfig& front) { return front.listen.toString() + "/" + front.service; }

}  // namespace

SidecarApp::SidecarApp(SidecarConfig config, std::string config_path)
    : config_(std::move(config)), config_path_(std::move(config_path)) {
  uv_loop_init(&loop_);
  context_ = std::make_unique<ProxyContext>(&loop_);
  uv_signal_init(&loop_, &sigterm_);
  uv_signal_init(&loop_, &sigint_);
  uv_signal_init(&loop_, &sighup_);
  uv_timer_init(&loop_, &drain_timer_);
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
  return settings;
}

int SidecarApp::run() {
  if (config_.mode == Mode::kHub) {
    spdlog::error("mode hub is not available in this build yet; use mode direct");
    return 1;
  }
  if (config_.metrics) {
    Status status = metrics_.serve(*config_.metrics);
    if (!status) {
      spdlog::error("{}", status.message());
      return 1;
    }
    spdlog::info("metrics on http://{}/metrics", metrics_.servingAddress()->toString());
  }
  if (Status status = applyFronts(config_); !status) {
    spdlog::error("{}", status.message());
    closeAll();
    return 1;
  }
  uv_signal_start(&sigterm_, onSignal, SIGTERM);
  uv_signal_start(&sigint_, onSignal, SIGINT);
  uv_signal_start(&sighup_, onSignal, SIGHUP);
  spdlog::info("sidecar {} running: mode {}, {} front(s)", config_.id, modeName(config_.mode), fronts_.size());
  uv_run(&loop_, UV_RUN_DEFAULT);
  spdlog::info("exit");
  return forced_ ? 1 : 0;
}

Status SidecarApp::applyFronts(const SidecarConfig& config) {
  std::map<std::string, Front*> next;
  std::vector<Front*> opened;
  std::string errors;
  for (const FrontConfig& fc : config.fronts) {
    const std::string key = frontKey(fc);
    if (auto it = fronts_.find(key); it != fronts_.end()) {
      next[key] = it->second;
      continue;
    }
    auto* front = new Front(*context_, frontSettings(fc), metrics_.frontStats(fc.service));
    front->setOnDrained([this](Front* f) { onFrontDrained(f); });
    opened.push_back(front);
    next[key] = front;
    if (Status status = front->listen(); !status) errors += (errors.empty() ? "" : "; ") + status.message();
  }
  if (!errors.empty()) {
    for (Front* front : opened) retire(front);
    return Status::error(errors);
  }
  for (const FrontConfig& fc : config.fronts) {
    Front* front = next[frontKey(fc)];
    if (std::find(opened.begin(), opened.end(), front) == opened.end()) {
      front->update(frontSettings(fc), metrics_.frontStats(fc.service));
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
  if (draining_ && retiring_.empty()) closeAll();
}

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
  if (loaded.ok() && loaded.config.mode == Mode::kHub) {
    loaded.errors.push_back(config_path_ + ": mode hub is not available in this build yet");
  }
  if (!loaded.ok()) {
    metrics_.reloadFailed();
    spdlog::warn("reload failed: {} problem(s); the running config stays", loaded.errors.size());
    for (const std::string& error : loaded.errors) spdlog::warn("  {}", error);
    return;
  }
  SidecarConfig& next = loaded.config;
  if (next.metrics != config_.metrics) spdlog::warn("the metrics address changes only on restart");
  next.metrics = config_.metrics;
  const SidecarConfig previous = config_;
  config_ = next;  // frontSettings() reads the new proxy tuning
  if (Status status = applyFronts(next); !status) {
    config_ = previous;
    metrics_.reloadFailed();
    spdlog::warn("reload failed: {}; the running config stays", status.message());
    return;
  }
  spdlog::set_level(spdlog::level::from_str(config_.log_level));
  metrics_.reloadSucceeded();
  spdlog::info("reload ok: {} front(s)", fronts_.size());
}

void SidecarApp::beginDrain() {
  draining_ = true;
  size_t open = 0;
  for (auto& [key, front] : fronts_) open += front->activeConnections();
  spdlog::info("draining: stopped accepting; {} connection(s) open, waiting up to {} ms", open,
               config_.proxy.drain_timeout_ms);
  for (auto& [key, front] : fronts_) retire(front);
  fronts_.clear();
  uv_signal_stop(&sighup_);
  if (retiring_.empty()) {
    closeAll();
    return;
  }
  uv_timer_start(&drain_timer_, onDrainTimeout, config_.proxy.drain_timeout_ms, 0);
}

void SidecarApp::onDrainTimeout(uv_timer_t* timer) {
  auto* self = static_cast<SidecarApp*>(timer->data);
  spdlog::warn("drain timeout: resetting the connections still open");
  for (Front* front : self->retiring_) front->abortConnections();
}

void SidecarApp::forceExit() {
  spdlog::warn("second signal: exiting now");
  forced_ = true;
  for (Front* front : retiring_) front->abortConnections();
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
}

}  // namespace twinhub
