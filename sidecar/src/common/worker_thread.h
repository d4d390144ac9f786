// WorkerThread: one thread that runs posted tasks in order, for calls that may block (connecting
// to a hub, closing a connection), which must stay off the loop thread.
//
// post() from any thread. stop() (or the destructor) lets the thread finish what is queued, with
// stopping() true so that long tasks can cut short, then joins it.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace twinhub {

class WorkerThread {
 public:
  WorkerThread();
  ~WorkerThread();
  WorkerThread(const WorkerThread&) = delete;
  WorkerThread& operator=(const WorkerThread&) = delete;

  void post(std::function<void()> task);
  // For tasks: waits `ms`, or less when stop() is called; false when stopping.
  bool sleep(uint32_t ms);
  bool stopping() const;
  void stop();

 private:
  void run();

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace twinhub
