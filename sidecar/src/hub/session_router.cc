#include "hub/session_router.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "secure_random/secure_random.h"
#include "wire/subjects.h"

namespace twinhub {

using wire::FrameType;

namespace {

constexpr int kClientFramesTag = 1;
constexpr int kOpenReplyTag = 2;
constexpr int kServeTag = 3;
constexpr int kServerFramesTag = 4;
// Every sidecar subscribes its inbox on every hub in this queue group, so a frame published on
// one hub is delivered once, through the receiver's connection to that hub when it has one.
constexpr const char* kInboxQueue = "th";
constexpr uint64_t kNsPerMs = 1000000;

// The run nonce and session ids are secrets shared only with the peers of a session: 64 bits
// from the kernel's CSPRNG, so that a client on the hub can neither guess a live session id nor
// predict the next one from ids it has seen (docs/permissions.md, "Session frames").
std::string randomNonce() {
  char hex[17];
  snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(secureRandom64()));
  return hex;
}

}  // namespace

SessionRouter::SessionRouter(ProxyContext& context, LoopExecutor& executor, std::vector<HubOptions> hubs,
                             SessionRouterOptions options, HubStats& stats)
    : context_(context),
      options_(std::move(options)),
      stats_(stats),
      server_stats_(std::make_shared<NullFrontStats>()) {
  inbox_ = wire::inboxSubject(options_.subject_prefix, options_.sidecar_id, randomNonce());
  client_frames_ = wire::clientFramesSubject(inbox_);
  server_frames_ = wire::serverFramesSubject(inbox_);
  options_.hubs.inbox = inbox_;
  for (HubOptions& hub : hubs) hub.client_name = options_.sidecar_id + "@" + hub.name;
  hub_set_ = std::make_unique<HubSet>(context_.loop, executor, std::move(hubs), options_.hubs, *this, stats_);
  uv_timer_init(context_.loop, &tick_timer_);
  uv_timer_init(context_.loop, &ack_timer_);
  tick_timer_.data = this;
  ack_timer_.data = this;
}

SessionRouter::~SessionRouter() { stop(); }

void SessionRouter::start() {
  hub_set_->start();
  hub_set_->subscribeAll(kClientFramesTag, client_frames_, kInboxQueue);
  hub_set_->subscribeAll(kServerFramesTag, server_frames_, kInboxQueue);
  // Plain, not queued: a hub sends its "no responders" status only to a plain subscription, and
  // only on the connection that published the OPEN, so it still arrives once.
  hub_set_->subscribeAll(kOpenReplyTag, inbox_ + ".o.*", "");
  uv_timer_start(&tick_timer_, onTick, options_.tick_ms, options_.tick_ms);
  spdlog::info("hub sessions: inbox {}", inbox_);
}

void SessionRouter::stop() {
  if (stopped_) return;
  stopped_ = true;
  for (Session* session : openSessions()) session->abort();
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&ack_timer_), nullptr);
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

size_t SessionRouter::serverSessions() const { return servers_.size(); }

std::vector<Session*> SessionRouter::openSessions() const {
  std::vector<Session*> open;
  open.reserve(clients_.size() + servers_.size());
  for (const Sessions* sessions : {&clients_, &servers_}) {
    for (const auto& [id, session] : *sessions) open.push_back(session);
  }
  return open;
}

bool SessionRouter::isPeerSubject(std::string_view subject) const {
  return wire::isPeerFramesSubject(options_.subject_prefix, subject);
}

uint64_t SessionRouter::newSessionId() {
  uint64_t id = 0;
  while (id == 0 || clients_.count(id) || ended_clients_.count(id)) id = secureRandom64();
  return id;
}

FrontConnection* SessionRouter::create(const FrontSettings& settings, std::shared_ptr<FrontStats> stats,
                                       ConnectionOwner& owner) {
  auto* session = new Session(context_, *this, SessionRole::kClient, newSessionId(), settings.service,
                              options_.session, std::move(stats), owner);
  clients_[session->id()] = session;
  return session;
}

