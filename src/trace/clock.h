// Time sources. Span times are wall-clock (unix nanoseconds, as OTLP wants);
// durations come from the monotonic clock so a clock step never makes a span
// negative.
#pragma once

#include <time.h>

#include <atomic>
#include <cstdint>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <x86intrin.h>
#define CONVTRACE_STEADY_TSC 1
#else
#define CONVTRACE_STEADY_TSC 0
#endif

namespace convtrace {

// CLOCK_MONOTONIC in nanoseconds, read directly.
inline int64_t monotonic_nanos() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// Wall-clock unix nanoseconds, read directly.
inline uint64_t now_unix_nano() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

// One thread's mapping from the CPU's time-stamp counter to CLOCK_MONOTONIC:
// nanoseconds = mono + (counter - tsc) * scale / 2^32, while the counter is
// less than `valid_ticks` past `tsc` (about a second). valid_ticks is 0 until
// the scale is known, and always where the counter is not usable.
struct SteadyAnchor {
  uint64_t tsc = 0;
  int64_t mono = 0;
  uint64_t scale = 0;  // nanoseconds per tick, 32.32 fixed point
  uint64_t valid_ticks = 0;
};
inline thread_local SteadyAnchor steady_anchor;

// Reads CLOCK_MONOTONIC and renews the calling thread's anchor.
int64_t steady_nanos_slow() noexcept;

// A time-stamp counter reading and a CLOCK_MONOTONIC reading taken together.
struct TscPair {
  uint64_t tsc = 0;
  int64_t mono = 0;
};

// What the process has learnt about its counter, shared by all threads.
struct TscRate {
  TscPair origin;                  // the process's first pair
  std::atomic<uint64_t> scale{0};  // the latest measured rate, 32.32 fixed point
  std::atomic<bool> unusable{false};
};

// The anchor-renewal step of steady_nanos_slow(), without reading any clock:
// renews `anchor` from the pair `now` and returns the reading to give. Pure
// but for `rate`, so that tests can feed it any counter behaviour.
int64_t renew_steady_anchor(SteadyAnchor& anchor, TscRate& rate, const TscPair& now) noexcept;

// Monotonic nanoseconds on CLOCK_MONOTONIC's time line: for durations only.
//
// A span reads this clock twice. Under the paravirtual clock sources of cloud
// machines (kvm-clock, Hyper-V) clock_gettime costs 25-50 ns, a third of an
// attribute-free span. Where the CPU's time-stamp counter runs at a constant
// rate on every core (x86-64 "invariant TSC"), reading it costs about 11 ns,
// so each thread scales the counter from an anchor it takes on
// CLOCK_MONOTONIC once a second, with a rate measured against that clock over
// the process's life. Readings stay within about a microsecond of the clock,
// and a thread's readings do not step back when its anchor is renewed. A
// rate that changes (a resumed or migrated virtual machine) sends the whole
// process back to clock_gettime. Elsewhere, and in a process's first 100 ms
// while the rate is measured, this is clock_gettime.
inline int64_t steady_nanos() {
#if CONVTRACE_STEADY_TSC
  const SteadyAnchor& a = steady_anchor;
  const uint64_t ticks = __rdtsc() - a.tsc;
  if (ticks < a.valid_ticks) {
    return a.mono + static_cast<int64_t>((static_cast<unsigned __int128>(ticks) * a.scale) >> 32);
  }
  return steady_nanos_slow();
#else
  return monotonic_nanos();
#endif
}

// Whether steady_nanos() currently scales the time-stamp counter on this
// thread (for tests and benchmarks).
inline bool steady_nanos_uses_tsc() { return steady_anchor.valid_ticks != 0; }

// The wall-clock time of a steady_nanos() reading. A span start reads only
// the steady clock, and each thread keeps the offset between the two clocks,
// refreshed once a second: a wall-clock step (NTP, an operator) reaches span
// timestamps within a second, and durations never depend on it.
inline uint64_t unix_nano_at(int64_t steady) {
  struct Anchor {
    int64_t offset = 0;
    int64_t refresh_at = INT64_MIN;
  };
  static thread_local Anchor anchor;
  if (steady >= anchor.refresh_at) {
    anchor.offset = static_cast<int64_t>(now_unix_nano()) - steady;
    anchor.refresh_at = steady + 1000000000;
  }
  return static_cast<uint64_t>(steady + anchor.offset);
}

}  // namespace convtrace
