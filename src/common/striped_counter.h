// A counter bumped from many threads on the hot path.
//
// One std::atomic bumped by every thread that ends a span moves its cache
// line between cores on each increment; with two application threads that
// traffic alone cost more than the rest of a span's bookkeeping. Each thread
// adds to its own padded cell instead (threads are spread over the cells in
// the order they first count), and a read sums the cells.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace convtrace {

// A small number for the calling thread, the same on every call: threads are
// numbered in the order they first ask. Spreads per-thread state over stripes.
inline size_t this_thread_stripe() noexcept {
  static std::atomic<size_t> next{0};
  thread_local size_t stripe = next.fetch_add(1, std::memory_order_relaxed);
  return stripe;
}

class StripedCounter {
 public:
  void add(uint64_t n = 1) noexcept {
    cells_[this_thread_stripe() % kStripes].value.fetch_add(n, std::memory_order_relaxed);
  }

  uint64_t load() const noexcept {
    uint64_t sum = 0;
    for (const Cell& cell : cells_) sum += cell.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  static constexpr size_t kStripes = 8;
  struct alignas(64) Cell {
    std::atomic<uint64_t> value{0};
  };

  Cell cells_[kStripes];
};

}  // namespace convtrace
