#include "wire/subjects.h"

#include <charconv>

namespace twinhub::wire {

namespace {

bool isTokenChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

// Printable ASCII except space, and not a wildcard.
bool isSubjectChar(char c) { return c > ' ' && c < 0x7f && c != '*' && c != '>'; }

bool isPlainToken(std::string_view token) {
  if (token.empty()) return false;
  for (char c : token) {
    if (!isTokenChar(c)) return false;
  }
  return true;
}

}  // namespace

std::string subjectToken(std::string_view name) {
  std::string out(name);
  for (char& c : out) {
    if (!isTokenChar(c)) c = '_';
  }
  return out.empty() ? "_" : out;
}

bool isValidPublishSubject(std::string_view subject) {
  if (subject.empty() || subject.size() > kMaxSubjectLength) return false;
  if (subject.front() == '.' || subject.back() == '.') return false;
  char previous = 0;
  for (char c : subject) {
    if (!isSubjectChar(c) || (c == '.' && previous == '.')) return false;
    previous = c;
  }
  return true;
}

std::string serviceOpenSubject(std::string_view prefix, std::string_view service) {
  return std::string(prefix) + "svc." + subjectToken(service) + ".open";
}

std::string inboxSubject(std::string_view prefix, std::string_view sidecar_id, std::string_view run_nonce) {
  return std::string(prefix) + "sc." + subjectToken(sidecar_id) + "." + subjectToken(run_nonce);
}

std::string clientFramesSubject(std::string_view inbox) { return std::string(inbox) + ".c"; }
std::string serverFramesSubject(std::string_view inbox) { return std::string(inbox) + ".s"; }

bool isPeerFramesSubject(std::string_view prefix, std::string_view subject) {
  if (!isValidPublishSubject(subject)) return false;
  const std::string head = std::string(prefix) + "sc.";
  if (subject.substr(0, head.size()) != head) return false;
  std::string_view rest = subject.substr(head.size());  // <id>.<nonce>.<c|s>
  for (int token = 0; token < 2; ++token) {
    const size_t dot = rest.find('.');
    if (dot == std::string_view::npos || !isPlainToken(rest.substr(0, dot))) return false;
    rest.remove_prefix(dot + 1);
  }
  return rest == "c" || rest == "s";
}

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
