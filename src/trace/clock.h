// Time sources. Span start times are wall-clock (unix nanoseconds, as OTLP
// wants); durations come from the monotonic clock so a clock step never makes
// a span negative.
#pragma once

#include <chrono>
#include <cstdint>

namespace convtrace {

inline uint64_t now_unix_nano() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

inline std::chrono::steady_clock::time_point now_steady() {
  return std::chrono::steady_clock::now();
}

}  // namespace convtrace
