// SidecarConfig: the validated contents of a sidecar's YAML file (see DESIGN.md, "Interfaces").
// Plain values produced by config_loader; any thread may read a const copy.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/net_address.h"
#include "common/tuning_defaults.h"
#include "nats_security/hub_security.h"
#include "wire/subjects.h"

namespace twinhub {

enum class Mode { kDirect, kHub };
const char* modeName(Mode mode);

struct HubConfig {
  std::string name;
  std::string url;  // nats://host:port
  // TLS and credentials (docs/security.md); file paths are absolute once loaded (relative ones
  // are taken from the config file's directory).
  nats_security::HubSecurity security;
  bool operator==(const HubConfig&) const = default;
};

enum class ProbeType { kTcp, kZmq, kHttp };

struct ProbeConfig {
  ProbeType type = ProbeType::kTcp;
  NetAddress address;
  std::string http_path = "/";
  uint32_t interval_ms = 500;
  uint32_t timeout_ms = 300;
  uint32_t rise = 2;  // consecutive passes before the agent counts as healthy
  uint32_t fall = 2;  // consecutive failures before it counts as unhealthy
  bool operator==(const ProbeConfig&) const = default;
};

struct ServeConfig {
  std::string service;
  NetAddress address;
  std::optional<ProbeConfig> probe;
  // Sessions served at once (each holds a socket to the agent); 0: sized from the fd limit.
  uint32_t max_sessions = 0;
  bool operator==(const ServeConfig&) const = default;
};

struct FrontConfig {
  NetAddress listen;
  std::string service;
  std::optional<NetAddress> direct;  // where direct mode sends bytes
  uint32_t max_connections = 0;      // filled from proxy defaults when absent
  uint32_t connect_timeout_ms = 0;   // filled from proxy defaults when absent
  std::optional<uint32_t> idle_timeout_ms;  // absent: proxy.idle_timeout_ms
  std::optional<uint32_t> fin_timeout_ms;   // absent: proxy.fin_timeout_ms
};

// Tuning shared by every front unless a front overrides it.
struct ProxyConfig {
  uint32_t connect_timeout_ms = defaults::kConnectTimeoutMs;
  uint32_t drain_timeout_ms = 30000;
  uint32_t max_connections = 4096;
  // Memory queued toward a slow peer (64 KiB per queued read) at which reading from the fast side
  // pauses, and the level at which it resumes. 128/32 KiB: two buffers, then wait until the socket
  // took them. A client that sends and never reads (echo agent) cost 1958 KiB at 1 MiB/256 KiB,
  // 245 KiB at these, 130 KiB at 64/16 KiB (haproxy: 35 KiB); bulk echo MB/s stayed within noise
  // of each other and of haproxy (1.09, 0.99, 1.10 x haproxy; bench/stuck_memory.sh, bench/run.sh
  // WATERMARKS, 2026-11-30): on loopback and LANs the kernel's socket buffers do the buffering.
  uint32_t high_watermark = 128 * 1024;
  uint32_t low_watermark = 32 * 1024;
  // No byte either way for this long: close (haproxy's timeout client/server); 0: never.
  uint32_t idle_timeout_ms = defaults::kIdleTimeoutMs;
  // One side sent FIN and no byte moved for this long: close (haproxy's client-fin); 0: never.
  uint32_t fin_timeout_ms = defaults::kFinTimeoutMs;
  // Memory in send queues across all connections over which connections stop reading; 0: no limit.
  uint32_t buffer_budget_bytes = 256u << 20;
};

// Hub connections and sessions (mode hub); defaults suit hubs on a LAN.
// What each key means, and why its default: common/tuning_defaults.h.
struct HubTuning {
  uint32_t ping_interval_ms = defaults::kPingIntervalMs;
  uint32_t max_pings_out = defaults::kMaxPingsOut;
  uint32_t probe_interval_ms = defaults::kProbeIntervalMs;
  uint32_t suspect_after_ms = defaults::kSuspectAfterMs;
  uint32_t failback_hold_ms = defaults::kFailbackHoldMs;
  uint32_t window_bytes = defaults::kWindowBytes;
  uint32_t open_timeout_ms = defaults::kOpenTimeoutMs;
  std::string subject_prefix = std::string(wire::kDefaultPrefix);
  bool operator==(const HubTuning&) const = default;
};

// Heartbeats (docs/health.md): published through every connected hub when hubs are configured.
struct HealthTuning {
  uint32_t interval_ms = 500;
  bool operator==(const HealthTuning&) const = default;
};

// HTTP basic auth: the user and the password read from `password_file` when the config is
// loaded (one trailing newline dropped). The password is never logged.
struct BasicAuthConfig {
  std::string user;
  std::string password_file;
  std::string password;
  bool operator==(const BasicAuthConfig&) const = default;
};

// `metrics_push:` pushing the sidecar's registry to a Prometheus Pushgateway (metrics_push/).
struct MetricsPushConfig {
  std::string url;  // http(s)://host:port[/prefix], no trailing '/'
  std::string job = "twinhub_sidecar";
  uint32_t interval_ms = 10000;
  uint32_t timeout_ms = 2000;
  bool delete_on_exit = false;  // on_exit: push (default) | delete
  std::optional<BasicAuthConfig> basic_auth;
  bool operator==(const MetricsPushConfig&) const = default;
};

struct SidecarConfig {
  std::string id;
  std::string machine;
  std::string state_dir;
  std::string log_level = "info";
  Mode mode = Mode::kDirect;
  std::vector<HubConfig> hubs;
  std::optional<ServeConfig> serve;
  std::vector<FrontConfig> fronts;
  std::optional<NetAddress> metrics;            // `metrics: ADDR` or `metrics: {listen: ADDR, ...}`
  std::optional<BasicAuthConfig> metrics_auth;  // `metrics: {basic_auth: ...}`: on /metrics only
  std::optional<MetricsPushConfig> metrics_push;
  ProxyConfig proxy;
  HubTuning hub;
  HealthTuning health;
};

// Settings given on the command line. They win over the file's, at start and after every reload
// (an operator who started a sidecar with --log-level debug keeps debug through a SIGHUP).
struct ConfigOverrides {
  std::optional<std::string> log_level;
  std::optional<uint32_t> drain_timeout_ms;

  void applyTo(SidecarConfig& config) const {
    if (log_level) config.log_level = *log_level;
    if (drain_timeout_ms) config.proxy.drain_timeout_ms = *drain_timeout_ms;
  }
};

}  // namespace twinhub
