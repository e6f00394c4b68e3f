#include "core/time.h"

#include <gtest/gtest.h>

namespace wangge {
namespace {

TEST(TimeTest, ParsesOffsetAndUtcToTheSameInstant) {
  auto local = ParseRfc3339("2020-03-02T09:15:00+08:00");
  auto utc = ParseRfc3339("2020-03-02T01:15:00Z");
  ASSERT_TRUE(local.ok()) << local.status().ToString();
  ASSERT_TRUE(utc.ok());
  EXPECT_EQ(local->ms, utc->ms);
  EXPECT_EQ(utc->ms, 1'583'111'700'000);
}

TEST(TimeTest, KeepsMillisecondsAndDropsFinerDigits) {
  auto t = ParseRfc3339("2020-03-02T01:15:00.123456Z");
  ASSERT_TRUE(t.ok());
  EXPECT_EQ(t->ms, 1'583'111'700'123);
  auto short_fraction = ParseRfc3339("2020-03-02T01:15:00.5Z");
  ASSERT_TRUE(short_fraction.ok());
  EXPECT_EQ(short_fraction->ms, 1'583'111'700'500);
}

TEST(TimeTest, FormatsInShanghaiTimeAndRoundTrips) {
  TimeMs t{1'583'111'700'000};
  EXPECT_EQ(FormatRfc3339(t), "2020-03-02T09:15:00+08:00");
  EXPECT_EQ(FormatRfc3339(t, std::chrono::minutes{0}), "2020-03-02T01:15:00+00:00");
  EXPECT_EQ(FormatRfc3339(TimeMs{t.ms + 7}), "2020-03-02T09:15:00.007+08:00");
  for (int64_t ms :
       {int64_t{0}, int64_t{-1}, int64_t{951'782'400'000}, int64_t{4'102'444'799'999}}) {
    auto back = ParseRfc3339(FormatRfc3339(TimeMs{ms}));
    ASSERT_TRUE(back.ok()) << ms;
    EXPECT_EQ(back->ms, ms);
  }
}

TEST(TimeTest, RejectsMalformedTimesWithAReason) {
  for (const char* bad :
       {"", "2020-03-02", "2020-03-02T09:15:00", "2020-02-30T00:00:00Z", "2020-03-02T24:00:00Z",
        "2020-03-02T09:15:00+8:00", "2020-03-02T09:15:00Zjunk", "2020-03-02T09:15:00.Z",
        "abcd-ef-ghTij:kl:mnZ"}) {
    auto t = ParseRfc3339(bad);
    EXPECT_FALSE(t.ok()) << bad;
    if (!t.ok()) {
      EXPECT_EQ(t.status().code(), StatusCode::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace wangge
