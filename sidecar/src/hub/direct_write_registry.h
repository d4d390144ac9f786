// DirectWriteRegistry: the open sessions' DirectWriteLanes by session id, and the inspector that
// cnats's delivery threads run on every message before it is handed to the loop. A DATA frame on
// the frames subject goes straight into its session's socket when the lane takes it (see
// direct_write_lane.h): written whole, the message is consumed there and the session is listed as
// having news; written partly, the message goes on to the loop with the count.
//
// The loop collects the news in sweeps (takeSessionsWithNews); the registry asks for a sweep
// through `request_sweep` (called on a delivery thread, at most once until sweepIdle()).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "hub/direct_write_lane.h"
#include "hub/hub_client.h"

namespace twinhub {

class DirectWriteRegistry : public HubMessageInspector {
 public:
  DirectWriteRegistry(int frames_tag, std::function<void()> request_sweep)
      : frames_tag_(frames_tag), request_sweep_(std::move(request_sweep)) {}

  // Loop thread.
  std::shared_ptr<DirectWriteLane> add(uint64_t session, int fd);
  void remove(uint64_t session);
  std::vector<uint64_t> takeSessionsWithNews();
  // The loop stopped sweeping; true when news came in meanwhile (sweep on).
  bool sweepIdle();

  // HubMessageInspector (cnats's delivery threads).
  void inspect(HubMessage& message) override;

 private:
  const int frames_tag_;
  const std::function<void()> request_sweep_;
  std::mutex mutex_;
  std::unordered_map<uint64_t, std::shared_ptr<DirectWriteLane>> lanes_;
  std::vector<uint64_t> with_news_;
  bool sweep_requested_ = false;
};

}  // namespace twinhub
