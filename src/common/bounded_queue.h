// A bounded multi-producer queue of pointers that never blocks.
//
// Dmitry Vyukov's array-based MPMC design: each cell carries a sequence
// number, producers claim a position with one compare-and-swap, and a full
// queue makes `try_push` return false at once. The sequence of the cell of
// position p is 2p while it waits for a push, 2p + 1 while it holds a value;
// counting in twos keeps the two states apart even with a single cell, where
// the classic p / p + 1 numbering let a push overwrite an unread value and a
// pop then spin forever. Application threads push
// finished spans; the export thread pops. No lock is taken on either side,
// so span end never waits for the exporter.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>

namespace convtrace {

template <typename T>
class BoundedQueue {
 public:
  explicit BoundedQueue(size_t capacity)
      : capacity_(capacity),
        mask_(capacity > 1 && (capacity & (capacity - 1)) == 0 ? capacity - 1 : 0),
        cells_(new Cell[capacity]) {
    for (size_t i = 0; i < capacity; ++i)
      cells_[i].sequence.store(2 * i, std::memory_order_relaxed);
  }

  size_t capacity() const { return capacity_; }

  // False when full; the caller keeps ownership of `value` then. On success,
  // `position` (when given) receives the count of pushes before this one.
  bool try_push(T* value, size_t* position = nullptr) {
    size_t pos = enqueue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[index(pos)];
      size_t seq = cell.sequence.load(std::memory_order_acquire);
      intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(2 * pos);
      if (diff == 0) {
        if (enqueue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          cell.value = value;
          cell.sequence.store(2 * pos + 1, std::memory_order_release);
          if (position) *position = pos;
          return true;
        }
      } else if (diff < 0) {
        return false;
      } else {
        pos = enqueue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  // Null when empty.
  T* try_pop() {
    size_t pos = dequeue_pos_.load(std::memory_order_relaxed);
    for (;;) {
      Cell& cell = cells_[index(pos)];
      size_t seq = cell.sequence.load(std::memory_order_acquire);
      intptr_t diff = static_cast<intptr_t>(seq) - static_cast<intptr_t>(2 * pos + 1);
      if (diff == 0) {
        if (dequeue_pos_.compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          T* value = cell.value;
          cell.sequence.store(2 * (pos + capacity_), std::memory_order_release);
          return value;
        }
      } else if (diff < 0) {
        return nullptr;
      } else {
        pos = dequeue_pos_.load(std::memory_order_relaxed);
      }
    }
  }

  // For a forked child only: a thread that was mid-push in the parent may have
  // claimed a cell it never published, which would block every later pop.
  // Starts the queue empty; what it held is abandoned (the parent owns it).
  void reset_after_fork() {
    for (size_t i = 0; i < capacity_; ++i)
      cells_[i].sequence.store(2 * i, std::memory_order_relaxed);
    enqueue_pos_.store(0, std::memory_order_relaxed);
    dequeue_pos_.store(0, std::memory_order_relaxed);
  }

  // Approximate: exact only when no push or pop is in flight.
  size_t size_approx() const {
    size_t e = enqueue_pos_.load(std::memory_order_relaxed);
    size_t d = dequeue_pos_.load(std::memory_order_relaxed);
    return e > d ? e - d : 0;
  }

 private:
  struct Cell {
    std::atomic<size_t> sequence;
    T* value = nullptr;
  };
  // A position's cell. A power-of-two capacity (the default 2048) avoids a
  // division on every push and pop.
  size_t index(size_t pos) const { return mask_ ? pos & mask_ : pos % capacity_; }

  const size_t capacity_;
  const size_t mask_;  // capacity_ - 1 for a power of two above 1, else 0
  std::unique_ptr<Cell[]> cells_;
  alignas(64) std::atomic<size_t> enqueue_pos_{0};
  alignas(64) std::atomic<size_t> dequeue_pos_{0};
};

}  // namespace convtrace
