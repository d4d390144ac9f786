// SessionRouter: the hub side of a sidecar, and the dispatch of everything that arrives from the
// hubs. It owns the HubSet, the SessionTable and the ServeGate; it hands every frame to its
// session (client ends and server ends get frames on a subject of their own), opens server ends
// for OPENs the gate admits, makes client ends for fronts in hub mode, and moves every session to
// the new hub when the active hub changes. A frame for a session that ended lately is answered
// from the table (a re-send with the final acknowledgement, anything new with a reset), so a peer
// whose session ended here (a forged RST, a timeout) learns it within a round trip.
//
// Everything a peer sends is hostile until checked: subjects it names are validated before they
// are published to (a bad one would cut this sidecar off a hub), and server sessions are capped.
//
// Loop thread only: the HubSet hands every message to it on the loop, and sessions write their
// sockets from there.
#pragma once

#include <uv.h>

#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/throttled_log.h"
#include "hub/hub_set.h"
#include "hub/serve_gate.h"
#include "hub/session.h"
#include "hub/session_table.h"
#include "proxy/front.h"
#include "proxy/front_stats.h"
#include "wire/subjects.h"

namespace twinhub {

struct SessionRouterOptions {
  std::string sidecar_id;
  std::string subject_prefix = std::string(wire::kDefaultPrefix);
  HubSetOptions hubs;  // inbox is filled in by the router
  SessionSettings session;
  uint32_t tick_ms = 20;
  uint32_t time_wait_ms = 30000;
  // Server sessions at once; OPENs over it are refused at once. Each costs a socket to the agent.
  uint32_t max_server_sessions = 4096;
};

class SessionRouter : public HubSetListener, public SessionHost, public ConnectionFactory, public ConnectionOwner {
 public:
  SessionRouter(ProxyContext& context, LoopExecutor& executor, std::vector<HubOptions> hubs,
                SessionRouterOptions options, HubStats& stats);
  ~SessionRouter();
  SessionRouter(const SessionRouter&) = delete;
  SessionRouter& operator=(const SessionRouter&) = delete;

  void start();
  // Resets every session and closes the hub connections.
  void stop();

  // Offers `agent` as `service` to the hubs; setServing() joins or leaves the service's queue group.
  void serve(const std::string& service, const NetAddress& agent) { gate_->serve(service, agent); }
  void setServing(bool serving) { gate_->setServing(serving); }
  bool serving() const { return gate_->serving(); }
  size_t serverSessions() const { return table_.servers(); }
  size_t sessions() const { return table_.size(); }
  const HubSet& hubs() const { return *hub_set_; }
  HubSet& hubSet() { return *hub_set_; }  // heartbeats publish through each hub

  // ConnectionFactory: client ends for fronts in hub mode.
  FrontConnection* create(const FrontSettings& settings, std::shared_ptr<FrontStats> stats,
                          ConnectionOwner& owner) override;
  // ConnectionOwner: server ends.
  void onConnectionClosed(FrontConnection* connection) override;

  // HubSetListener
  void onActiveHubChanged(std::optional<size_t> hub) override;
  void onHubMessage(size_t hub, HubMessage&& message) override;

  // SessionHost
  bool publish(const std::string& subject, const std::string& reply, std::string_view data) override;
  bool hubAvailable() const override { return hub_set_->active().has_value(); }
  const std::string& framesSubject(SessionRole role) const override {
    return role == SessionRole::kClient ? client_frames_ : server_frames_;
  }
  bool isPeerSubject(std::string_view subject) const override;
  const std::string& inbox() const override { return inbox_; }
  std::string serviceOpenSubject(const std::string& service) const override;
  void ackDue(Session* session) override;
  void sessionEnded(Session* session) override;
  HubStats& hubStats() override { return stats_; }
  void outOfFds() override;

 private:

  static void onTick(uv_timer_t* timer);
  static void onAckTimer(uv_timer_t* timer);
  void handleSessionFrame(SessionRole role, HubMessage&& message);
  void answerEnded(SessionRole role, const wire::Frame& frame, const SessionTable::Ended& ended);
  void refuseOpen(const std::string& client_frames, uint64_t session, const ServeGate::Refusal& refusal);
  void handleOpenReply(HubMessage&& message);
  void handleOpen(HubMessage&& message);
  // Publishes a control frame to a subject a peer named, if it passes isPeerSubject().
  void reply(SessionRole role, const std::string& to, wire::FrameType type, uint64_t session, uint64_t recv_seq,
             uint64_t written_seq, std::string_view payload);

  ProxyContext& context_;
  SessionRouterOptions options_;
  HubStats& stats_;
  std::string inbox_;
  std::string client_frames_;
  std::string server_frames_;
  std::unique_ptr<HubSet> hub_set_;
  std::unique_ptr<ServeGate> gate_;
  SessionTable table_;
  ThrottledLog refused_log_;
  ThrottledLog bad_subject_log_;
  std::vector<Session*> ack_due_;
  std::shared_ptr<FrontStats> server_stats_;
  uv_timer_t tick_timer_;
  uv_timer_t ack_timer_;
  bool stopped_ = false;
};

}  // namespace twinhub
