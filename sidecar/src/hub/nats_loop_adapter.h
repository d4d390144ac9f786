// NatsLoopAdapter: drives one cnats connection from a libuv loop (cnats's event-loop mode), so its
// socket is read, parsed and written on the loop thread: no reader thread, no hand-off.
//
// cnats asks the adapter, from any of its threads (the reconnect, timer and closing paths), to
// watch its socket for reads and writes, and closes the socket right after asking it to stop. The
// adapter keeps the socket in a private epoll set and libuv watches only that set's fd, so a stop
// takes effect at once whatever the calling thread (epoll_ctl is thread-safe; libuv's handles are
// not, which is what crashes cnats 3.4's own libuv adapter: nats.c issue 814).
//
// Created on any thread (the connecting one); startPolling() and stopPolling() on the loop thread,
// where every readiness calls natsConnection_ProcessReadEvent/ProcessWriteEvent and then the
// `after_read` hook (where the owner drains its synchronous subscriptions).
//
// Writes: what the loop itself publishes is written once per loop turn, just before the loop
// waits for I/O (a uv_prepare handle), so that every publish of a turn goes out in one send and
// costs no epoll change; only what the socket does not take at once, and what other threads ask
// for (cnats's PINGs), wait for the socket's writability in the epoll set. Destroy it only after
// stopPolling(); hold it in a shared_ptr. It keeps itself alive while it calls into cnats and
// the hook, and from cnats's attach to its detach: cnats may close a connection on its own thread
// (a stale one, on its timer thread) and call detach after natsConnection_Destroy has returned
// elsewhere.
#pragma once

#include <nats/nats.h>
#include <uv.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

namespace twinhub {

class NatsLoopAdapter : public std::enable_shared_from_this<NatsLoopAdapter> {
 public:
  NatsLoopAdapter();
  ~NatsLoopAdapter();
  NatsLoopAdapter(const NatsLoopAdapter&) = delete;
  NatsLoopAdapter& operator=(const NatsLoopAdapter&) = delete;

  // Puts the connection these options make into event-loop mode, driven by this adapter.
  natsStatus install(natsOptions* options);
  // True from the moment cnats attached a connected socket until it stops reading it (it lost the
  // socket or closes): while true, a publish cannot wait behind a connect (cnats holds its lock
  // through a connect and handshake, but reconnection is off for these connections).
  bool attached() const { return attached_.load(std::memory_order_acquire); }

  // Loop thread.
  void startPolling(uv_loop_t* loop, std::function<void()> after_read);
  void stopPolling();

 private:
  static natsStatus onAttach(void** user_data, void* loop, natsConnection* connection, natsSock socket);
  static natsStatus onRead(void* user_data, bool add);
  static natsStatus onWrite(void* user_data, bool add);
  static natsStatus onDetach(void* user_data);
  static void onReady(uv_poll_t* handle, int status, int events);
  static void onPrepare(uv_prepare_t* handle);

  // With mutex_ held: makes the epoll registration match want_read_/want_write_.
  natsStatus updateRegistration();
  void process();

  int epoll_fd_ = -1;
  std::mutex mutex_;
  natsConnection* connection_ = nullptr;  // under mutex_; set once by the first attach
  int socket_ = -1;                       // under mutex_; -1 when none is attached
  bool registered_ = false;               // under mutex_: socket_ is in the epoll set
  bool want_read_ = false;                // under mutex_
  bool want_write_ = false;               // under mutex_: cnats has bytes to write
  bool watch_write_ = false;              // under mutex_: writability is in the epoll set
  std::atomic<bool> attached_{false};
  std::shared_ptr<NatsLoopAdapter> attached_self_;  // under mutex_: from attach to detach
  std::atomic<bool> flush_due_{false};            // the loop asked to write: at its next prepare
  std::atomic<std::thread::id> loop_thread_{};    // set by startPolling()

  uv_poll_t* poll_ = nullptr;           // loop thread; freed by its close callback
  uv_prepare_t* prepare_ = nullptr;     // loop thread; freed by its close callback
  std::function<void()> after_read_;
};

}  // namespace twinhub
