// The one source of "now" for files and records, and its ISO forms.
#include "core/time_util.h"

#include <gtest/gtest.h>

namespace mt {
namespace {

TEST(TimeUtil, IsoFormsOfOneInstant) {
  const int64_t us = 1582329602418379;  // 2020-02-22T00:00:02.418379Z
  EXPECT_EQ(FormatIsoMicros(us), "2020-02-22T00:00:02.418379Z");
  EXPECT_EQ(FormatIsoSeconds(us), "2020-02-22T00:00:02Z");
  EXPECT_EQ(FormatIsoSeconds(-1), "1969-12-31T23:59:59Z");  // truncated toward the earlier second
}

TEST(TimeUtil, PinnedCreatedAtAndUnpinnedNow) {
  PinCreatedAt(86400);
  EXPECT_EQ(CreatedAtMicros(), 86400LL * 1000000);
  PinCreatedAt(std::nullopt);
  const int64_t before = NowMicros();
  const int64_t created = CreatedAtMicros();
  EXPECT_GE(created, before);
  EXPECT_LE(created, NowMicros());
  EXPECT_GT(created, MicrosFromDate(Date{2024, 1, 1}));
}

}  // namespace
}  // namespace mt
