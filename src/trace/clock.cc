#include "trace/clock.h"

#include <atomic>

#if CONVTRACE_STEADY_TSC
#include <cpuid.h>
#endif

namespace convtrace {

#if CONVTRACE_STEADY_TSC
namespace {

// The rate is measured over at least this long before the counter is used:
// a pair of readings is exact to about 100 ns, so the rate is then right to
// about one part in a million.
constexpr int64_t kMeasureRateForNanos = 100'000'000;
// How long a thread's anchor is used before it is taken again.
constexpr int64_t kAnchorNanos = 1'000'000'000;
// A reading of the clock that took longer than this many counter ticks was
// interrupted (a preempted virtual CPU); its pair is read again.
constexpr uint64_t kMaxPairTicks = 20'000;
// Two measurements of the rate that differ by more than this fraction mean
// the counter jumped (a migrated or resumed virtual machine): the process
// goes back to clock_gettime for good.
constexpr double kMaxRateChange = 1e-3;

bool counter_is_invariant() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) || eax < 0x80000007u) return false;
  if (!__get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx)) return false;
  return (edx & (1u << 8)) != 0;  // "invariant TSC": constant rate, runs in every C-state
}

struct Pair {
  uint64_t tsc = 0;
  int64_t mono = 0;
};

// The counter and the clock read together; false if every try was interrupted.
bool read_pair(Pair* out) {
  for (int attempt = 0; attempt < 4; ++attempt) {
    const uint64_t before = __rdtsc();
    const int64_t mono = monotonic_nanos();
    const uint64_t after = __rdtsc();
    if (after - before < kMaxPairTicks) {
      out->tsc = before + (after - before) / 2;
      out->mono = mono;
      return true;
    }
  }
  return false;
}

std::atomic<uint64_t> measured_scale{0};
std::atomic<bool> counter_unusable{false};

}  // namespace

int64_t steady_nanos_slow() noexcept {
  static const bool invariant = counter_is_invariant();
  SteadyAnchor& anchor = steady_anchor;
  Pair now;
  if (!invariant || counter_unusable.load(std::memory_order_relaxed) || !read_pair(&now)) {
    anchor.valid_ticks = 0;
    return monotonic_nanos();
  }
  // The process's first pair; every rate is measured from it, so the rate
  // gets more exact the longer the process runs.
  static const Pair origin = now;
  const int64_t since = now.mono - origin.mono;
  if (since < kMeasureRateForNanos || now.tsc <= origin.tsc) {
    anchor.valid_ticks = 0;
    return now.mono;
  }
  const uint64_t scale =
      static_cast<uint64_t>((static_cast<unsigned __int128>(since) << 32) / (now.tsc - origin.tsc));
  const uint64_t previous = measured_scale.exchange(scale, std::memory_order_relaxed);
  const double change =
      previous ? static_cast<double>(scale > previous ? scale - previous : previous - scale) /
                     static_cast<double>(previous)
               : 0.0;
  if (scale == 0 || change > kMaxRateChange) {
    counter_unusable.store(true, std::memory_order_relaxed);
    anchor.valid_ticks = 0;
    return now.mono;
  }
  // Never step back on one thread: when the old anchor's extrapolation is a
  // little ahead of the clock, continue from it.
  int64_t value = now.mono;
  if (anchor.scale != 0 && now.tsc > anchor.tsc) {
    const int64_t extrapolated =
        anchor.mono +
        static_cast<int64_t>(
            (static_cast<unsigned __int128>(now.tsc - anchor.tsc) * anchor.scale) >> 32);
    if (extrapolated > value && extrapolated - value < 1'000'000) value = extrapolated;
  }
  anchor.tsc = now.tsc;
  anchor.mono = value;
  anchor.scale = scale;
  anchor.valid_ticks =
      static_cast<uint64_t>((static_cast<unsigned __int128>(kAnchorNanos) << 32) / scale);
  return value;
}

#else

int64_t steady_nanos_slow() noexcept { return monotonic_nanos(); }

#endif

}  // namespace convtrace
