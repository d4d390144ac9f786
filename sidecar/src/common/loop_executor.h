// LoopExecutor: runs closures on one libuv loop's thread, posted from any thread (cnats callback
// threads, the health checker). A post wakes the loop only when the queue was idle, and each
// wake-up drains the whole queue.
//
// The wake-up is an eventfd of our own under a uv_poll_t, not a uv_async_t: libuv 1.44's async
// handle makes the woken loop spin until the posting thread has returned from its write(), and on
// a busy 2-core machine that thread is often preempted right there (measured: ~7 % of a serving
// sidecar's CPU spinning in uv__async_io during 64-byte round trips).
//
// Construct and close() on the loop thread; post() from any thread, also after close() (the
// closure is then dropped). Destroy only after every posting thread has stopped posting; the
// object must outlive the loop run that closes it.
#pragma once

#include <uv.h>

#include <functional>
#include <mutex>
#include <vector>

namespace twinhub {

class LoopExecutor {
 public:
  explicit LoopExecutor(uv_loop_t* loop);
  LoopExecutor(const LoopExecutor&) = delete;
  LoopExecutor& operator=(const LoopExecutor&) = delete;
  ~LoopExecutor();

  void post(std::function<void()> task);
  // Stops taking tasks and closes the poll handle; pending tasks are dropped.
  void close();

 private:
  static void onReadable(uv_poll_t* handle, int status, int events);
  void drain();

  int event_fd_ = -1;
  uv_poll_t poll_;
  std::mutex mutex_;
  std::vector<std::function<void()>> queue_;
  std::vector<std::function<void()>> running_;  // swapped with queue_ under the lock
  bool wake_pending_ = false;                   // an eventfd write is on its way or unread
  bool closed_ = false;
};

}  // namespace twinhub
