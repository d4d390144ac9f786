// HubClient: one sidecar's connection to one hub (a nats-server), kept up all the time.
//
// cnats runs with its own threads: its callbacks (messages, disconnect, reconnect) are handed to
// the loop through a LoopExecutor, and every call into cnats that could block (connect,
// publish, subscribe) runs on this client's worker thread, fed by a queue. So the loop never
// waits for a hub, not even a frozen one: a frozen hub only stalls its own worker.
//
// One exception keeps round trips short: while the hub is known healthy (setFastPublish) and the
// worker is idle with nothing queued, a small publish goes out at once from the caller's thread.
// It cannot block for long: the kernel takes small frames at once unless the hub stopped reading,
// which the hub's state catches within its suspect time, and the write deadline bounds the rest.
//
// cnats reconnects by itself after a lost socket, but closes a connection for good on a server
// -ERR it does not know (e.g. "maximum control line exceeded"), an auth error, or when it gives
// up. Whatever closes it, the worker makes a new connection (after a short, growing pause) and
// renews the subscriptions, so one bad message cannot cut the sidecar off a hub.
//
// Create, use and destroy on the loop thread. Listener calls arrive on the loop thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <variant>

#include "common/loop_executor.h"
#include "hub/hub_payload.h"
#include "nats_security/hub_security.h"

typedef struct __natsConnection natsConnection;
typedef struct __natsSubscription natsSubscription;

namespace twinhub {

struct HubOptions {
  std::string name;
  std::string url;
  uint32_t ping_interval_ms = 100;  // a frozen hub shows after ~max_pings_out intervals
  uint32_t max_pings_out = 2;
  uint32_t reconnect_wait_ms = 100;
  uint32_t write_deadline_ms = 500;  // a publish to a frozen hub fails after this
  std::string client_name;
  // TLS and credentials, read from their files at each new connection (so a rotated certificate
  // is used by the next one; see recreateConnection()).
  nats_security::HubSecurity security;
};

struct HubMessage {
  int tag = 0;  // the subscription's tag
  std::string subject;
  std::string reply;
  HubPayload data;
  bool no_responders = false;  // the hub's answer to an OPEN nobody serves
  size_t written_directly = 0;  // payload bytes an inspector already wrote to a session's socket
  bool consumed = false;        // an inspector finished it: not handed to the loop
};

// Sees every message on cnats's delivery thread, before the hand-off to the loop (see
// direct_write_registry.h); only tag and data are filled in at that point. Must be thread-safe
// and must not block.
class HubMessageInspector {
 public:
  virtual void inspect(HubMessage& message) = 0;

 protected:
  ~HubMessageInspector() = default;
};

class HubClientListener {
 public:
  virtual void onHubConnected(size_t hub) = 0;
  virtual void onHubDisconnected(size_t hub) = 0;
  // cnats closed the connection for good (`why` from its last error); a new one is on its way.
  virtual void onHubRecreating(size_t hub, const std::string& why) = 0;
  virtual void onHubMessage(size_t hub, HubMessage&& message) = 0;

 protected:
  ~HubClientListener() = default;
};

class HubClient {
 public:
  HubClient(size_t index, HubOptions options, LoopExecutor& executor, HubClientListener& listener,
            HubMessageInspector* inspector = nullptr);
  ~HubClient();  // closes the connection and waits (bounded) for cnats to stop calling back
  HubClient(const HubClient&) = delete;
  HubClient& operator=(const HubClient&) = delete;

  size_t index() const { return index_; }
  const HubOptions& options() const { return options_; }

  // Starts connecting in the background; retries until the hub answers.
  void start();
  // Subscribes `subject` (a queue subscription when `queue` is not empty); messages come to the
  // listener with `tag`. cnats renews subscriptions after a reconnect.
  void subscribe(int tag, const std::string& subject, const std::string& queue);
  void unsubscribe(int tag);
  void publish(std::string subject, std::string reply, std::string_view data);
  // Drops queued publishes (the hub is down: they will be re-sent elsewhere).
  void discardPending();
  // Closes the connection (after what is queued) and makes a new one, which reads the TLS and
  // credential files again: how a rotated certificate comes into use (SIGHUP). The hub goes down
  // and up like after a lost connection, so sessions move to another hub meanwhile.
  void renewConnection();
  // Allows small publishes from the caller's thread when the worker is idle (see above).
  void setFastPublish(bool enabled);
  uint64_t publishFailures() const { return publish_failures_.load(); }

  // What cnats's threads reach through callback closures (defined in the .cc).
  struct Callbacks;

 private:
  struct Publish {
    std::string subject, reply, data;
  };
  struct Subscribe {
    int tag = 0;
    std::string subject, queue;
  };
  struct Unsubscribe {
    int tag = 0;
  };
  struct Recreate {};
  struct Renew {};
  using Command = std::variant<Publish, Subscribe, Unsubscribe, Recreate, Renew>;

  void run();
  // Creates the connection (cnats retries in the background while the hub is unreachable);
  // false when cnats refused outright, and a Recreate is queued.
  bool connect();
  void execute(Command& command);
  void subscribeNow(const Subscribe& subscribe);
  // The worker's answer to a connection cnats closed: forget it, wait, connect anew, subscribe again.
  void recreate();
  // From cnats's closed callback: queue a Recreate unless this client is stopping.
  void connectionClosed();
  // Waits on wake_ for `ms` or until stopping; false when stopping.
  bool pause(uint32_t ms);
  void sendPublish(const std::string& subject, const std::string& reply, std::string_view data);

  const size_t index_;
  const HubOptions options_;
  std::shared_ptr<Callbacks> callbacks_;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Command> commands_;
  bool stopping_ = false;
  bool worker_busy_ = false;  // executing a command outside the lock
  bool fast_publish_ = false;
  std::thread worker_;

  // Set once by the worker under mutex_; used by the worker, and under mutex_ by fast publishes.
  natsConnection* connection_ = nullptr;
  std::map<int, natsSubscription*> subscriptions_;
  std::map<int, Subscribe> wanted_;  // every subscription asked for: renewed on a new connection
  uint32_t recreate_pause_ms_ = 0;   // grows while connections keep being closed
  std::chrono::steady_clock::time_point last_recreate_{};
  std::atomic<uint64_t> publish_failures_{0};
};

// Stops cnats's library threads; call once at exit, after every HubClient is gone.
void shutdownHubLibrary();

}  // namespace twinhub
