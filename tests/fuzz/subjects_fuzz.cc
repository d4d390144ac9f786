// Subjects named by a peer (wire/subjects.h): an OPEN's inbox, an OPEN_OK's inbox, a message's
// reply. Input: a prefix, a newline, then the subject. What isPeerFramesSubject() accepts must
// be publishable and under the prefix; what isValidPublishSubject() accepts must be short
// printable ASCII without spaces or wildcards; subjectToken() must make a plain token; a session
// read back from an open-reply subject is the one written into it.
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "wire/subjects.h"

using namespace twinhub::wire;

namespace {

bool isPlainToken(std::string_view token) {
  for (char c : token) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const std::string_view prefix = newline == std::string_view::npos ? kDefaultPrefix : input.substr(0, newline);
  const std::string_view subject = newline == std::string_view::npos ? input : input.substr(newline + 1);

  if (isValidPublishSubject(subject)) {
    FUZZ_CHECK(!subject.empty() && subject.size() <= kMaxSubjectLength);
    for (char c : subject) FUZZ_CHECK(c > ' ' && c < 0x7f && c != '*' && c != '>');
    FUZZ_CHECK(subject.front() != '.' && subject.back() != '.' && subject.find("..") == std::string_view::npos);
  }
  if (isPeerFramesSubject(prefix, subject)) {
    FUZZ_CHECK(isValidPublishSubject(subject) && subject.substr(0, prefix.size()) == prefix);
  }
  const std::string token = subjectToken(subject);
  FUZZ_CHECK(isPlainToken(token));

  // The subject as an inbox: a session survives openReplySubject / sessionFromOpenReply.
  uint64_t session = 1;
  std::memcpy(&session, data, std::min(size, sizeof session));
  if (session != 0) FUZZ_CHECK(sessionFromOpenReply(subject, openReplySubject(subject, session)) == session);
  (void)sessionFromOpenReply(prefix, subject);
  return 0;
}
