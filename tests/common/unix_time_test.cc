// The range of times: every boundary parses to the right instant or to a
// clear error, never to a wrapped-around number.
#include "common/unix_time.h"

#include <gtest/gtest.h>

#include <random>

namespace convtrace::unix_time {
namespace {

struct Good {
  const char* text;
  uint64_t unix_nano;
};

TEST(UnixTime, ParsesTheRangeUpToItsLastNanosecond) {
  const Good cases[] = {
      {"1970-01-01", 0},
      {"1970-01-01T00:00:00Z", 0},
      {"1970-01-01T01:00:00+01:00", 0},
      {"1970-01-01T00:00:00.000000001Z", 1},
      {"2024-02-29", 1709164800000000000ULL},
      {"2024-03-01T09:00:00+01:00", 1709280000000000000ULL},
      {"2262-04-11", 9223286400000000000ULL},
      {"2262-04-11T23:47:16Z", 9223372036000000000ULL},
      {"2262-04-11T23:47:16.854775807Z", kMax},
      {"2262-04-12T00:47:16.854775807+01:00", kMax},
  };
  for (const Good& c : cases) {
    auto t = parse(c.text);
    ASSERT_TRUE(t) << c.text << ": " << t.error().message;
    EXPECT_EQ(*t, c.unix_nano) << c.text;
  }
}

TEST(UnixTime, RefusesTimesOutsideTheRange) {
  const char* const after[] = {"2262-04-11T23:47:16.854775808Z",
                               "2262-04-12",
                               "2300-01-01",
                               "9999-12-31",
                               "9999-12-31T23:59:60Z",
                               "2262-04-11T23:47:17.000000000+00:00"};
  for (const char* text : after) {
    auto t = parse(text);
    ASSERT_FALSE(t) << text << " gave " << *t;
    EXPECT_EQ(t.error().code, Error::invalid_argument) << text;
    EXPECT_NE(t.error().message.find("2262-04-11T23:47:16.854775807Z"), std::string::npos);
  }
  const char* const before[] = {"1969-12-31", "1969-12-31T23:59:59.999999999Z",
                                "1970-01-01T00:00:00+00:01", "0000-01-01"};
  for (const char* text : before) {
    auto t = parse(text);
    ASSERT_FALSE(t) << text << " gave " << *t;
    EXPECT_EQ(t.error().code, Error::invalid_argument) << text;
    EXPECT_NE(t.error().message.find("1970-01-01"), std::string::npos);
  }
}

TEST(UnixTime, MalformedTextIsAParseError) {
  const char* const bad[] = {"",
                             "-0001-01-01",
                             "2024-1-01",
                             "2024-02-30",
                             "2023-02-29",
                             "2024-13-01",
                             "2024-00-10",
                             "2024-03-01T12:00:00",
                             "2024-03-01T24:00:00Z",
                             "2024-03-01T12:00:00+24:00",
                             "2024-03-01T12:00:00.Z",
                             "2024-03-01x",
                             "18446744073709551615"};
  for (const char* text : bad) {
    auto t = parse(text);
    ASSERT_FALSE(t) << text;
    EXPECT_EQ(t.error().code, Error::parse_error) << text;
  }
}

TEST(UnixTime, FormatsAndParsesBackEveryInstant) {
  EXPECT_EQ(format(0), "1970-01-01T00:00:00Z");
  EXPECT_EQ(format(kMax), kMaxText);
  EXPECT_EQ(format(1709280000500000000ULL), "2024-03-01T08:00:00.5Z");
  std::mt19937_64 rng(18);
  for (int i = 0; i < 2000; ++i) {
    uint64_t t = rng() % (kMax + 1);
    auto back = parse(format(t));
    ASSERT_TRUE(back) << format(t);
    ASSERT_EQ(*back, t);
  }
}

TEST(UnixTime, CheckNamesTheField) {
  EXPECT_FALSE(check("since_unix_nano", kMax));
  Error e = check("since_unix_nano", kMax + 1);
  EXPECT_EQ(e.code, Error::invalid_argument);
  EXPECT_NE(e.message.find("since_unix_nano 9223372036854775808"), std::string::npos) << e.message;
}

}  // namespace
}  // namespace convtrace::unix_time