void SessionRouter::onConnectionClosed(FrontConnection* connection) { delete connection; }

bool SessionRouter::publish(const std::string& subject, const std::string& reply, std::string_view data) {
  return hub_set_->publish(subject, reply, data);
}

void SessionRouter::onActiveHubChanged(std::optional<size_t> hub) {
  if (!hub) {
    spdlog::error("no hub is usable: sessions wait ({} open)", sessions());
    return;
  }
  for (Session* session : openSessions()) session->onHubChanged();
}

void SessionRouter::onHubMessage(size_t, HubMessage&& message) {
  switch (message.tag) {
    case kClientFramesTag: handleSessionFrame(SessionRole::kClient, std::move(message)); break;
    case kServerFramesTag: handleSessionFrame(SessionRole::kServer, std::move(message)); break;
    case kOpenReplyTag: handleOpenReply(std::move(message)); break;
    case kServeTag: handleOpen(std::move(message)); break;
    default: break;
  }
}

void SessionRouter::reply(SessionRole role, const std::string& to, FrameType type, uint64_t session, uint64_t recv_seq,
                          uint64_t written_seq, std::string_view payload) {
  if (to.empty()) return;  // e.g. a client end that never heard from a server
  if (!isPeerSubject(to)) {
    stats_.frameDropped("bad_subject");
    bad_subject_log_.log(spdlog::level::warn, uv_hrtime(), "dropped a frame that named a bad subject to answer to");
    return;
  }
  wire::FrameHeader header;
  header.type = type;
  header.session = session;
  header.recv_seq = recv_seq;
  header.written_seq = written_seq;
  publish(to, framesSubject(role), wire::encodeFrame(header, payload));
}

void SessionRouter::handleSessionFrame(SessionRole role, HubMessage&& message) {
  std::string error;
  auto frame = wire::decodeFrame(message.data.view(), &error);
  if (!frame) {
    stats_.frameDropped("malformed");
    spdlog::debug("dropped a malformed frame on {}: {}", message.subject, error);
    return;
  }
  const uint64_t id = frame->header.session;
  const FrameType type = frame->header.type;
  Sessions& sessions = table(role);
  if (auto it = sessions.find(id); it != sessions.end()) {
    if (type == FrameType::kOpenOk || type == FrameType::kOpenFail) {
      it->second->onOpenReply(type, frame->payload);
    } else {
      it->second->onFrame(*frame, std::move(message.data));
    }
    return;
  }
  auto& ended = endedTable(role);
  const auto ended_it = ended.find(id);
  if (type == FrameType::kOpenFail || type == FrameType::kRst || type == FrameType::kOpen) {
    // Nothing to answer. A late one for a session that ended is normal; any other does not belong
    // to a session here (a forged RST with a guessed id): counted like every such frame.
    if (ended_it == ended.end()) stats_.frameDropped("unknown_session");
    return;
  }
  if (ended_it != ended.end()) {
    answerEnded(role, *frame, ended_it->second);
    return;
  }
  stats_.frameDropped("unknown_session");
  if (type == FrameType::kOpenOk || type == FrameType::kAck) return;  // no sign of a session the peer needs
  reply(role, message.reply, FrameType::kRst, id, 0, 0, "unknown session");
}

void SessionRouter::answerEnded(SessionRole role, const wire::Frame& frame, const Ended& ended) {
  const uint64_t id = frame.header.session;
  const bool resent = (frame.header.type == FrameType::kData || frame.header.type == FrameType::kFin) &&
                      frame.header.seq <= ended.recv_seq;
  if (resent) {
    // A re-send for a session that finished: the final acknowledgement lets the peer finish too.
    stats_.frameDropped("late");
    reply(role, ended.peer_subject, FrameType::kAck, id, ended.recv_seq, ended.written_seq, {});
    return;
  }
  // Both ends send a last ACK as they finish: answering it would double every close.
  if (frame.header.type == FrameType::kAck) return;
  // New data or a PING: the peer thinks the session is open. It is not.
  stats_.frameDropped("ended_session");
  reply(role, ended.peer_subject, FrameType::kRst, id, ended.recv_seq, ended.written_seq, "session ended");
}

