// Time sources. Span times are wall-clock (unix nanoseconds, as OTLP wants);
// durations come from the monotonic clock so a clock step never makes a span
// negative.
#pragma once

#include <time.h>

#include <cstdint>

namespace convtrace {

// Monotonic nanoseconds (CLOCK_MONOTONIC): for durations only.
inline int64_t steady_nanos() {
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

// The wall-clock time of a monotonic reading. Every clock read is a vDSO call
// (30–50 ns under a paravirtual clock source, a fifth of a span's budget), so
// a span start reads only the monotonic clock and each thread keeps the
// offset between the two clocks, refreshed once a second: a wall-clock step
// (NTP, an operator) reaches span timestamps within a second, and durations
// never depend on it.
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
