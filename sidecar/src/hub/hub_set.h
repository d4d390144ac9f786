// HubSet: the sidecar's connections to every configured hub and the choice of the hub that
// carries sessions. Each hub has a state: down (no connection), suspect (connected, but its
// echo probes stopped coming back: a frozen hub) or up. The active hub is the first hub in config
// order that is up; a more preferred hub that has failed before must stay up for the hold-down
// period before traffic moves back to it, so a flapping hub does not bounce sessions.
//
// Loop thread only (messages and events from cnats arrive through the LoopExecutor).
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/loop_executor.h"
#include "hub/hub_client.h"
#include "hub/hub_stats.h"

namespace twinhub {

struct HubSetOptions {
  std::string inbox;                 // this sidecar's inbox; probes go under it
  uint32_t probe_interval_ms = 100;  // echo probe through each hub
  uint32_t suspect_after_ms = 350;   // no echo for this long: the hub is suspect
  uint32_t failback_hold_ms = 5000;  // a recovered preferred hub must stay up this long
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
         HubSetListener& listener, HubStats& stats, HubMessageInspector* inspector = nullptr);
  ~HubSet();
  HubSet(const HubSet&) = delete;
  HubSet& operator=(const HubSet&) = delete;

  void start();
  // Closes the probe timer and every hub connection (blocks briefly while cnats shuts down).
  void stop();

  size_t size() const { return hubs_.size(); }
  const std::string& name(size_t hub) const { return hubs_[hub].client->options().name; }
  HubState state(size_t hub) const { return hubs_[hub].state; }
  std::optional<size_t> active() const { return active_; }

  // Through the active hub; false when no hub is usable.
  bool publish(const std::string& subject, const std::string& reply, std::string_view data);
  // Through one given hub, only while it is up (heartbeats go through every hub, each on its
  // own connection, so a frozen hub stalls only its own worker); false otherwise.
  bool publishOn(size_t hub, const std::string& subject, std::string_view data);
  // On every hub (subscriptions are per connection; queue groups make delivery once).
  void subscribeAll(int tag, const std::string& subject, const std::string& queue);
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
    HubState state = HubState::kDown;
    uint64_t last_echo_ns = 0;
    uint64_t up_since_ns = 0;
    bool has_failed = false;
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
  std::optional<size_t> active_;
  std::vector<size_t> renewals_;  // hubs still to renew; the front one is being renewed
  bool renewal_went_down_ = false;  // the front one's old connection is gone
  bool stopped_ = false;
};

}  // namespace twinhub
