#include <gtest/gtest.h>

#include <set>
#include <string>
#include <thread>

#include "processors/span_pool.h"

namespace convtrace {
namespace {

TEST(SpanDataPool, KeepsOnlySmallRecords) {
  SpanData small;
  small.name = "chat gpt-4o";
  small.attributes.push_back(Attribute{"gen_ai.request.model", std::string("gpt-4o")});
  EXPECT_TRUE(SpanDataPool::worth_keeping(small));

  SpanData long_value = small;
  long_value.attributes.push_back(Attribute{"gen_ai.input.messages", std::string(20000, 'x')});
  EXPECT_FALSE(SpanDataPool::worth_keeping(long_value));

  SpanData with_event = small;
  with_event.events.push_back(SpanEvent{"exception", 1, {}, 0});
  EXPECT_FALSE(SpanDataPool::worth_keeping(with_event));
}

TEST(SpanDataPool, ARecordGoesBackToTheStripeOfTheThreadThatWroteIt) {
  SpanDataPool pool(64);
  const size_t stripe = SpanDataPool::this_thread_stripe();
  SpanData* mine = pool.take().release();
  SpanData* other = pool.take().release();
  // Given back by another thread (the export thread does), each with its
  // writer's stripe: this thread gets its own record back first.
  std::thread exporter([&] {
    pool.give(other, true, stripe + 1);
    pool.give(mine, true, stripe);
  });
  exporter.join();
  std::unique_ptr<SpanData> first = pool.take();
  EXPECT_EQ(first.get(), mine);
  std::unique_ptr<SpanData> second = pool.take();  // borrowed from the other stripe
  EXPECT_EQ(second.get(), other);
}

TEST(SpanDataPool, OneThreadCanUseEveryStripe) {
  SpanDataPool pool(64);  // 17 records per stripe
  const size_t stripe = SpanDataPool::this_thread_stripe();
  std::set<SpanData*> given;
  for (int i = 0; i < 60; ++i) {
    SpanData* record = new SpanData();
    given.insert(record);
    pool.give(record, true, stripe);  // overflows into the other stripes
  }
  std::set<SpanData*> taken;
  for (int i = 0; i < 60; ++i) taken.insert(pool.take().release());
  EXPECT_EQ(taken, given);  // none was freed and replaced by a new one
  for (SpanData* record : taken) delete record;
}

TEST(SpanDataPool, AFullPoolFreesWhatItIsGiven) {
  SpanDataPool pool(4);  // two records per stripe
  const size_t stripe = SpanDataPool::this_thread_stripe();
  for (int i = 0; i < 20; ++i) pool.give(new SpanData(), true, stripe);
  // The surplus was freed (the sanitizer presets check nothing leaks); the
  // pool hands out what it kept, then new records.
  for (int i = 0; i < 20; ++i) EXPECT_NE(pool.take(), nullptr);
}

}  // namespace
}  // namespace convtrace
