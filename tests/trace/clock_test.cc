#include "trace/clock.h"

#include <gtest/gtest.h>

#include <chrono>
#include <thread>
#include <vector>

namespace convtrace {
namespace {

// A steady_nanos() reading taken between two CLOCK_MONOTONIC readings must
// lie between them, give or take the scaling's error. A preempted thread only
// widens the interval, so this cannot fail by chance.
void expect_on_the_monotonic_time_line(int64_t tolerance_ns) {
  for (int i = 0; i < 2000; ++i) {
    const int64_t before = monotonic_nanos();
    const int64_t steady = steady_nanos();
    const int64_t after = monotonic_nanos();
    ASSERT_GE(steady, before - tolerance_ns) << "reading " << i;
    ASSERT_LE(steady, after + tolerance_ns) << "reading " << i;
  }
}

TEST(SteadyClock, FollowsCLOCK_MONOTONICBeforeAndAfterTheRateIsKnown) {
  expect_on_the_monotonic_time_line(20'000);
  // The counter's rate is measured over the process's first 100 ms.
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  (void)steady_nanos();
  expect_on_the_monotonic_time_line(20'000);
#if CONVTRACE_STEADY_TSC
  if (!steady_nanos_uses_tsc()) {
    GTEST_SKIP() << "this CPU has no invariant time-stamp counter; clock_gettime is used";
  }
#endif
  // Durations over sleeps agree with the clock's, read around each end of
  // them (a preempted thread widens the bounds rather than failing).
  for (int i = 0; i < 3; ++i) {
    const int64_t a = monotonic_nanos();
    const int64_t steady_start = steady_nanos();
    const int64_t b = monotonic_nanos();
    std::this_thread::sleep_for(std::chrono::milliseconds(40));
    const int64_t c = monotonic_nanos();
    const int64_t steady_end = steady_nanos();
    const int64_t d = monotonic_nanos();
    EXPECT_GE(steady_end - steady_start, c - b - 20'000);
    EXPECT_LE(steady_end - steady_start, d - a + 20'000);
  }
}

TEST(SteadyClock, NeverGoesBackOnAThreadAcrossAnchors) {
  // Each thread renews its anchor every second; reading across two renewals
  // on several threads at once exercises the hand-over from one to the next.
  std::vector<std::thread> threads;
  std::vector<int> backwards(3, 0);
  for (size_t t = 0; t < backwards.size(); ++t) {
    threads.emplace_back([&backwards, t] {
      const auto stop = std::chrono::steady_clock::now() + std::chrono::milliseconds(2300);
      int64_t last = steady_nanos();
      while (std::chrono::steady_clock::now() < stop) {
        for (int i = 0; i < 1000; ++i) {
          const int64_t now = steady_nanos();
          if (now < last) ++backwards[t];
          last = now;
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    });
  }
  for (auto& thread : threads) thread.join();
  for (size_t t = 0; t < backwards.size(); ++t) EXPECT_EQ(backwards[t], 0) << "thread " << t;
}

TEST(SteadyClock, WallClockTimesFollowTheSteadyReading) {
  const uint64_t before = now_unix_nano();
  const uint64_t at = unix_nano_at(steady_nanos());
  const uint64_t after = now_unix_nano();
  EXPECT_GE(at + 20'000, before);
  EXPECT_LE(at, after + 20'000);
}

}  // namespace
}  // namespace convtrace
