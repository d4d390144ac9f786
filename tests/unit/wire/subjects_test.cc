#include <catch2/catch.hpp>

#include <random>
#include <string>

#include "wire/subjects.h"

using namespace twinhub::wire;

TEST_CASE("Subjects: tokens are sanitised and open replies round-trip", "[unit]") {
  CHECK(subjectToken("pc2.Memory Service>*") == "pc2_Memory_Service__");
  CHECK(subjectToken("a\r\nb\xc3\xa9") == "a__b__");
  CHECK(serviceOpenSubject("th.", "MemoryOrchestratorService") == "th.svc.MemoryOrchestratorService.open");
  const std::string inbox = inboxSubject("th.", "pc2.Mem", "abc");
  CHECK(inbox == "th.sc.pc2_Mem.abc");
  CHECK(clientFramesSubject(inbox) == "th.sc.pc2_Mem.abc.c");
  CHECK(serverFramesSubject(inbox) == "th.sc.pc2_Mem.abc.s");
  const std::string reply = openReplySubject(inbox, 0xdeadbeef12345678ull);
  CHECK(sessionFromOpenReply(inbox, reply) == 0xdeadbeef12345678ull);
  CHECK(sessionFromOpenReply(inbox, "th.sc.other.abc.o.12") == 0);
  CHECK(sessionFromOpenReply(inbox, inbox + ".o.xyz") == 0);
  CHECK(sessionFromOpenReply(inbox, inbox + ".o.") == 0);
}

TEST_CASE("Subjects: a publish subject is bounded, printable and has no empty token or wildcard", "[unit]") {
  CHECK(isValidPublishSubject("th.sc.a.b.c"));
  CHECK(isValidPublishSubject("x"));
  CHECK(isValidPublishSubject(std::string(kMaxSubjectLength, 'a')));
  CHECK_FALSE(isValidPublishSubject(""));
  CHECK_FALSE(isValidPublishSubject(std::string(kMaxSubjectLength + 1, 'a')));
  CHECK_FALSE(isValidPublishSubject(std::string(5000, 'a')));
  CHECK_FALSE(isValidPublishSubject("th.sc a.b"));
  CHECK_FALSE(isValidPublishSubject("th.sc\r\nPUB x 1"));
  CHECK_FALSE(isValidPublishSubject("th.sc\ta"));
  CHECK_FALSE(isValidPublishSubject(std::string("th.\0a", 5)));
  CHECK_FALSE(isValidPublishSubject("th..a"));
  CHECK_FALSE(isValidPublishSubject(".th"));
  CHECK_FALSE(isValidPublishSubject("th."));
  CHECK_FALSE(isValidPublishSubject("th.*"));
  CHECK_FALSE(isValidPublishSubject("th.>"));
  CHECK_FALSE(isValidPublishSubject("th.\xc3\xa9"));
}

TEST_CASE("Subjects: a peer may only name a frames subject of the project's shape", "[unit]") {
  const std::string inbox = inboxSubject("th.", "pc2.Mem", "0123abcd");
  CHECK(isPeerFramesSubject("th.", clientFramesSubject(inbox)));
  CHECK(isPeerFramesSubject("th.", serverFramesSubject(inbox)));
  CHECK_FALSE(isPeerFramesSubject("zz.", serverFramesSubject(inbox)));  // another prefix
  CHECK_FALSE(isPeerFramesSubject("th.", inbox));                       // no role
  CHECK_FALSE(isPeerFramesSubject("th.", inbox + ".x"));
  CHECK_FALSE(isPeerFramesSubject("th.", inbox + ".o.12"));
  CHECK_FALSE(isPeerFramesSubject("th.", "th.sc.a.c"));      // a token missing
  CHECK_FALSE(isPeerFramesSubject("th.", "th.sc.a.b.c.c"));  // one too many
  CHECK_FALSE(isPeerFramesSubject("th.", "th.svc.Mem.open"));
  CHECK_FALSE(isPeerFramesSubject("th.", "th.sc." + std::string(5000, 'a') + ".b.s"));
  CHECK_FALSE(isPeerFramesSubject("th.", "th.sc.a b.n.s"));
  CHECK_FALSE(isPeerFramesSubject("th.", "th.sc.a.n.s\r\n"));
  CHECK_FALSE(isPeerFramesSubject("th.", "health.status.pc2"));
}

TEST_CASE("Subjects: random and mutated peer subjects never pass unless well formed", "[unit]") {
  std::mt19937 random(7);
  const std::string good = serverFramesSubject(inboxSubject("th.", "pc2.Mem", "0123abcd"));
  for (int i = 0; i < 20000; ++i) {
    std::string input = good;
    for (int flips = 0; flips < 2; ++flips) input[random() % input.size()] = static_cast<char>(random());
    if (random() % 3 == 0) input.resize(random() % (input.size() + 1));
    if (!isPeerFramesSubject("th.", input)) continue;
    // Whatever passes is safe to put on a PUB line.
    CHECK(isValidPublishSubject(input));
    CHECK(input.find_first_of(" \r\n\t") == std::string::npos);
    CHECK(input.size() <= kMaxSubjectLength);
  }
}
