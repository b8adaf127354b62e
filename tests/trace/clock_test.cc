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

// A counter at 2.5 GHz that started at 1000 ticks when the clock read 0.
TscPair pair_at(int64_t mono_ns) {
  return TscPair{1000 + static_cast<uint64_t>(mono_ns) * 5 / 2, mono_ns};
}

TEST(SteadyAnchor, TheCounterIsUsedOnlyOnceItsRateIsMeasured) {
  TscRate rate;
  rate.origin = pair_at(0);
  SteadyAnchor anchor;
  EXPECT_EQ(renew_steady_anchor(anchor, rate, pair_at(50'000'000)), 50'000'000);
  EXPECT_EQ(anchor.valid_ticks, 0u);  // 50 ms: too soon
  EXPECT_EQ(renew_steady_anchor(anchor, rate, pair_at(200'000'000)), 200'000'000);
  ASSERT_NE(anchor.valid_ticks, 0u);
  // 0.4 ns a tick; the anchor lasts about a second of ticks.
  EXPECT_NEAR(static_cast<double>(anchor.scale) / 4294967296.0, 0.4, 1e-9);
  EXPECT_NEAR(static_cast<double>(anchor.valid_ticks), 2.5e9, 1.0);
  // Scaling a later counter value from the anchor gives the clock's time.
  const TscPair later = pair_at(900'000'000);
  const uint64_t ticks = later.tsc - anchor.tsc;
  ASSERT_LT(ticks, anchor.valid_ticks);
  const int64_t scaled =
      anchor.mono +
      static_cast<int64_t>((static_cast<unsigned __int128>(ticks) * anchor.scale) >> 32);
  EXPECT_NEAR(static_cast<double>(scaled), 900'000'000.0, 2.0);
}

TEST(SteadyAnchor, ARenewalContinuesFromAnExtrapolationThatIsSlightlyAhead) {
  TscRate rate;
  rate.origin = pair_at(0);
  SteadyAnchor anchor;
  renew_steady_anchor(anchor, rate, pair_at(1'000'000'000));
  // The old anchor, scaled to 2 s, says 2 s + 300 ns: the renewal keeps that
  // lead instead of stepping back to the clock.
  anchor.mono += 300;
  // (Within the 32.32 fixed point's rounding.)
  EXPECT_NEAR(static_cast<double>(renew_steady_anchor(anchor, rate, pair_at(2'000'000'000))),
              2'000'000'300.0, 2.0);
  // A lead of 5 ms is not a rounding error: the clock wins.
  anchor.mono += 5'000'000;
  EXPECT_EQ(renew_steady_anchor(anchor, rate, pair_at(3'000'000'000)), 3'000'000'000);
  EXPECT_FALSE(rate.unusable.load());
}

TEST(SteadyAnchor, ACounterWhoseRateChangesIsGivenUpForGood) {
  TscRate rate;
  rate.origin = pair_at(0);
  SteadyAnchor anchor;
  renew_steady_anchor(anchor, rate, pair_at(1'000'000'000));
  ASSERT_NE(anchor.valid_ticks, 0u);
  // The counter jumped 2% ahead of the clock (a resumed virtual machine).
  TscPair jumped = pair_at(2'000'000'000);
  jumped.tsc += jumped.tsc / 50;
  EXPECT_EQ(renew_steady_anchor(anchor, rate, jumped), 2'000'000'000);
  EXPECT_EQ(anchor.valid_ticks, 0u);
  EXPECT_TRUE(rate.unusable.load());
  // Even a counter that looks right again is no longer used.
  EXPECT_EQ(renew_steady_anchor(anchor, rate, pair_at(3'000'000'000)), 3'000'000'000);
  EXPECT_EQ(anchor.valid_ticks, 0u);
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
