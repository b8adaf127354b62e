#include <gtest/gtest.h>

#include <set>
#include <thread>
#include <vector>

#include "processors/striped_queue.h"

namespace convtrace {
namespace {

TEST(StripedQueue, OneThreadCanFillTheWholeCapacity) {
  for (size_t capacity : {1u, 3u, 5u, 2048u}) {
    StripedQueue<int> queue(capacity);
    std::vector<int> values(capacity + 1);
    size_t position = 0;
    for (size_t i = 0; i < capacity; ++i) {
      ASSERT_TRUE(queue.try_push(&values[i], &position)) << capacity << " at " << i;
    }
    EXPECT_FALSE(queue.try_push(&values[capacity], &position)) << capacity;
    EXPECT_EQ(queue.size_approx(), capacity);
    size_t popped = 0;
    while (queue.try_pop()) ++popped;
    EXPECT_EQ(popped, capacity);
    EXPECT_EQ(queue.size_approx(), 0u);
  }
}

TEST(StripedQueue, ValuesFromManyThreadsAllComeOutOnce) {
  StripedQueue<int> queue(1 << 16);
  constexpr int kThreads = 6, kEach = 5000;
  std::vector<int> values(kThreads * kEach);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      size_t position = 0;
      for (int i = 0; i < kEach; ++i) queue.try_push(&values[t * kEach + i], &position);
    });
  }
  std::set<int*> seen;
  size_t popped = 0;
  auto drain = [&] {
    while (int* v = queue.try_pop()) {
      seen.insert(v);
      ++popped;
    }
  };
  for (auto& t : threads) {
    drain();  // the consumer runs while producers push
    t.join();
  }
  drain();
  EXPECT_EQ(popped, values.size());
  EXPECT_EQ(seen.size(), values.size());
}

}  // namespace
}  // namespace convtrace
