// NATS subjects used by twinhub, in one place. All carry a prefix (default "th.") except the
// health.* family, which keeps the original plan's names. Shared by sidecar and controller.
//
// Subjects that arrive from a peer (an OPEN's payload, an OPEN_OK's payload, a message's reply)
// are hostile until checked: publishing to a subject the hub cannot parse (a space, CR/LF) or
// whose protocol line is too long (nats-server closes the connection on "maximum control line
// exceeded") would cut this sidecar off the hub. Every such subject goes through
// isPeerFramesSubject() before it is used.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace twinhub::wire {

constexpr std::string_view kDefaultPrefix = "th.";
// Far below nats-server's 4096-byte control line (PUB <subject> <reply> <size>), with room for
// both subjects; our own subjects are under 100 bytes.
constexpr size_t kMaxSubjectLength = 256;

// Makes a name safe as one subject token: anything but [A-Za-z0-9_-] becomes '_'.
std::string subjectToken(std::string_view name);

// True for a subject one may publish to: 1..kMaxSubjectLength bytes of printable ASCII without
// spaces or wildcards, '.'-separated tokens, none empty.
bool isValidPublishSubject(std::string_view subject);

// Where a front asks for a session with `service`; serving sidecars queue-subscribe here with
// the service name as the queue group, only while their agent is healthy.
std::string serviceOpenSubject(std::string_view prefix, std::string_view service);
// A sidecar's own inbox (one per process run): frames to its sessions arrive under it.
std::string inboxSubject(std::string_view prefix, std::string_view sidecar_id, std::string_view run_nonce);
// Session frames for a sidecar's client ends (sessions its fronts opened) and for its server ends
// (sessions it serves), given its inbox. Two subjects, so a sidecar that fronts the service it
// serves can hold both ends of one session.
std::string clientFramesSubject(std::string_view inbox);
std::string serverFramesSubject(std::string_view inbox);
// True when `subject` is a valid publish subject of the shape of a frames subject under `prefix`
// (<prefix>sc.<id>.<nonce>.c or .s): what a peer may name as where its frames go.
bool isPeerFramesSubject(std::string_view prefix, std::string_view subject);
// Replies to OPEN: one subject per session, so that a hub's "no responders" answer names the session.
std::string openReplySubject(std::string_view inbox, uint64_t session);
// Parses the session out of an openReplySubject; 0 if `subject` is not one for `inbox`.
uint64_t sessionFromOpenReply(std::string_view inbox, std::string_view subject);
// Echo probes a sidecar sends itself through one hub to tell that the hub carries messages.
std::string hubProbeSubject(std::string_view inbox, std::string_view hub);

}  // namespace twinhub::wire
