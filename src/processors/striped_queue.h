// The batch processor's span queue, in stripes.
//
// With one queue, every application thread claims positions on one shared
// index and writes its spans into cache lines next to the other threads'
// spans, so each span end moves lines between cores. Here each thread pushes
// into a stripe of its own (by this_thread_stripe()); a full stripe
// overflows into the others, so a single busy thread still has the whole
// capacity before anything is dropped. The export thread, the only consumer,
// pops from the stripes in turn. Spans of different threads may leave in a
// different order than they ended, which OpenTelemetry allows.
#pragma once

#include <cstddef>
#include <memory>

#include "common/bounded_queue.h"
#include "common/striped_counter.h"

namespace convtrace {

template <typename T>
class StripedQueue {
 public:
  static constexpr size_t kMaxStripes = 4;  // a power of two

  // The stripes' capacities add up to `capacity` exactly (so fewer stripes
  // than kMaxStripes for a tiny queue).
  explicit StripedQueue(size_t capacity)
      : stripes_(capacity < kMaxStripes ? capacity : kMaxStripes) {
    for (size_t i = 0; i < stripes_; ++i) {
      size_t size = capacity / stripes_ + (i < capacity % stripes_ ? 1 : 0);
      queues_[i] = std::make_unique<BoundedQueue<T>>(size);
    }
  }

  // False when every stripe is full. On success, `position` receives the
  // count of earlier pushes into the stripe that took the value.
  bool try_push(T* value, size_t* position) {
    // Divisions are slow enough to show here: stripes_ is 4 but for tiny queues.
    size_t stripe = this_thread_stripe() & (kMaxStripes - 1);
    if (stripe >= stripes_) stripe %= stripes_;
    for (size_t i = 0; i < stripes_; ++i) {
      if (queues_[stripe]->try_push(value, position)) return true;
      if (++stripe == stripes_) stripe = 0;
    }
    return false;
  }

  // Null when every stripe is empty. For the single consumer only.
  T* try_pop() {
    for (size_t i = 0; i < stripes_; ++i) {
      size_t stripe = next_pop_;
      if (++next_pop_ == stripes_) next_pop_ = 0;
      if (T* value = queues_[stripe]->try_pop()) return value;
    }
    return nullptr;
  }

  size_t size_approx() const {
    size_t size = 0;
    for (size_t i = 0; i < stripes_; ++i) size += queues_[i]->size_approx();
    return size;
  }

  // See BoundedQueue::reset_after_fork.
  void reset_after_fork() {
    for (size_t i = 0; i < stripes_; ++i) queues_[i]->reset_after_fork();
    next_pop_ = 0;
  }

 private:
  const size_t stripes_;
  std::unique_ptr<BoundedQueue<T>> queues_[kMaxStripes];
  size_t next_pop_ = 0;  // consumer only
};

}  // namespace convtrace
