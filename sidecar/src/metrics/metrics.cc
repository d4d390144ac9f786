#include "metrics/metrics.h"

#include "metrics/probe_endpoints.h"
#include "metrics_push/metrics_pusher.h"

#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

namespace twinhub {

using prometheus::BuildCounter;
using prometheus::BuildGauge;
using prometheus::BuildHistogram;

namespace {

// 50 µs .. 5 s: loopback turns are tens of microseconds, remote agents take seconds.
prometheus::Histogram::BucketBoundaries latencyBuckets() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
}

}  // namespace

struct Metrics::Families {
  explicit Families(prometheus::Registry& r)
      : connections(BuildCounter().Name("twinhub_front_connections_total").Help("Client connections accepted by a front").Register(r)),
        active(BuildGauge().Name("twinhub_front_connections_active").Help("Client connections open now").Register(r)),
        rejected(BuildCounter().Name("twinhub_front_connections_rejected_total").Help("Client connections accepted and closed at once, by reason (max_connections, fd_limit)").Register(r)),
        bytes(BuildCounter().Name("twinhub_front_bytes_total").Help("Bytes carried; direction upstream is client to agent").Register(r)),
        connect_failures(BuildCounter().Name("twinhub_upstream_connect_failures_total").Help("Failed or timed-out connects to the agent").Register(r)),
        connect_duration(BuildHistogram().Name("twinhub_upstream_connect_duration_seconds").Help("Time to connect to the agent").Register(r)),
        turn_duration(BuildHistogram().Name("twinhub_turn_duration_seconds").Help("A request's first byte to the first byte of its answer").Register(r)),
        read_paused(BuildCounter().Name("twinhub_front_read_paused_total").Help("Times reading stopped because the other side was slow (backpressure)").Register(r)),
        closed(BuildCounter().Name("twinhub_front_connections_closed_total").Help("Client connections ended, by reason (done, error, connect_failed, idle_timeout, fin_timeout, aborted)").Register(r)),
        budget_used(BuildGauge().Name("twinhub_buffer_budget_used_bytes").Help("Memory held in send queues across all connections").Register(r).Add({})),
        budget_limit(BuildGauge().Name("twinhub_buffer_budget_limit_bytes").Help("proxy.buffer_budget_bytes (0: no limit)").Register(r).Add({})),
        budget_paused(BuildCounter().Name("twinhub_buffer_budget_paused_total").Help("Times a connection stopped reading because the buffer budget was exhausted").Register(r).Add({})),
        loop_turn_longest(BuildGauge().Name("twinhub_loop_turn_longest_seconds").Help("The event loop's longest turn since start, busy time only: how long every socket, timer and hub message waited at worst").Register(r).Add({})),
        loop_turns_slow(BuildCounter().Name("twinhub_loop_turns_slow_total").Help("Event loop turns busy for more than 50 ms").Register(r).Add({})),
        reloads(BuildCounter().Name("twinhub_config_reloads_total").Help("Config reloads by result").Register(r)),
        reloads_ok(reloads.Add({{"result", "ok"}})),
        reloads_failed(reloads.Add({{"result", "failed"}})),
        mode(BuildGauge().Name("twinhub_mode").Help("1 for the mode new connections take (direct or hub)").Register(r)),
        hub_state(BuildGauge().Name("twinhub_hub_state").Help("Hub state: 0 down, 1 suspect (probes not answered), 2 up").Register(r)),
        hub_active(BuildGauge().Name("twinhub_hub_active").Help("1 for the hub that carries new session frames").Register(r)),
        failovers(BuildCounter().Name("twinhub_hub_failovers_total").Help("Moves of all sessions from one hub to another").Register(r)),
        detection(BuildHistogram().Name("twinhub_hub_detection_seconds").Help("Last sign of life of a hub to the decision that it is lost").Register(r)),
        sessions(BuildCounter().Name("twinhub_sessions_total").Help("Hub sessions opened, by end (client or server)").Register(r)),
        sessions_active(BuildGauge().Name("twinhub_sessions_active").Help("Hub sessions open now").Register(r)),
        open_failures(BuildCounter().Name("twinhub_session_open_failures_total").Help("Sessions that could not open, by reason").Register(r)),
        open_duration(BuildHistogram().Name("twinhub_session_open_duration_seconds").Help("OPEN sent to OPEN_OK received").Register(r)),
        resent_frames(BuildCounter().Name("twinhub_session_resent_frames_total").Help("Frames sent again after a hub change or timeout").Register(r)),
        resent_bytes(BuildCounter().Name("twinhub_session_resent_bytes_total").Help("Payload bytes sent again after a hub change or timeout").Register(r)),
        frames_dropped(BuildCounter().Name("twinhub_frames_dropped_total").Help("Frames dropped, by reason (malformed, duplicate, out_of_order, unknown_session, late, ended_session, bad_subject)").Register(r)),
        opens_refused(BuildCounter().Name("twinhub_session_opens_refused_total").Help("OPENs this sidecar refused as a server, by reason (capacity, fd_limit, not_serving)").Register(r)),
        sessions_closed_by(BuildCounter().Name("twinhub_sessions_closed_total").Help("Hub sessions ended by a timeout or the peer, by reason (idle_timeout, fin_timeout, peer_timeout, peer_reset)").Register(r)),
        desired_changes(BuildCounter().Name("twinhub_desired_state_changes_total").Help("Desired state changes applied, by action (apply, confirm, revert: a provisional flip not confirmed by its deadline, expired: arrived after its deadline)").Register(r)),
        applied_generation(BuildGauge().Name("twinhub_applied_generation").Help("The desired state generation this sidecar applied (0: none, the config's mode)").Register(r)),
        hub_recreated(BuildCounter().Name("twinhub_hub_connections_recreated_total").Help("Hub connections made anew after the client library closed them for good (a server error, a protocol error)").Register(r)) {}

