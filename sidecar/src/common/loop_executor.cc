#include "common/loop_executor.h"

namespace twinhub {

LoopExecutor::LoopExecutor(uv_loop_t* loop) {
  uv_async_init(loop, &async_, onAsync);
  async_.data = this;
}

LoopExecutor::~LoopExecutor() = default;

void LoopExecutor::post(std::function<void()> task) {
  // Sent under the lock so that close() cannot free the async handle between check and send.
  std::lock_guard<std::mutex> lock(mutex_);
  if (closed_) return;
  queue_.push_back(std::move(task));
  uv_async_send(&async_);
}

void LoopExecutor::onAsync(uv_async_t* handle) { static_cast<LoopExecutor*>(handle->data)->drain(); }

void LoopExecutor::drain() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    running_.swap(queue_);
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
  uv_close(reinterpret_cast<uv_handle_t*>(&async_), nullptr);
}

}  // namespace twinhub
