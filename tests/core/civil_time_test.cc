// Civil time against an independent oracle (the C library's timegm/gmtime_r) over random
// instants, plus the edge cases of each accepted form and what must be refused.

#include "sluice/core/civil_time.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>
#include <random>
#include <string>

namespace sluice {
namespace {

std::string viaLibc(int64_t seconds) {
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[96];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02d %02d:%02d:%02d", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return buf;
}

TEST(CivilTime, FormatAndParseAgreeWithLibcOverRandomInstants) {
  std::mt19937_64 rng(11);
  // 0001-01-01 .. 9999-12-31, and a dense band around the epoch.
  std::uniform_int_distribution<int64_t> wide(-62135596800LL, 253402300799LL);
  std::uniform_int_distribution<int64_t> near(-86400LL * 800, 86400LL * 800);
  for (int i = 0; i < 20000; ++i) {
    const int64_t seconds = i % 2 == 0 ? wide(rng) : near(rng);
    const int64_t ms = static_cast<int64_t>(rng() % 1000);
    const int64_t millis = seconds * 1000 + ms;
    std::string text;
    appendDateTime(millis, text);
    ASSERT_EQ(text, viaLibc(seconds)) << millis;
    ASSERT_EQ(parseDateTime(text), seconds * 1000) << text;
    const std::string iso = formatIsoDateTime(millis);
    ASSERT_EQ(parseIsoDateTime(iso), millis) << iso;
    ASSERT_EQ(parseDateTime(text + "." + iso.substr(20, 3)), millis) << text;
  }
}

TEST(CivilTime, AcceptedForms) {
  EXPECT_EQ(parseDateTime("1970-01-01 00:00:00"), 0);
  EXPECT_EQ(parseDateTime("2013-01-01 00:00:00"), 1356998400000);
  EXPECT_EQ(parseDateTime("2012-02-29 23:59:59"), 1330559999000);
  EXPECT_EQ(parseDateTime("1969-12-31 23:59:59.5"), -500);
  EXPECT_EQ(parseDateTime("2013-01-01 00:00:00.123456789"), 1356998400123);
  EXPECT_EQ(parseIsoDateTime("2013-01-01T00:00:00Z"), 1356998400000);
  EXPECT_EQ(parseIsoDateTime("2013-01-01t00:00:00z"), 1356998400000);
  EXPECT_EQ(parseIsoDateTime("2013-01-01T00:00:00"), 1356998400000);
  EXPECT_EQ(parseIsoDateTime("2013-01-01T01:00:00+01:00"), 1356998400000);
  EXPECT_EQ(parseIsoDateTime("2012-12-31T19:00:00-0500"), 1356998400000);
  EXPECT_EQ(parseIsoDateTime("2013-01-01T05:30:00.250+05"), 1357000200250);
  EXPECT_EQ(parseEpochMillis("1356998400000"), 1356998400000);
  EXPECT_EQ(parseEpochMillis("-1"), -1);
  EXPECT_EQ(formatIsoDateTime(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(formatIsoDateTime(-1), "1969-12-31T23:59:59.999Z");
  std::string text;
  appendDateTime(-1, text);
  EXPECT_EQ(text, "1969-12-31 23:59:59");
}

TEST(CivilTime, RefusedForms) {
  for (const char* bad :
       {"", "2013-02-29 00:00:00", "2013-13-01 00:00:00", "2013-00-10 00:00:00",
        "2013-01-32 00:00:00", "2013-01-01 24:00:00", "2013-01-01 00:60:00", "2013-01-01 00:00:60",
        "2013-01-01T00:00:00", "2013-1-01 00:00:00", "2013-01-01 00:00", "2013-01-01 00:00:00 ",
        "2013-01-01 00:00:00.", "2013-01-01 00:00:00.1234567890", "2013-01-01 00:00:00Z",
        "x013-01-01 00:00:00"}) {
    EXPECT_FALSE(parseDateTime(bad).has_value()) << bad;
  }
  for (const char* bad :
       {"2013-01-01 00:00:00", "2013-01-01T00:00:00+1", "2013-01-01T00:00:00+19",
        "2013-01-01T00:00:00+01:60", "2013-01-01T00:00:00ZZ", "2013-01-01T00:00:00+01:00:00"}) {
    EXPECT_FALSE(parseIsoDateTime(bad).has_value()) << bad;
  }
  for (const char* bad : {"", "+1", "1.5", "12a", "99999999999999999999", "-"}) {
    EXPECT_FALSE(parseEpochMillis(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sluice
