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
      table_(options_.time_wait_ms),
      server_stats_(std::make_shared<NullFrontStats>()) {
  inbox_ = wire::inboxSubject(options_.subject_prefix, options_.sidecar_id, randomNonce());
  client_frames_ = wire::clientFramesSubject(inbox_);
  server_frames_ = wire::serverFramesSubject(inbox_);
  options_.hubs.inbox = inbox_;
  for (HubOptions& hub : hubs) hub.client_name = options_.sidecar_id + "@" + hub.name;
  hub_set_ = std::make_unique<HubSet>(context_.loop, executor, std::move(hubs), options_.hubs, *this, stats_);
  gate_ = std::make_unique<ServeGate>(*hub_set_, options_.subject_prefix, options_.max_server_sessions, kServeTag);
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
  // only on the connection that published the OPEN, so it still arrives once. That status is all
  // that comes here, and only a subscription with `statuses` passes it on.
  hub_set_->subscribeAll(kOpenReplyTag, inbox_ + ".o.*", "", /*statuses=*/true);
  uv_timer_start(&tick_timer_, onTick, options_.tick_ms, options_.tick_ms);
  spdlog::info("hub sessions: inbox {}", inbox_);
}

void SessionRouter::stop() {
  if (stopped_) return;
  stopped_ = true;
  gate_->close();
  for (Session* session : table_.open()) session->abort();
  uv_close(reinterpret_cast<uv_handle_t*>(&tick_timer_), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&ack_timer_), nullptr);
  hub_set_->stop();
}

std::string SessionRouter::serviceOpenSubject(const std::string& service) const { return gate_->openSubject(service); }

bool SessionRouter::isPeerSubject(std::string_view subject) const {
  return wire::isPeerFramesSubject(options_.subject_prefix, subject);
}

FrontConnection* SessionRouter::create(const FrontSettings& settings, std::shared_ptr<FrontStats> stats,
                                       ConnectionOwner& owner) {
  auto* session = new Session(context_, *this, SessionRole::kClient, table_.newClientId(), settings.service,
                              options_.session, std::move(stats), owner);
  table_.add(session);
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
  for (Session* session : table_.open()) session->onHubChanged();
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
  if (Session* session = table_.find(role, id)) {
    if (type == FrameType::kOpenOk || type == FrameType::kOpenFail) {
      session->onOpenReply(type, frame->payload);
    } else {
      session->onFrame(*frame, std::move(message.data));
    }
    return;
  }
  const SessionTable::Ended* ended = table_.findEnded(role, id);
  if (type == FrameType::kOpenFail || type == FrameType::kRst || type == FrameType::kOpen) {
    // Nothing to answer. A late one for a session that ended is normal; any other does not belong
    // to a session here (a forged RST with a guessed id): counted like every such frame.
    if (!ended) stats_.frameDropped("unknown_session");
    return;
  }
  if (ended) {
    answerEnded(role, *frame, *ended);
    return;
  }
  stats_.frameDropped("unknown_session");
  if (type == FrameType::kOpenOk || type == FrameType::kAck) return;  // no sign of a session the peer needs
  reply(role, message.reply, FrameType::kRst, id, 0, 0, "unknown session");
}

void SessionRouter::answerEnded(SessionRole role, const wire::Frame& frame, const SessionTable::Ended& ended) {
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
  Session* session = id == 0 ? nullptr : table_.find(SessionRole::kClient, id);
  if (session && message.no_responders) session->onNoResponders();
}

void SessionRouter::refuseOpen(const std::string& client_frames, uint64_t session, const ServeGate::Refusal& refusal) {
  stats_.openRefused(refusal.reason);
  refused_log_.log(spdlog::level::warn, uv_hrtime(),
                   fmt::format("refused a session for {}: {} ({} server sessions open)",
                               gate_->service().value_or("?"), refusal.why, table_.servers()));
  reply(SessionRole::kServer, client_frames, FrameType::kOpenFail, session, 0, 0, refusal.why);
}

void SessionRouter::outOfFds() {
  stats_.openRefused("fd_limit");
  refused_log_.log(spdlog::level::err, uv_hrtime(),
                   fmt::format("out of file descriptors: refused a session for {} ({} server sessions open)",
                               gate_->service().value_or("?"), table_.servers()));
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
  if (Session* open = table_.find(SessionRole::kServer, id)) {
    open->onDuplicateOpen();
    return;
  }
  if (const std::optional<ServeGate::Refusal> refusal = gate_->admit(table_.servers())) {
    refuseOpen(client_frames, id, *refusal);
    return;
  }
  auto* session = new Session(context_, *this, SessionRole::kServer, id, *gate_->service(), options_.session,
                              server_stats_, *this);
  table_.add(session);
  session->startServer(gate_->agent(), client_frames);
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
  if (session->ackQueued()) {
    ack_due_.erase(std::remove(ack_due_.begin(), ack_due_.end(), session), ack_due_.end());
    session->setAckQueued(false);
  }
  table_.ended(*session, uv_hrtime());
}

void SessionRouter::onTick(uv_timer_t* timer) {
  auto* self = static_cast<SessionRouter*>(timer->data);
  const uint64_t now = uv_hrtime();
  for (Session* session : self->table_.open()) session->tick(now);
  self->table_.expire(now);
}

}  // namespace twinhub
