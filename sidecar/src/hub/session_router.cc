#include "hub/session_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "wire/subjects.h"

namespace twinhub {

using wire::FrameType;

namespace {

constexpr int kFramesTag = 1;
constexpr int kOpenReplyTag = 2;
constexpr int kServeTag = 3;
// Every sidecar subscribes its inbox on every hub in this queue group, so a frame published on
// one hub is delivered once, through the receiver's connection to that hub when it has one.
constexpr const char* kInboxQueue = "th";
constexpr uint64_t kNsPerMs = 1000000;

std::string randomNonce(std::mt19937_64& random) {
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(random()));
  return hex;
}

}  // namespace

SessionRouter::SessionRouter(ProxyContext& context, LoopExecutor& executor, std::vector<HubOptions> hubs,
                             SessionRouterOptions options, HubStats& stats)
    : context_(context),
      options_(std::move(options)),
      stats_(stats),
      direct_writes_(kFramesTag, [this, &executor] { executor.post([this] { startLaneSweep(); }); }),
      server_stats_(std::make_shared<NullFrontStats>()),
      random_(std::random_device{}()) {
  inbox_ = wire::inboxSubject(options_.subject_prefix, options_.sidecar_id, randomNonce(random_));
  frames_subject_ = wire::sessionFramesSubject(inbox_);
  options_.hubs.inbox = inbox_;
  for (HubOptions& hub : hubs) hub.client_name = options_.sidecar_id + "@" + hub.name;
  hub_set_ = std::make_unique<HubSet>(context_.loop, executor, std::move(hubs), options_.hubs, *this, stats_,
                                      &direct_writes_);
  uv_timer_init(context_.loop, &tick_timer_);
  uv_timer_init(context_.loop, &ack_timer_);
  uv_timer_init(context_.loop, &lane_sweep_timer_);
  tick_timer_.data = this;
  ack_timer_.data = this;
  lane_sweep_timer_.data = this;
}

SessionRouter::~SessionRouter() { stop(); }

void SessionRouter::start() {
  hub_set_->start();
  hub_set_->subscribeAll(kFramesTag, frames_subject_, kInboxQueue);
  // Plain, not queued: a hub sends its "no responders" status only to a plain subscription, and
  // only on the connection that published the OPEN, so it still arrives once.
  hub_set_->subscribeAll(kOpenReplyTag, inbox_ + ".o.*", "");
  uv_timer_start(&tick_timer_, onTick, options_.tick_ms, options_.tick_ms);
  spdlog::info("hub sessions: inbox {}", inbox_);
}

void SessionRouter::stop() {
  if (stopped_) return;
  stopped_ = true;
  std::vector<Session*> open;
  for (auto& [id, session] : sessions_) open.push_back(session);
  for (Session* session : open) session->abort();
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&ack_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&lane_sweep_timer_), nullptr);
  hub_set_->stop();
}

std::string SessionRouter::serviceOpenSubject(const std::string& service) const {
  return wire::serviceOpenSubject(options_.subject_prefix, service);
}

void SessionRouter::serve(const std::string& service, const NetAddress& agent) {
  service_ = service;
  agent_ = agent;
}

void SessionRouter::setServing(bool serving) {
  if (!service_ || serving == serving_ || stopped_) return;
  serving_ = serving;
  if (serving) {
    hub_set_->subscribeAll(kServeTag, serviceOpenSubject(*service_), wire::subjectToken(*service_));
    spdlog::info("serving {} through the hubs", *service_);
  } else {
    hub_set_->unsubscribeAll(kServeTag);
    spdlog::warn("no longer serving {}: new sessions go to other replicas", *service_);
  }
}

size_t SessionRouter::serverSessions() const {
  return std::count_if(sessions_.begin(), sessions_.end(),
                       [](const auto& entry) { return entry.second->role() == SessionRole::kServer; });
}

uint64_t SessionRouter::newSessionId() {
  uint64_t id = 0;
  while (id == 0 || sessions_.count(id) || ended_.count(id)) id = random_();
  return id;
}

FrontConnection* SessionRouter::create(const FrontSettings& settings, std::shared_ptr<FrontStats> stats,
                                       ConnectionOwner& owner) {
  auto* session = new Session(context_, *this, SessionRole::kClient, newSessionId(), settings.service,
                              options_.session, std::move(stats), owner);
  sessions_[session->id()] = session;
  return session;
}

void SessionRouter::onConnectionClosed(FrontConnection* connection) { delete connection; }

bool SessionRouter::publish(const std::string& subject, const std::string& reply, std::string_view data) {
  return hub_set_->publish(subject, reply, data);
}

void SessionRouter::onActiveHubChanged(std::optional<size_t> hub) {
  if (!hub) {
    spdlog::error("no hub is usable: sessions wait ({} open)", sessions_.size());
    return;
  }
  std::vector<Session*> open;
  for (auto& [id, session] : sessions_) open.push_back(session);
  for (Session* session : open) session->onHubChanged();
}

void SessionRouter::onHubMessage(size_t, HubMessage&& message) {
  switch (message.tag) {
    case kFramesTag: handleSessionFrame(std::move(message)); break;
    case kOpenReplyTag: handleOpenReply(std::move(message)); break;
    case kServeTag: handleOpen(std::move(message)); break;
    default: break;
  }
}

void SessionRouter::reply(const std::string& to, FrameType type, uint64_t session, uint64_t recv_seq,
                          uint64_t written_seq, std::string_view payload) {
  if (to.empty()) return;
  wire::FrameHeader header;
  header.type = type;
  header.session = session;
  header.recv_seq = recv_seq;
  header.written_seq = written_seq;
  publish(to, frames_subject_, wire::encodeFrame(header, payload));
}

