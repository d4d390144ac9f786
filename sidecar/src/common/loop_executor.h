// LoopExecutor: runs closures on one libuv loop's thread, posted from any thread (cnats callback
// threads, the health checker). uv_async sends coalesce, so each wake-up drains the whole queue.
//
// Construct and close() on the loop thread; post() from any thread, also after close() (the
// closure is then dropped). The object must outlive the loop run that closes it.
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
  // Stops taking tasks and closes the async handle; pending tasks are dropped.
  void close();

 private:
  static void onAsync(uv_async_t* handle);
  void drain();

  uv_async_t async_;
  std::mutex mutex_;
  std::vector<std::function<void()>> queue_;
  std::vector<std::function<void()>> running_;  // swapped with queue_ under the lock
  bool closed_ = false;
};

}  // namespace twinhub
