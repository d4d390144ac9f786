#include "health/health_checker.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <zmq.hpp>

namespace twinhub {

HealthChecker::HealthChecker(ProbeConfig config, OnChange on_change)
    : config_(std::move(config)), on_change_(std::move(on_change)) {
  if (config_.type == ProbeType::kZmq) zmq_context_ = std::make_unique<zmq::context_t>(1);
}

HealthChecker::~HealthChecker() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  // A zmq probe blocked in recv returns ETERM at once; its socket closes (linger 0) before join.
  if (zmq_context_) zmq_context_->shutdown();
  if (thread_.joinable()) thread_.join();
}

void HealthChecker::start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { run(); });
}

ProbeResult HealthChecker::probeOnce() {
  std::chrono::milliseconds timeout(config_.timeout_ms);
  switch (config_.type) {
    case ProbeType::kTcp:
      return probeTcp(config_.address, timeout);
    case ProbeType::kHttp:
      return probeHttp(config_.address, config_.http_path, timeout);
    case ProbeType::kZmq:
      return probeZmq(config_.address, timeout, *zmq_context_);
  }
  return {false, "unknown probe type"};
}

bool HealthChecker::apply(bool ok) {
  if (ok) {
    ++passes_in_a_row_;
    failures_in_a_row_ = 0;
  } else {
    ++failures_in_a_row_;
    passes_in_a_row_ = 0;
  }
  bool was = healthy_.load(std::memory_order_relaxed);
  bool now = was;
  if (!has_result_) {
    // Nothing to smooth yet: the first result is the best information there is.
    has_result_ = true;
    now = ok;
  } else if (!was && passes_in_a_row_ >= std::max<uint32_t>(config_.rise, 1)) {
    now = true;
  } else if (was && failures_in_a_row_ >= std::max<uint32_t>(config_.fall, 1)) {
    now = false;
  } else {
    return false;
  }
  healthy_.store(now, std::memory_order_release);
  return true;
}

HealthChecker::Sample HealthChecker::lastSample() const {
  std::lock_guard<std::mutex> lock(sample_mutex_);
  return sample_;
}

void HealthChecker::recordSample(double latency_ms, const ProbeResult& result) {
  std::lock_guard<std::mutex> lock(sample_mutex_);
  sample_.latency_ms = latency_ms;
  if (!result.ok) sample_.last_error = result.detail;
}

void HealthChecker::run() {
  using Clock = std::chrono::steady_clock;
  const std::chrono::milliseconds interval(config_.interval_ms);
  while (true) {
    // Intervals run from one probe's start to the next, so a slow agent does not stretch them; a
    // probe that overran its interval is followed at once, without catching up on missed ones.
    auto next = Clock::now() + interval;
    const auto probe_start = Clock::now();
    ProbeResult result = probeOnce();
    recordSample(std::chrono::duration<double, std::milli>(Clock::now() - probe_start).count(), result);

    // Held across on_change so that no call starts once the destructor has begun; the destructor
    // is the only other user of this mutex, and it waits for the thread anyway.
    std::unique_lock<std::mutex> lock(mutex_);
    if (stopping_) return;
    bool changed = apply(result.ok);
    probes_run_.fetch_add(1, std::memory_order_acq_rel);
    if (changed && on_change_) on_change_(healthy_.load(std::memory_order_relaxed), result.detail);
    if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
  }
}

}  // namespace twinhub