void SessionRouter::handleSessionFrame(HubMessage&& message) {
  std::string error;
  auto frame = wire::decodeFrame(message.data.view(), &error);
  if (!frame) {
    stats_.frameDropped("malformed");
    spdlog::debug("dropped a malformed frame on {}: {}", message.subject, error);
    return;
  }
  const uint64_t id = frame->header.session;
  const FrameType type = frame->header.type;
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    if (type == FrameType::kOpenOk || type == FrameType::kOpenFail) {
      it->second->onOpenReply(type, frame->payload);
    } else {
      it->second->onFrame(*frame, std::move(message.data), message.written_directly);
    }
    return;
  }
  if (type == FrameType::kOpenFail || frame->header.type == FrameType::kRst || frame->header.type == FrameType::kAck ||
      frame->header.type == FrameType::kPing) {
    return;  // nothing to answer
  }
  if (auto it = ended_.find(id); it != ended_.end()) {
    stats_.frameDropped("late");  // a re-send for a session that already finished
    reply(message.reply, FrameType::kAck, id, it->second.recv_seq, it->second.written_seq, {});
  } else {
    stats_.frameDropped("unknown_session");
    reply(message.reply, FrameType::kRst, id, 0, 0, "unknown session");
  }
}

void SessionRouter::handleOpenReply(HubMessage&& message) {
  // Servers answer OPEN on the session's frames subject; only the hub's own "no responders"
  // comes here.
  const uint64_t id = wire::sessionFromOpenReply(inbox_, message.subject);
  auto it = sessions_.find(id);
  if (id == 0 || it == sessions_.end() || !message.no_responders) return;
  it->second->onNoResponders();
}

void SessionRouter::handleOpen(HubMessage&& message) {
  std::string error;
  auto frame = wire::decodeFrame(message.data.view(), &error);
  if (!frame || frame->header.type != FrameType::kOpen || frame->payload.empty() || message.reply.empty()) {
    stats_.frameDropped("malformed");
    spdlog::debug("dropped a malformed OPEN: {}", frame ? "wrong type or no reply" : error);
    return;
  }
  const uint64_t id = frame->header.session;
  const std::string client_frames(frame->payload);
  if (auto it = sessions_.find(id); it != sessions_.end()) {
    it->second->onDuplicateOpen();
    return;
  }
  if (!serving_ || !service_ || stopped_) {
    reply(client_frames, FrameType::kOpenFail, id, 0, 0, "not serving");
    return;
  }
  auto* session = new Session(context_, *this, SessionRole::kServer, id, *service_, options_.session, server_stats_,
                              *this);
  sessions_[id] = session;
  session->startServer(agent_, client_frames);
}

void SessionRouter::ackDue(Session* session) {
  if (session->ackQueued()) return;
  session->setAckQueued(true);
  ack_due_.push_back(session);
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&ack_timer_)) && !stopped_) {
    uv_timer_start(&ack_timer_, onAckTimer, options_.session.ack_delay_ms, 0);
  }
}

void SessionRouter::onAckTimer(uv_timer_t* timer) {
  auto* self = static_cast<SessionRouter*>(timer->data);
  std::vector<Session*> due;
  due.swap(self->ack_due_);
  for (Session* session : due) {
    session->setAckQueued(false);
    session->flushAck();
  }
}

std::shared_ptr<DirectWriteLane> SessionRouter::directWriteLane(uint64_t session, int fd) {
  return options_.direct_writes ? direct_writes_.add(session, fd) : nullptr;
}

void SessionRouter::sessionEnded(Session* session) {
  sessions_.erase(session->id());
  direct_writes_.remove(session->id());
  if (session->ackQueued()) {
    ack_due_.erase(std::remove(ack_due_.begin(), ack_due_.end(), session), ack_due_.end());
    session->setAckQueued(false);
  }
  ended_[session->id()] =
      Ended{session->recvSeq(), session->writtenSeq(), uv_hrtime() + options_.time_wait_ms * kNsPerMs};
}

namespace {
constexpr uint64_t kLaneSweepMs = 1;
constexpr int kLaneSweepIdleLimit = 20;  // stop after this many empty sweeps
}  // namespace

void SessionRouter::startLaneSweep() {
  if (stopped_) return;
  lane_sweep_idle_ = 0;
  if (!uv_is_active(reinterpret_cast<uv_handle_t*>(&lane_sweep_timer_))) {
    uv_timer_start(&lane_sweep_timer_, onLaneSweep, kLaneSweepMs, kLaneSweepMs);
  }
}

void SessionRouter::onLaneSweep(uv_timer_t* timer) {
  auto* self = static_cast<SessionRouter*>(timer->data);
  const std::vector<uint64_t> ids = self->direct_writes_.takeSessionsWithNews();
  for (uint64_t id : ids) {
    if (auto it = self->sessions_.find(id); it != self->sessions_.end()) it->second->takeLaneNews();
  }
  if (!ids.empty()) {
    self->lane_sweep_idle_ = 0;
  } else if (++self->lane_sweep_idle_ >= kLaneSweepIdleLimit && !self->direct_writes_.sweepIdle()) {
    uv_timer_stop(timer);  // news from now on asks for a new sweep
  }
}

void SessionRouter::onTick(uv_timer_t* timer) {
  auto* self = static_cast<SessionRouter*>(timer->data);
  const uint64_t now = uv_hrtime();
  std::vector<Session*> open;
  open.reserve(self->sessions_.size());
  for (auto& [id, session] : self->sessions_) open.push_back(session);
  for (Session* session : open) session->tick(now);
  for (auto it = self->ended_.begin(); it != self->ended_.end();) {
    it = now >= it->second.expires_ns ? self->ended_.erase(it) : std::next(it);
  }
}

}  // namespace twinhub
