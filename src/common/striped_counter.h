// A counter bumped from many threads on the hot path.
//
// One std::atomic bumped by every thread that ends a span moves its cache
// line between cores on each increment; with two application threads that
// traffic alone cost more than the rest of a span's bookkeeping. Each thread
// adds to a padded cell of its own instead, and a read sums the cells.
//
// The first kOwnedCells threads to count (threads are numbered in the order
// they first ask) each own a cell no other thread writes, so they add with a
// plain load and store: an atomic read-modify-write is a full barrier on
// x86, and one waits for every store the span made before it, to lines that
// are often not in the core's cache. Later threads share the remaining
// cells with atomic adds.
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
    const size_t thread = this_thread_stripe();
    if (thread < kOwnedCells) {
      std::atomic<uint64_t>& own = owned_[thread].value;
      own.store(own.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
    } else {
      shared_[thread % kSharedCells].value.fetch_add(n, std::memory_order_relaxed);
    }
  }

  uint64_t load() const noexcept {
    uint64_t sum = 0;
    for (const Cell& cell : owned_) sum += cell.value.load(std::memory_order_relaxed);
    for (const Cell& cell : shared_) sum += cell.value.load(std::memory_order_relaxed);
    return sum;
  }

 private:
  static constexpr size_t kOwnedCells = 16;
  static constexpr size_t kSharedCells = 8;
  struct alignas(64) Cell {
    std::atomic<uint64_t> value{0};
  };

  Cell owned_[kOwnedCells];
  Cell shared_[kSharedCells];
};

}  // namespace convtrace
