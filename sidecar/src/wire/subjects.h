// NATS subjects used by twinhub, in one place. All carry a prefix (default "th.") except the
// health.* family, which keeps the original plan's names. Shared by sidecar and controller.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace twinhub::wire {

constexpr std::string_view kDefaultPrefix = "th.";

// Makes a name safe as one subject token: '.', '*', '>', and whitespace become '_'.
std::string subjectToken(std::string_view name);

// Where a front asks for a session with `service`; serving sidecars queue-subscribe here with
// the service name as the queue group, only while their agent is healthy.
std::string serviceOpenSubject(std::string_view prefix, std::string_view service);
// A sidecar's own inbox (one per process run): frames to its sessions arrive under it.
std::string inboxSubject(std::string_view prefix, std::string_view sidecar_id, std::string_view run_nonce);
// Session frames for a sidecar, given its inbox.
std::string sessionFramesSubject(std::string_view inbox);
// Replies to OPEN: one subject per session, so that a hub's "no responders" answer names the session.
std::string openReplySubject(std::string_view inbox, uint64_t session);
// Parses the session out of an openReplySubject; 0 if `subject` is not one for `inbox`.
uint64_t sessionFromOpenReply(std::string_view inbox, std::string_view subject);
// Echo probes a sidecar sends itself through one hub to tell that the hub carries messages.
std::string hubProbeSubject(std::string_view inbox, std::string_view hub);

}  // namespace twinhub::wire
