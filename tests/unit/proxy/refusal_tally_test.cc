#include "proxy/refusal_tally.h"

#include <catch2/catch.hpp>

namespace twinhub {
namespace {

TEST_CASE("RefusalTally: the first refusal is reported at once, a flood once per interval with its count", "[unit]") {
  RefusalTally tally(1000);
  CHECK(tally.add(RefusalReason::kMaxConnections, 5000));
  CHECK(tally.total() == 1);
  tally.reported(5000);
  CHECK_FALSE(tally.pending());

  // 999 more within the second: none due; all held for the next report.
  for (int i = 0; i < 999; ++i) CHECK_FALSE(tally.add(i % 2 ? RefusalReason::kFdLimit : RefusalReason::kMaxConnections, 5001 + i % 998));
  CHECK(tally.dueAt() == 6000);
  CHECK(tally.pending());
  CHECK(tally.count(RefusalReason::kMaxConnections) == 500);
  CHECK(tally.count(RefusalReason::kFdLimit) == 499);

  // The one that arrives when the interval is over is reported with the rest.
  CHECK(tally.add(RefusalReason::kFdLimit, 6000));
  CHECK(tally.total() == 1000);
  tally.reported(6000);
  CHECK(tally.total() == 0);
  CHECK(tally.dueAt() == 7000);
}

TEST_CASE("RefusalTally: after a quiet interval the next refusal is reported at once", "[unit]") {
  RefusalTally tally(1000);
  REQUIRE(tally.add(RefusalReason::kFdLimit, 100));
  tally.reported(100);
  CHECK(tally.add(RefusalReason::kFdLimit, 60000));
}

}  // namespace
}  // namespace twinhub