void SessionRouter::handleOpenReply(HubMessage&& message) {
  // Servers answer OPEN on the session's frames subject; only the hub's own "no responders"
  // comes here.
  const uint64_t id = wire::sessionFromOpenReply(inbox_, message.subject);
  auto it = clients_.find(id);
  if (id == 0 || it == clients_.end() || !message.no_responders) return;
  it->second->onNoResponders();
}

void SessionRouter::refuseOpen(const std::string& client_frames, uint64_t session, const char* reason,
                               const char* why) {
  stats_.openRefused(reason);
  refused_log_.log(spdlog::level::warn, uv_hrtime(),
                   fmt::format("refused a session for {}: {} ({} server sessions open)", service_.value_or("?"), why,
                               servers_.size()));
  reply(SessionRole::kServer, client_frames, FrameType::kOpenFail, session, 0, 0, why);
}

void SessionRouter::outOfFds() {
  stats_.openRefused("fd_limit");
  refused_log_.log(spdlog::level::err, uv_hrtime(),
                   fmt::format("out of file descriptors: refused a session for {} ({} server sessions open)",
                               service_.value_or("?"), servers_.size()));
}

void SessionRouter::handleOpen(HubMessage&& message) {
  std::string error;
  auto frame = wire::decodeFrame(message.data.view(), &error);
  if (!frame || frame->header.type != FrameType::kOpen || frame->payload.empty()) {
    stats_.frameDropped("malformed");
    spdlog::debug("dropped a malformed OPEN: {}", frame ? "wrong type or no reply" : error);
    return;
  }
  const uint64_t id = frame->header.session;
  if (!isPeerSubject(frame->payload)) {
    stats_.frameDropped("bad_subject");
    bad_subject_log_.log(spdlog::level::warn, uv_hrtime(), "dropped an OPEN that named a bad subject to answer to");
    return;
  }
  const std::string client_frames(frame->payload);
  if (auto it = servers_.find(id); it != servers_.end()) {
    it->second->onDuplicateOpen();
    return;
  }
  if (!serving_ || !service_ || stopped_) {
    refuseOpen(client_frames, id, "not_serving", "not serving");
    return;
  }
  if (servers_.size() >= options_.max_server_sessions) {
    refuseOpen(client_frames, id, "capacity", "over capacity");
    return;
  }
  auto* session = new Session(context_, *this, SessionRole::kServer, id, *service_, options_.session, server_stats_,
                              *this);
  servers_[id] = session;
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

void SessionRouter::sessionEnded(Session* session) {
  table(session->role()).erase(session->id());
  if (session->ackQueued()) {
    ack_due_.erase(std::remove(ack_due_.begin(), ack_due_.end(), session), ack_due_.end());
    session->setAckQueued(false);
  }
  endedTable(session->role())[session->id()] = Ended{session->recvSeq(), session->writtenSeq(),
                                                     uv_hrtime() + options_.time_wait_ms * kNsPerMs,
                                                     session->peerSubject()};
}

void SessionRouter::onTick(uv_timer_t* timer) {
  auto* self = static_cast<SessionRouter*>(timer->data);
  const uint64_t now = uv_hrtime();
  for (Session* session : self->openSessions()) session->tick(now);
  for (auto* ended : {&self->ended_clients_, &self->ended_servers_}) {
    for (auto it = ended->begin(); it != ended->end();) {
      it = now >= it->second.expires_ns ? ended->erase(it) : std::next(it);
    }
  }
}

}  // namespace twinhub
