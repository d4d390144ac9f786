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
  const size_t written = lane->tryWrite(frame->header.seq, frame->payload);
  if (written > 0) message.written_directly = written;
}

}  // namespace twinhub