  prometheus::Family<prometheus::Counter>& connections;
  prometheus::Family<prometheus::Gauge>& active;
  prometheus::Family<prometheus::Counter>& rejected;
  prometheus::Family<prometheus::Counter>& bytes;
  prometheus::Family<prometheus::Counter>& connect_failures;
  prometheus::Family<prometheus::Histogram>& connect_duration;
  prometheus::Family<prometheus::Histogram>& turn_duration;
  prometheus::Family<prometheus::Counter>& read_paused;
  prometheus::Family<prometheus::Counter>& closed;
  prometheus::Gauge& budget_used;
  prometheus::Gauge& budget_limit;
  prometheus::Counter& budget_paused;
  prometheus::Gauge& loop_turn_longest;
  prometheus::Counter& loop_turns_slow;
  prometheus::Family<prometheus::Counter>& reloads;
  prometheus::Counter& reloads_ok;
  prometheus::Counter& reloads_failed;
  prometheus::Family<prometheus::Gauge>& mode;
  prometheus::Family<prometheus::Gauge>& hub_state;
  prometheus::Family<prometheus::Gauge>& hub_active;
  prometheus::Family<prometheus::Counter>& failovers;
  prometheus::Family<prometheus::Histogram>& detection;
  prometheus::Family<prometheus::Counter>& sessions;
  prometheus::Family<prometheus::Gauge>& sessions_active;
  prometheus::Family<prometheus::Counter>& open_failures;
  prometheus::Family<prometheus::Histogram>& open_duration;
  prometheus::Family<prometheus::Counter>& resent_frames;
  prometheus::Family<prometheus::Counter>& resent_bytes;
  prometheus::Family<prometheus::Counter>& frames_dropped;
  prometheus::Family<prometheus::Counter>& opens_refused;
  prometheus::Family<prometheus::Counter>& sessions_closed_by;
  prometheus::Family<prometheus::Counter>& desired_changes;
  prometheus::Family<prometheus::Gauge>& applied_generation;
  prometheus::Family<prometheus::Counter>& hub_recreated;
};

namespace {

// One counter per close reason, looked up once per front.
using ClosedCounters = std::array<prometheus::Counter*, kCloseReasonCount>;

class PrometheusFrontStats : public FrontStats {
 public:
  PrometheusFrontStats(prometheus::Counter& connections, prometheus::Gauge& active,
                       std::array<prometheus::Counter*, kRefusalReasons> rejected, prometheus::Counter& bytes_up, prometheus::Counter& bytes_down,
                       prometheus::Counter& connect_failures, prometheus::Histogram& connect_duration,
                       prometheus::Histogram& turn_duration, prometheus::Counter& read_paused, ClosedCounters closed)
      : connections_(connections),
        active_(active),
        rejected_(rejected),
        bytes_up_(bytes_up),
        bytes_down_(bytes_down),
        connect_failures_(connect_failures),
        connect_duration_(connect_duration),
        turn_duration_(turn_duration),
        read_paused_(read_paused),
        closed_(closed) {}

