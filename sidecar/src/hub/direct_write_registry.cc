#include "hub/direct_write_registry.h"

#include "wire/frame.h"

namespace twinhub {

std::shared_ptr<DirectWriteLane> DirectWriteRegistry::add(uint64_t session, int fd) {
  auto lane = std::make_shared<DirectWriteLane>(fd);
  std::lock_guard<std::mutex> lock(mutex_);
  lanes_[session] = lane;
  return lane;
}

void DirectWriteRegistry::remove(uint64_t session) {
  std::lock_guard<std::mutex> lock(mutex_);
  lanes_.erase(session);
}

std::vector<uint64_t> DirectWriteRegistry::takeSessionsWithNews() {
  std::vector<uint64_t> ids;
  std::lock_guard<std::mutex> lock(mutex_);
  ids.swap(with_news_);
  return ids;
}

bool DirectWriteRegistry::sweepIdle() {
  std::lock_guard<std::mutex> lock(mutex_);
  sweep_requested_ = !with_news_.empty();
  return sweep_requested_;
}

void DirectWriteRegistry::inspect(HubMessage& message) {
  if (message.tag != frames_tag_) return;
  auto frame = wire::decodeFrame(message.data.view(), nullptr);
  if (!frame || frame->header.type != wire::FrameType::kData) return;
  std::shared_ptr<DirectWriteLane> lane;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = lanes_.find(frame->header.session);
    if (it == lanes_.end()) return;
    lane = it->second;
  }
  const DirectWriteLane::WriteResult result = lane->tryWrite(frame->header, frame->payload);
  if (result.written == 0) return;
  if (result.written < frame->payload.size()) {
    message.written_directly = result.written;  // the loop writes the rest
    return;
  }
  message.consumed = true;
  if (!result.first_news) return;  // already listed
  bool request = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    with_news_.push_back(frame->header.session);
    request = !sweep_requested_;
    sweep_requested_ = true;
  }
  if (request && request_sweep_) request_sweep_();
}

}  // namespace twinhub
