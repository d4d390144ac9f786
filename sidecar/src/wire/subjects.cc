#include "wire/subjects.h"

#include <cctype>
#include <charconv>

namespace twinhub::wire {

std::string subjectToken(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (c == '.' || c == '*' || c == '>' || std::isspace(static_cast<unsigned char>(c))) c = '_';
  }
  return out.empty() ? "_" : out;
}

std::string serviceOpenSubject(std::string_view prefix, std::string_view service) {
  return std::string(prefix) + "svc." + subjectToken(service) + ".open";
}

std::string inboxSubject(std::string_view prefix, std::string_view sidecar_id, std::string_view run_nonce) {
  return std::string(prefix) + "sc." + subjectToken(sidecar_id) + "." + subjectToken(run_nonce);
}

std::string sessionFramesSubject(std::string_view inbox) { return std::string(inbox) + ".s"; }

std::string openReplySubject(std::string_view inbox, uint64_t session) {
  char hex[17];
  auto [end, ec] = std::to_chars(hex, hex + sizeof hex, session, 16);
  return std::string(inbox) + ".o." + std::string(hex, end);
}

uint64_t sessionFromOpenReply(std::string_view inbox, std::string_view subject) {
  const std::string head = std::string(inbox) + ".o.";
  if (subject.size() <= head.size() || subject.substr(0, head.size()) != head) return 0;
  std::string_view hex = subject.substr(head.size());
  uint64_t session = 0;
  auto [end, ec] = std::from_chars(hex.data(), hex.data() + hex.size(), session, 16);
  if (ec != std::errc() || end != hex.data() + hex.size()) return 0;
  return session;
}

std::string hubProbeSubject(std::string_view inbox, std::string_view hub) {
  return std::string(inbox) + ".p." + subjectToken(hub);
}

}  // namespace twinhub::wire
