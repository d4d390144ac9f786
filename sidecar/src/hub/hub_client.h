// HubClient: one sidecar's connection to one hub (a nats-server), kept up all the time, with its
// data path on the sidecar's loop thread.
//
// The connection runs in cnats's event-loop mode (NatsLoopAdapter): the loop reads and parses the
// socket, drains the synchronous subscriptions right after each read, hands every message to the
// listener, and publishes by appending to cnats's buffer, written out at the loop's next turn. So
// a frame crosses no thread, and every socket of the sidecar is touched by the loop thread only.
//
// What could block stays off the loop, on this client's worker thread:
// - connecting (TCP, TLS, the handshake: up to the connect timeout against a frozen hub) and
//   subscribing happen on a connection the loop does not know yet, or through the worker;
// - closing and destroying (a close with unsent data waits up to 500 ms for the hub) happen after
//   the loop has let go of the connection;
// - cnats's own reconnection is off: its reconnect thread would hold the connection's lock through
//   a whole connect, and a publish from the loop would wait behind it. A lost connection is
//   closed by cnats, and the worker makes a new one (after a short pause), with the same
//   subscriptions. The loop publishes only while the adapter says the socket is attached. A fresh
//   connection also means a fresh protocol parser (nats.c issue 1007: event-loop mode does not
//   reset it across reconnects).
// - A connection cnats closes for a server error (an unknown -ERR, auth) is replaced the same way,
//   after a pause that grows while it keeps happening, so one bad message cannot cut the sidecar
//   off a hub.
//
// Loop thread only (but the destructor joins the worker, which may take up to a connect timeout).
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/loop_executor.h"
#include "common/loop_thread_check.h"
#include "common/tuning_defaults.h"
#include "common/worker_thread.h"
#include "hub/hub_payload.h"
#include "nats_security/hub_security.h"

typedef struct __natsConnection natsConnection;
typedef struct __natsSubscription natsSubscription;

namespace twinhub {

struct HubOptions {
  std::string name;
  std::string url;
  uint32_t ping_interval_ms = defaults::kPingIntervalMs;
  uint32_t max_pings_out = defaults::kMaxPingsOut;
  uint32_t reconnect_wait_ms = 100;  // pause before a new connection after one was lost
  uint32_t connect_timeout_ms = 1000;
  // TLS only: a write to a hub that stopped reading fails after this (OpenSSL makes cnats wait
  // for the socket inside the write; plain writes never wait).
  uint32_t write_deadline_ms = 500;
  std::string client_name;
  // TLS and credentials, read from their files at each new connection (so a rotated certificate
  // is used by the next one; see renewConnection()).
  nats_security::HubSecurity security;
};

struct HubMessage {
  int tag = 0;  // the subscription's tag
  std::string subject;
  std::string reply;
  HubPayload data;
  bool no_responders = false;  // the hub's answer to an OPEN nobody serves
};

class HubClientListener {
 public:
  // A connection is up, subscribed to what was asked for.
  virtual void onHubConnected(size_t hub) = 0;
  virtual void onHubDisconnected(size_t hub) = 0;
  // The hub closed the connection for an error (`why`), not a lost socket; a new one is on its way.
  virtual void onHubRecreating(size_t hub, const std::string& why) = 0;
  virtual void onHubMessage(size_t hub, HubMessage&& message) = 0;

 protected:
  ~HubClientListener() = default;
};

class HubClient {
 public:
  HubClient(size_t index, HubOptions options, uv_loop_t* loop, LoopExecutor& executor, HubClientListener& listener);
  ~HubClient();
  HubClient(const HubClient&) = delete;
  HubClient& operator=(const HubClient&) = delete;

  size_t index() const { return index_; }
  const HubOptions& options() const { return options_; }

  // Starts connecting in the background; retries until the hub answers.
  void start();
  // Subscribes `subject` (a queue subscription when `queue` is not empty) on this connection and
  // every later one; messages come to the listener with `tag`. `statuses`: the hub's status
  // replies (no responders) must reach the listener too. cnats's synchronous subscriptions
  // swallow those, so such a subscription is delivered by a cnats thread and handed to the loop:
  // for rare traffic only (the answers to OPEN that are not OPEN_OK).
  void subscribe(int tag, const std::string& subject, const std::string& queue, bool statuses = false);
  void unsubscribe(int tag);
  // Queues a message on the connection; false (nothing sent) while no connection is up.
  bool publish(const std::string& subject, const std::string& reply, std::string_view data);
  bool connected() const;
  // Closes the connection and makes a new one, which reads the TLS and credential files again:
  // how a rotated certificate comes into use (SIGHUP). The hub goes down and up like after a lost
  // connection, so sessions move to another hub meanwhile.
  void renewConnection();
  uint64_t publishFailures() const { return publish_failures_; }

  struct Subscription {
    int tag = 0;
    std::string subject, queue;
    bool statuses = false;
  };
  // One natsConnection with its adapter and subscriptions (defined in the .cc).
  struct Connection;
  // What cnats's callback thread reaches: the client while it lives (loop thread only).
  struct Link {
    HubClient* client = nullptr;
  };
  // Loop, through Link: cnats closed connection `generation` (status: its last error).
  void closed(uint64_t generation, int status, const std::string& why);
  // Loop, through Link: a message of a `statuses` subscription.
  void deliver(HubMessage&& message);

 private:
  // Worker: connects (after `pause_ms`), retrying until it works or the client stops, and hands the
  // subscribed connection to the loop.
  void connectInBackground(uint32_t pause_ms);
  std::unique_ptr<Connection> connectOnce(const std::map<int, Subscription>& wanted, std::string* error);
  // Loop: what the worker hands back.
  void install(std::shared_ptr<Connection> connection);
  void subscribed(uint64_t generation, int tag, natsSubscription* handle);
  // Loop: lets go of the live connection (stops polling, hands it to the worker to destroy).
  void retire();
  void requestSubscription(const Subscription& subscription);
  // Delivers what the subscriptions hold; runs after every read event.
  void drain();
  // Runs `task` on the worker; during a drain only once the drain is over (it may destroy a
  // subscription being drained).
  void handOver(std::function<void()> task);

  const size_t index_;
  const HubOptions options_;
  uv_loop_t* const loop_;
  LoopExecutor& executor_;
  HubClientListener& listener_;
  LoopThreadCheck loop_thread_;
  std::shared_ptr<Link> link_;

  std::map<int, Subscription> wanted_;  // every subscription asked for
  std::shared_ptr<Connection> live_;     // the connection the loop drives, if any
  uint64_t next_generation_ = 1;         // worker: numbers connections
  bool draining_ = false;
  std::vector<std::function<void()>> handovers_;  // held back while draining
  uint32_t recreate_pause_ms_ = 0;       // grows while the hub keeps closing connections
  uint64_t last_recreate_ns_ = 0;
  uint64_t publish_failures_ = 0;
  WorkerThread worker_;  // last: joined first, before the members its tasks use go
};

// Stops cnats's library threads; call once at exit, after every HubClient is gone.
void shutdownHubLibrary();

}  // namespace twinhub
