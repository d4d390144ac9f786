// DirectWriteRegistry: the open sessions' DirectWriteLanes by role and session id, and the inspector that
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
#include "hub/hub_stats.h"

namespace twinhub {

// One end of a session: a sidecar may hold both ends of one session (it fronts what it serves).
struct SessionEnd {
  SessionRole role;
  uint64_t session;
  bool operator==(const SessionEnd&) const = default;
};

class DirectWriteRegistry : public HubMessageInspector {
 public:
  // Messages with `client_frames_tag` are for client ends, `server_frames_tag` for server ends.
  DirectWriteRegistry(int client_frames_tag, int server_frames_tag, std::function<void()> request_sweep)
      : client_frames_tag_(client_frames_tag),
        server_frames_tag_(server_frames_tag),
        request_sweep_(std::move(request_sweep)) {}

  // Loop thread.
  std::shared_ptr<DirectWriteLane> add(SessionEnd end, int fd);
  void remove(SessionEnd end);
  std::vector<SessionEnd> takeSessionsWithNews();
  // The loop stopped sweeping; true when news came in meanwhile (sweep on).
  bool sweepIdle();

  // HubMessageInspector (cnats's delivery threads).
  void inspect(HubMessage& message) override;

 private:
  using Lanes = std::unordered_map<uint64_t, std::shared_ptr<DirectWriteLane>>;
  Lanes& lanes(SessionRole role) { return role == SessionRole::kClient ? client_lanes_ : server_lanes_; }

  const int client_frames_tag_;
  const int server_frames_tag_;
  const std::function<void()> request_sweep_;
  std::mutex mutex_;
  Lanes client_lanes_;
  Lanes server_lanes_;
  std::vector<SessionEnd> with_news_;
  bool sweep_requested_ = false;
};

}  // namespace twinhub