  void connectionOpened() override {
    connections_.Increment();
    active_.Increment();
  }
  void connectionClosed() override { active_.Decrement(); }
  void connectionRejected(RefusalReason reason) override { rejected_[static_cast<size_t>(reason)]->Increment(); }
  void connectionEnded(CloseReason reason) override { closed_[static_cast<size_t>(reason)]->Increment(); }
  void bytesUpstream(size_t bytes) override { bytes_up_.Increment(static_cast<double>(bytes)); }
  void bytesDownstream(size_t bytes) override { bytes_down_.Increment(static_cast<double>(bytes)); }
  void upstreamConnected(double seconds) override { connect_duration_.Observe(seconds); }
  void upstreamConnectFailed() override { connect_failures_.Increment(); }
  void turnCompleted(double seconds) override { turn_duration_.Observe(seconds); }
  void readingPaused() override { read_paused_.Increment(); }

 private:
  prometheus::Counter& connections_;
  prometheus::Gauge& active_;
  std::array<prometheus::Counter*, kRefusalReasons> rejected_;
  prometheus::Counter& bytes_up_;
  prometheus::Counter& bytes_down_;
  prometheus::Counter& connect_failures_;
  prometheus::Histogram& connect_duration_;
  prometheus::Histogram& turn_duration_;
  prometheus::Counter& read_paused_;
  ClosedCounters closed_;
};

class PrometheusBudgetStats : public BudgetStats {
 public:
  explicit PrometheusBudgetStats(Metrics::Families& f) : f_(f) {}
  void budgetUsed(size_t bytes) override { f_.budget_used.Set(static_cast<double>(bytes)); }
  void budgetLimit(size_t bytes) override { f_.budget_limit.Set(static_cast<double>(bytes)); }
  void budgetPaused() override { f_.budget_paused.Increment(); }

 private:
  Metrics::Families& f_;
};

const char* roleName(SessionRole role) { return role == SessionRole::kClient ? "client" : "server"; }

class PrometheusHubStats : public HubStats {
 public:
  PrometheusHubStats(Metrics::Families& f, ReadinessState& readiness) : f_(f), readiness_(readiness) {}
  void hubState(const std::string& hub, HubState state) override {
    f_.hub_state.Add({{"hub", hub}}).Set(static_cast<double>(state));
    f_.hub_recreated.Add({{"hub", hub}});  // at 0 from the hub's first state on (see Metrics())
    {
      // Failovers between every pair of hubs seen so far, at 0 (the failover storm rule counts
      // the first one too).
      std::lock_guard<std::mutex> lock(hubs_mutex_);
      if (std::find(hubs_.begin(), hubs_.end(), hub) == hubs_.end()) {
        for (const std::string& other : hubs_) {
          f_.failovers.Add({{"from", other}, {"to", hub}});
          f_.failovers.Add({{"from", hub}, {"to", other}});
        }
        hubs_.push_back(hub);
      }
    }
    readiness_.setHubState(hub, state);
  }
  void activeHub(const std::string& hub, bool active) override { f_.hub_active.Add({{"hub", hub}}).Set(active ? 1 : 0); }
  void failover(const std::string& from, const std::string& to) override {
    f_.failovers.Add({{"from", from}, {"to", to}}).Increment();
  }
  void hubDetection(double seconds) override { f_.detection.Add({}, latencyBuckets()).Observe(seconds); }
  void sessionOpened(SessionRole role) override {
    f_.sessions.Add({{"role", roleName(role)}}).Increment();
    f_.sessions_active.Add({{"role", roleName(role)}}).Increment();
  }
  void sessionClosed(SessionRole role) override { f_.sessions_active.Add({{"role", roleName(role)}}).Decrement(); }
  void sessionOpenFailed(const std::string& reason) override { f_.open_failures.Add({{"reason", reason}}).Increment(); }
  void sessionOpenLatency(double seconds) override { f_.open_duration.Add({}, latencyBuckets()).Observe(seconds); }
  void framesResent(size_t frames, size_t bytes) override {
    f_.resent_frames.Add({}).Increment(static_cast<double>(frames));
    f_.resent_bytes.Add({}).Increment(static_cast<double>(bytes));
  }
  void frameDropped(const std::string& reason) override { f_.frames_dropped.Add({{"reason", reason}}).Increment(); }
  void openRefused(const std::string& reason) override { f_.opens_refused.Add({{"reason", reason}}).Increment(); }
  void sessionClosedBy(const std::string& reason) override {
    f_.sessions_closed_by.Add({{"reason", reason}}).Increment();
  }
  void hubConnectionRecreated(const std::string& hub) override { f_.hub_recreated.Add({{"hub", hub}}).Increment(); }

