// DirectWriteRegistry: the open sessions' DirectWriteLanes by session id, and the inspector that
// cnats's delivery threads run on every message before it is handed to the loop: a DATA frame on
// the frames subject goes straight into its session's socket when the lane takes it (see
// direct_write_lane.h), and the message carries how much was written.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "hub/direct_write_lane.h"
#include "hub/hub_client.h"

namespace twinhub {

class DirectWriteRegistry : public HubMessageInspector {
 public:
  explicit DirectWriteRegistry(int frames_tag) : frames_tag_(frames_tag) {}

  // Loop thread.
  std::shared_ptr<DirectWriteLane> add(uint64_t session, int fd);
  void remove(uint64_t session);

  // HubMessageInspector (cnats's delivery threads).
  void inspect(HubMessage& message) override;

 private:
  const int frames_tag_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, std::shared_ptr<DirectWriteLane>> lanes_;
};

}  // namespace twinhub
