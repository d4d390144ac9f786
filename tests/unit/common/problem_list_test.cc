#include "common/problem_list.h"

#include <catch2/catch.hpp>

namespace twinhub {
namespace {

TEST_CASE("ProblemList: a long list shows the first 50 and counts the rest", "[unit]") {
  std::vector<std::string> problems;
  for (int i = 0; i < 133000; ++i) problems.push_back("f.yaml:" + std::to_string(i + 1) + ":3: bad");
  std::vector<std::string> listed = listedProblems(problems);
  REQUIRE(listed.size() == 51);
  CHECK(listed.front() == "f.yaml:1:3: bad");
  CHECK(listed[49] == "f.yaml:50:3: bad");
  CHECK(listed.back() == "... and 132950 more problem(s)");
  CHECK(listedProblems({"a", "b"}) == std::vector<std::string>{"a", "b"});
  CHECK(joinedProblems({"a", "b", "c"}, 2) == "a; b; ... and 1 more problem(s)");
}

TEST_CASE("ProblemList: one huge message is cut, never inside a UTF-8 character", "[unit]") {
  const std::string huge(1000000, 'x');
  const std::string cut = boundedText(huge);
  CHECK(cut.size() < kMaxProblemChars + 40);
  CHECK_THAT(cut, Catch::EndsWith("... (999600 more bytes)"));
  CHECK(boundedText("short") == "short");

  const std::string accents = std::string(kMaxProblemChars - 1, 'a') + "\xC3\xA9\xC3\xA9";  // "éé" straddles the cut
  CHECK(boundedText(accents) == std::string(kMaxProblemChars - 1, 'a') + "... (4 more bytes)");
}

}  // namespace
}  // namespace twinhub