 private:
  Metrics::Families& f_;
  ReadinessState& readiness_;
  std::mutex hubs_mutex_;
  std::vector<std::string> hubs_;
};

}  // namespace

Metrics::Metrics()
    : registry_(std::make_shared<prometheus::Registry>()),
      families_(std::make_unique<Families>(*registry_)),
      readiness_(std::make_shared<ReadinessState>()),
      hub_stats_(std::make_unique<PrometheusHubStats>(*families_, *readiness_)),
      budget_stats_(std::make_unique<PrometheusBudgetStats>(*families_)) {
  // The series whose labels are known up front exist from the start at 0: a family without any
  // series is not on /metrics at all, and increase() or rate() miss the first event of a counter
  // that appears with it (the alert rules in deploy/prometheus count on this).
  Families& f = *families_;
  for (const char* role : {"client", "server"}) {
    f.sessions.Add({{"role", role}});
    f.sessions_active.Add({{"role", role}});
  }
  for (const char* reason : {"no_hub", "refused", "no_server", "timeout"}) f.open_failures.Add({{"reason", reason}});
  for (const char* reason : {"capacity", "fd_limit", "not_serving"}) f.opens_refused.Add({{"reason", reason}});
  for (const char* reason :
       {"malformed", "duplicate", "out_of_order", "unknown_session", "late", "ended_session", "bad_subject"}) {
    f.frames_dropped.Add({{"reason", reason}});
  }
  for (const char* action : {"apply", "confirm", "revert", "expired"}) f.desired_changes.Add({{"action", action}});
  f.open_duration.Add({}, latencyBuckets());
  f.detection.Add({}, latencyBuckets());
  f.resent_frames.Add({});
  f.resent_bytes.Add({});
}

HubStats& Metrics::hubStats() { return *hub_stats_; }
BudgetStats& Metrics::budgetStats() { return *budget_stats_; }
void Metrics::loopTurnLongest(double seconds) { families_->loop_turn_longest.Set(seconds); }
void Metrics::loopTurnSlow() { families_->loop_turns_slow.Increment(); }

void Metrics::setMode(const std::string& mode) {
  families_->mode.Add({{"mode", "direct"}}).Set(mode == "direct" ? 1 : 0);
  families_->mode.Add({{"mode", "hub"}}).Set(mode == "hub" ? 1 : 0);
  readiness_->setMode(mode);
}

namespace {

// Opens and closes a TCP connection to `address` (its loopback twin when it is a wildcard).
void poke(const NetAddress& address) {
  const std::string port = std::to_string(address.port());
  auto target = NetAddress::parse((address.isV6() ? "[::1]:" : "127.0.0.1:") + port, nullptr);
  int fd = ::socket(address.isV6() ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0 || !target) return;
  ::connect(fd, target->sockaddrPtr(), address.isV6() ? sizeof(sockaddr_in6) : sizeof(sockaddr_in));
  ::close(fd);
}

}  // namespace

Metrics::~Metrics() {
  stopPush();
  if (!exposer_) return;
  // civetweb's stop waits for its listener's poll() to time out (2 s); a connection wakes it, so
  // the sidecar exits promptly.
  std::atomic<bool> stopped{false};
  std::thread stopper([&] {
    exposer_.reset();
    stopped = true;
  });
  while (!stopped) {
    if (serving_) poke(*serving_);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  stopper.join();
}

namespace {

// Compares without stopping at the first difference, so the answer's timing does not tell how
// much of a guess was right.
bool sameSecret(const std::string& given, const std::string& expected) {
  if (expected.empty()) return given.empty();
  unsigned char diff = given.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i) diff |= static_cast<unsigned char>(given[i] ^ expected[i % expected.size()]);
  return diff == 0;
}

}  // namespace

