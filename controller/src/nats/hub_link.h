// HubLink: twinhubctl's connection to one hub, with cnats in its ordinary threaded mode (the
// controller has no event loop). Messages of its subscriptions are copied into a shared Inbox
// that the command's thread drains. A prober thread flushes the connection every probe interval:
// a flush that times out while cnats still calls the connection open means a frozen hub
// (SIGSTOP); a connection cnats reports closed or reconnecting means a down one.
//
// state() and publish() may be called from any thread; construct and destroy on one thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "health/fleet_detector.h"
#include "nats_security/hub_security.h"

typedef struct __natsConnection natsConnection;
typedef struct __natsSubscription natsSubscription;

namespace twinhub::ctl {

struct HubAddress {
  std::string name;
  std::string url;
  nats_security::HubSecurity security;  // TLS and credentials (docs/security.md)
};

// One message received on some hub's connection.
struct Received {
  size_t hub = 0;
  std::string subject;
  std::string data;
  int64_t received_at_ms = 0;  // wall clock, taken on cnats's delivery thread
};

// Bounded queue (messages and bytes) between cnats's delivery threads and the command's thread:
// a peer flooding the health subjects costs dropped messages, not memory.
class Inbox {
 public:
  explicit Inbox(size_t capacity = 65536, size_t capacity_bytes = 64 * 1024 * 1024)
      : capacity_(capacity), capacity_bytes_(capacity_bytes) {}
  void push(Received&& message);  // drops (and counts) beyond either capacity
  // Moves everything queued into *out, waiting up to timeout_ms for the first message.
  void take(std::vector<Received>* out, int timeout_ms);
  uint64_t dropped() const { return dropped_.load(); }

 private:
  const size_t capacity_;
  const size_t capacity_bytes_;
  size_t bytes_ = 0;  // guarded by mutex_
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<Received> queue_;
  std::atomic<uint64_t> dropped_{0};
};

struct HubLinkOptions {
  int probe_interval_ms = 100;
  int flush_timeout_ms = 400;   // no PONG within this: frozen
  int ping_interval_ms = 1000;  // cnats's own pings: it drops a frozen hub after ~3 of these
  int connect_timeout_ms = 500;
};

class HubLink {
 public:
  HubLink(size_t index, HubAddress address, Inbox& inbox, HubLinkOptions options = {});
  ~HubLink();
  HubLink(const HubLink&) = delete;
  HubLink& operator=(const HubLink&) = delete;

  // Run on the prober thread while the link is up, until it returns true (retried every
  // kSetupRetryMs): blocking set-up such as creating a stream. Set before start().
  void setOnUp(std::function<bool(natsConnection*)> on_up) { on_up_ = std::move(on_up); }
  // Connects (retrying in the background when the hub is not there yet) and subscribes.
  void start(const std::vector<std::string>& subjects);
  // For blocking reads outside the prober (e.g. history before the aggregator's loop starts).
  natsConnection* connection() const { return connection_; }
  const HubAddress& address() const { return address_; }
  LinkState state() const { return state_.load(); }
  std::string detail() const;
  // Publishes only while the link is up (a frozen hub would hold the data); false otherwise.
  // A non-empty `msg_id` goes in the Nats-Msg-Id header (JetStream drops duplicates by it).
  bool publish(const std::string& subject, const std::string& data, const std::string& msg_id = "");

  struct Context;  // what cnats's callbacks reach
  void markDown(const std::string& detail);  // cnats's callback thread

 private:
  static constexpr int64_t kSetupRetryMs = 5000;
  void probeLoop();
  void runSetup();
  void setState(LinkState state, const std::string& detail);

  const size_t index_;
  const HubAddress address_;
  const HubLinkOptions options_;
  Context* context_;
  natsConnection* connection_ = nullptr;
  std::vector<natsSubscription*> subscriptions_;
  std::atomic<LinkState> state_{LinkState::kUnknown};
  mutable std::mutex detail_mutex_;
  std::string detail_;
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  bool stopping_ = false;
  std::thread prober_;
  std::function<bool(natsConnection*)> on_up_;
  int64_t next_setup_ms_ = 0;  // prober thread
};

// Parses "NAME=URL" (the --hub option); returns "" or the problem.
std::string parseHubAddress(const std::string& text, HubAddress* out);

// Frees what destroyed HubLinks left for cnats's threads; call once, after nats_CloseAndWait().
void releaseRetiredHubLinks();

}  // namespace twinhub::ctl
