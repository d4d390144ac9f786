#include "hub/direct_write_registry.h"

#include "wire/frame.h"

namespace twinhub {

std::shared_ptr<DirectWriteLane> DirectWriteRegistry::add(SessionEnd end, int fd) {
  auto lane = std::make_shared<DirectWriteLane>(fd);
  std::lock_guard<std::mutex> lock(mutex_);
  lanes(end.role)[end.session] = lane;
  return lane;
}

void DirectWriteRegistry::remove(SessionEnd end) {
  std::lock_guard<std::mutex> lock(mutex_);
  lanes(end.role).erase(end.session);
}

std::vector<SessionEnd> DirectWriteRegistry::takeSessionsWithNews() {
  std::vector<SessionEnd> ids;
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
  if (message.tag != client_frames_tag_ && message.tag != server_frames_tag_) return;
  const SessionRole role = message.tag == client_frames_tag_ ? SessionRole::kClient : SessionRole::kServer;
  auto frame = wire::decodeFrame(message.data.view(), nullptr);
  if (!frame || frame->header.type != wire::FrameType::kData) return;
  std::shared_ptr<DirectWriteLane> lane;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    Lanes& table = lanes(role);
    auto it = table.find(frame->header.session);
    if (it == table.end()) return;
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
    with_news_.push_back(SessionEnd{role, frame->header.session});
    request = !sweep_requested_;
    sweep_requested_ = true;
  }
  if (request && request_sweep_) request_sweep_();
}

}  // namespace twinhub