Status Metrics::serve(const NetAddress& address, const std::optional<BasicAuthConfig>& auth) {
  try {
    // One serving thread: scrapes are rare and each thread costs memory.
    probes_ = std::make_unique<ProbeEndpoints>(readiness_);
    exposer_ = std::make_unique<prometheus::Exposer>(address.toString(), 1, probes_->callbacks());
  } catch (const std::exception& e) {
    return Status::error("metrics " + address.toString() + ": " + e.what());
  }
  if (auth) {
    // Before the registry: /metrics never answers with series unauthenticated. /healthz and
    // /readyz are answered earlier (civetweb's begin_request), so they stay open.
    exposer_->RegisterAuth(
        [user = auth->user, password = auth->password](const std::string& u, const std::string& p) {
          const bool user_ok = sameSecret(u, user);
          const bool password_ok = sameSecret(p, password);
          return user_ok && password_ok;
        },
        "twinhub");
  }
  exposer_->RegisterCollectable(registry_);
  NetAddress bound = address;
  auto ports = exposer_->GetListeningPorts();
  if (!ports.empty()) {
    std::string host = address.toString();
    host = host.substr(0, host.rfind(':'));
    std::string error;
    if (auto parsed = NetAddress::parse(host + ":" + std::to_string(ports.front()), &error)) bound = *parsed;
  }
  probes_->bind(bound.port());
  serving_ = bound;
  return Status::ok();
}

std::shared_ptr<FrontStats> Metrics::frontStats(const std::string& service) {
  const prometheus::Labels labels{{"service", service}};
  auto with = [&](const char* key, const char* value) {
    prometheus::Labels l = labels;
    l[key] = value;
    return l;
  };
  Families& f = *families_;
  ClosedCounters closed{};
  for (size_t i = 0; i < kCloseReasonCount; ++i) {
    closed[i] = &f.closed.Add(with("reason", closeReasonName(static_cast<CloseReason>(i))));
  }
  return std::make_shared<PrometheusFrontStats>(
      f.connections.Add(labels), f.active.Add(labels),
      std::array<prometheus::Counter*, kRefusalReasons>{&f.rejected.Add(with("reason", "max_connections")),
                                                         &f.rejected.Add(with("reason", "fd_limit"))},
      f.bytes.Add(with("direction", "upstream")),
      f.bytes.Add(with("direction", "downstream")), f.connect_failures.Add(labels),
      f.connect_duration.Add(labels, latencyBuckets()), f.turn_duration.Add(labels, latencyBuckets()),
      f.read_paused.Add(labels), closed);
}

void Metrics::desiredStateChanged(const std::string& action, uint64_t generation) {
  families_->desired_changes.Add({{"action", action}}).Increment();
  setAppliedGeneration(generation);
}

void Metrics::setAppliedGeneration(uint64_t generation) {
  families_->applied_generation.Add({}).Set(static_cast<double>(generation));
}

void Metrics::startPush(const MetricsPushConfig& push, const std::string& instance, const std::string& machine) {
  if (pusher_) return;
  PushTarget target;
  target.url = push.url;
  target.job = push.job;
  target.grouping = {{"instance", instance}, {"machine", machine}};
  target.interval_ms = push.interval_ms;
  target.timeout_ms = push.timeout_ms;
  target.delete_on_exit = push.delete_on_exit;
  if (push.basic_auth) {
    target.user = push.basic_auth->user;
    target.password = push.basic_auth->password;
  }
  pusher_ = std::make_unique<MetricsPusher>(std::move(target), registry_, [](MetricsPusher::Level level, const std::string& line) {
    spdlog::log(level == MetricsPusher::Level::kWarn ? spdlog::level::warn : spdlog::level::info, "{}", line);
  });
  spdlog::info("metrics push to {} every {} ms", pusher_->groupUrl(), push.interval_ms);
  pusher_->start();
}

void Metrics::stopPush() {
  if (pusher_) pusher_->stop();
}

void Metrics::reloadSucceeded() { families_->reloads_ok.Increment(); }
void Metrics::reloadFailed() { families_->reloads_failed.Increment(); }

}  // namespace twinhub
