#include "trace/clock.h"

#include <atomic>

#if CONVTRACE_STEADY_TSC
#include <cpuid.h>
#endif

namespace convtrace {
namespace {

// The rate is measured over at least this long before the counter is used:
// a pair of readings is exact to about 100 ns, so the rate is then right to
// about one part in a million.
constexpr int64_t kMeasureRateForNanos = 100'000'000;
// How long a thread's anchor is used before it is taken again.
constexpr int64_t kAnchorNanos = 1'000'000'000;
// Two measurements of the rate that differ by more than this fraction mean
// the counter jumped (a migrated or resumed virtual machine): the process
// goes back to clock_gettime for good.
constexpr double kMaxRateChange = 1e-3;
// A renewed anchor continues from the old one's extrapolation when that is
// ahead of the clock by less than this, so readings do not step back.
constexpr int64_t kMaxCarriedLeadNanos = 1'000'000;

}  // namespace

int64_t renew_steady_anchor(SteadyAnchor& anchor, TscRate& rate, const TscPair& now) noexcept {
  const int64_t since = now.mono - rate.origin.mono;
  if (rate.unusable.load(std::memory_order_relaxed) || since < kMeasureRateForNanos ||
      now.tsc <= rate.origin.tsc) {
    anchor.valid_ticks = 0;
    return now.mono;
  }
  const uint64_t scale = static_cast<uint64_t>((static_cast<unsigned __int128>(since) << 32) /
                                               (now.tsc - rate.origin.tsc));
  const uint64_t previous = rate.scale.exchange(scale, std::memory_order_relaxed);
  const double change =
      previous ? static_cast<double>(scale > previous ? scale - previous : previous - scale) /
                     static_cast<double>(previous)
               : 0.0;
  if (scale == 0 || change > kMaxRateChange) {
    rate.unusable.store(true, std::memory_order_relaxed);
    anchor.valid_ticks = 0;
    return now.mono;
  }
  int64_t value = now.mono;
  if (anchor.scale != 0 && now.tsc > anchor.tsc) {
    const int64_t extrapolated =
        anchor.mono +
        static_cast<int64_t>(
            (static_cast<unsigned __int128>(now.tsc - anchor.tsc) * anchor.scale) >> 32);
    if (extrapolated > value && extrapolated - value < kMaxCarriedLeadNanos) value = extrapolated;
  }
  anchor.tsc = now.tsc;
  anchor.mono = value;
  anchor.scale = scale;
  anchor.valid_ticks =
      static_cast<uint64_t>((static_cast<unsigned __int128>(kAnchorNanos) << 32) / scale);
  return value;
}

#if CONVTRACE_STEADY_TSC
namespace {

// A reading of the clock that took longer than this many counter ticks was
// interrupted (a preempted virtual CPU); its pair is read again.
constexpr uint64_t kMaxPairTicks = 20'000;

bool counter_is_invariant() {
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0x80000000u, &eax, &ebx, &ecx, &edx) || eax < 0x80000007u) return false;
  if (!__get_cpuid(0x80000007u, &eax, &ebx, &ecx, &edx)) return false;
  return (edx & (1u << 8)) != 0;  // "invariant TSC": constant rate, runs in every C-state
}

// The counter and the clock read together; false if every try was interrupted.
bool read_pair(TscPair* out) {
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

}  // namespace

int64_t steady_nanos_slow() noexcept {
  static const bool invariant = counter_is_invariant();
  static TscRate rate;
  TscPair now;
  if (!invariant || rate.unusable.load(std::memory_order_relaxed) || !read_pair(&now)) {
    steady_anchor.valid_ticks = 0;
    return monotonic_nanos();
  }
  // Every rate is measured from the process's first pair, so the rate gets
  // more exact the longer the process runs. Set once, before any thread
  // goes on to use it.
  static const bool origin_taken = (rate.origin = now, true);
  (void)origin_taken;
  return renew_steady_anchor(steady_anchor, rate, now);
}

#else

int64_t steady_nanos_slow() noexcept { return monotonic_nanos(); }

#endif

}  // namespace convtrace
