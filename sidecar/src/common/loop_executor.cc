#include "common/loop_executor.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

namespace twinhub {

LoopExecutor::LoopExecutor(uv_loop_t* loop) {
  event_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (event_fd_ < 0) throw std::runtime_error(std::string("eventfd: ") + std::strerror(errno));
  uv_poll_init(loop, &poll_, event_fd_);
  poll_.data = this;
  uv_poll_start(&poll_, UV_READABLE, onReadable);
}

// The eventfd lives until here, so a post() racing close() writes to it harmlessly.
LoopExecutor::~LoopExecutor() {
  if (event_fd_ >= 0) ::close(event_fd_);
}

void LoopExecutor::post(std::function<void()> task) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    queue_.push_back(std::move(task));
    wake = !wake_pending_;
    wake_pending_ = true;
  }
  // Outside the lock: the woken loop never waits for this thread to get out of write().
  if (wake) {
    const uint64_t one = 1;
    ssize_t n;
    do {
      n = ::write(event_fd_, &one, sizeof one);
    } while (n < 0 && errno == EINTR);
  }
}

void LoopExecutor::onReadable(uv_poll_t* handle, int, int) { static_cast<LoopExecutor*>(handle->data)->drain(); }

void LoopExecutor::drain() {
  // Read first, then take the queue: a post after the swap finds wake_pending_ false and writes
  // again, so no task waits for a wake-up that already happened.
  uint64_t count;
  while (::read(event_fd_, &count, sizeof count) < 0 && errno == EINTR) {
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.swap(queue_);
    wake_pending_ = false;
  }
  for (auto& task : running_) task();
  running_.clear();
}

void LoopExecutor::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
    queue_.clear();
  }
  uv_poll_stop(&poll_);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), nullptr);
}

}  // namespace twinhub
