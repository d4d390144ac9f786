// HubSet: the sidecar's connections to every configured hub, and what each hub's state is: down
// (no connection), suspect (connected, but its echo probes stopped coming back: a frozen hub) or
// up. It probes every connected hub, turns probes and connection events into states, and lets its
// FailoverPolicy pick the hub that carries sessions.
//
// Loop thread only.
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/loop_executor.h"
#include "common/tuning_defaults.h"
#include "hub/failover_policy.h"
#include "hub/hub_client.h"
#include "hub/hub_stats.h"

namespace twinhub {

struct HubSetOptions {
  std::string inbox;                 // this sidecar's inbox; probes go under it
  uint32_t probe_interval_ms = defaults::kProbeIntervalMs;
  uint32_t suspect_after_ms = defaults::kSuspectAfterMs;
  uint32_t failback_hold_ms = defaults::kFailbackHoldMs;
};

class HubSetListener {
 public:
  // The hub that carries sessions changed (nullopt: none is usable).
  virtual void onActiveHubChanged(std::optional<size_t> hub) = 0;
  virtual void onHubMessage(size_t hub, HubMessage&& message) = 0;

 protected:
  ~HubSetListener() = default;
};

class HubSet : public HubClientListener {
 public:
  HubSet(uv_loop_t* loop, LoopExecutor& executor, std::vector<HubOptions> hubs, HubSetOptions options,
         HubSetListener& listener, HubStats& stats);
  ~HubSet();
  HubSet(const HubSet&) = delete;
  HubSet& operator=(const HubSet&) = delete;

  void start();
  // Closes the probe timer and every hub connection (blocks briefly while cnats shuts down).
  void stop();

  size_t size() const { return hubs_.size(); }
  const std::string& name(size_t hub) const { return hubs_[hub].client->options().name; }
  HubState state(size_t hub) const { return policy_.state(hub); }
  std::optional<size_t> active() const { return policy_.active(); }

  // Through the active hub; false when no hub is usable.
  bool publish(const std::string& subject, const std::string& reply, std::string_view data);
  // Through one given hub, only while it is up (heartbeats go through every hub); false otherwise.
  bool publishOn(size_t hub, const std::string& subject, std::string_view data);
  // On every hub (subscriptions are per connection; queue groups make delivery once); `statuses`
  // as in HubClient::subscribe.
  void subscribeAll(int tag, const std::string& subject, const std::string& queue, bool statuses = false);
  void unsubscribeAll(int tag);
  // Renews every hub connection, one hub at a time: the next only once the renewed one is up
  // again, so sessions always have a hub and a bad new certificate costs one hub, not all.
  void renewConnections();

  // HubClientListener
  void onHubConnected(size_t hub) override;
  void onHubDisconnected(size_t hub) override;
  void onHubRecreating(size_t hub, const std::string& why) override;
  void onHubMessage(size_t hub, HubMessage&& message) override;

 private:
  struct Hub {
    std::unique_ptr<HubClient> client;
    std::string probe_subject;
    bool connected = false;
    uint64_t last_echo_ns = 0;
  };

  static void onTick(uv_timer_t* timer);
  void tick();
  void setState(size_t hub, HubState state, uint64_t now);
  void evaluate(uint64_t now);
  void startRenewal();

  uv_timer_t timer_;
  std::vector<Hub> hubs_;
  HubSetOptions options_;
  HubSetListener& listener_;
  HubStats& stats_;
  FailoverPolicy policy_;
  LoopThreadCheck loop_thread_;
  std::vector<size_t> renewals_;  // hubs still to renew; the front one is being renewed
  bool renewal_went_down_ = false;  // the front one's old connection is gone
  bool stopped_ = false;
};

}  // namespace twinhub
