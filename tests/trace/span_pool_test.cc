#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "trace/span_pool.h"

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
  size_t stripe = SpanDataPool::this_thread_stripe();
  std::unique_ptr<SpanData> record = pool.take();
  SpanData* raw = record.release();
  // Given back by another thread (the export thread does), with the writer's stripe.
  std::thread exporter([&] { pool.give(raw, true, stripe); });
  exporter.join();
  std::unique_ptr<SpanData> again = pool.take();
  EXPECT_EQ(again.get(), raw);
}

TEST(SpanDataPool, AFullStripeFreesWhatItIsGiven) {
  SpanDataPool pool(4);  // one record per stripe, plus one
  size_t stripe = SpanDataPool::this_thread_stripe();
  for (int i = 0; i < 10; ++i) pool.give(new SpanData(), true, stripe);
  // The surplus was freed (the sanitizer presets check nothing leaks); the
  // stripe hands out what it kept, then new records.
  for (int i = 0; i < 10; ++i) EXPECT_NE(pool.take(), nullptr);
}

}  // namespace
}  // namespace convtrace
