#include <gtest/gtest.h>

#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

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
  bool named = false;
  std::unique_ptr<SpanData> record = pool.take("chat", &named);
  EXPECT_FALSE(named) << "a new record holds no name";
  SpanData* raw = record.release();
  // Given back by another thread (the export thread does), with the writer's stripe.
  std::thread exporter([&] { pool.give(raw, true, stripe); });
  exporter.join();
  std::unique_ptr<SpanData> again = pool.take("chat", &named);
  EXPECT_EQ(again.get(), raw);
}

TEST(SpanDataPool, AFullStripeFreesWhatItIsGiven) {
  SpanDataPool pool(4);  // one record per stripe, plus one
  size_t stripe = SpanDataPool::this_thread_stripe();
  for (int i = 0; i < 10; ++i) pool.give(new SpanData(), true, stripe);
  // The surplus was freed (the sanitizer presets check nothing leaks); the
  // stripe hands out what it kept, then new records.
  bool named = false;
  for (int i = 0; i < 10; ++i) EXPECT_NE(pool.take("", &named), nullptr);
}

SpanData* named_record(const char* name) {
  auto* r = new SpanData();
  r->name = name;
  return r;
}

// Each case runs on a thread of its own: the stash belongs to the thread.
template <typename F>
void on_new_thread(F f) {
  std::thread t(f);
  t.join();
}

// A span is given a record written for a span of its name when the stripe
// has one near its head; the record handed out for another name waits in the
// stash for the next span of that name.
TEST(SpanDataPool, ASpanGetsARecordOfItsNameAndTheOtherWaitsForItsOwn) {
  on_new_thread([] {
    SpanDataPool pool(64);
    const size_t stripe = SpanDataPool::this_thread_stripe();
    SpanData* db = named_record("SELECT orders");
    SpanData* http = named_record("POST /v1/chat");
    pool.give(db, true, stripe);
    pool.give(http, true, stripe);
    bool named = false;
    std::unique_ptr<SpanData> first = pool.take("POST /v1/chat", &named);
    EXPECT_EQ(first.get(), http);
    EXPECT_TRUE(named);
    std::unique_ptr<SpanData> second = pool.take("SELECT orders", &named);
    EXPECT_EQ(second.get(), db) << "kept aside for a span of its name";
    EXPECT_TRUE(named);
    std::unique_ptr<SpanData> third = pool.take("SELECT orders", &named);
    EXPECT_NE(third.get(), db);
    EXPECT_FALSE(named) << "the pool is empty: a new record";
  });
}

// Records kept for a name that does not come back leave the stash after a
// while, handed out as any record: the stash costs nothing for long.
TEST(SpanDataPool, RecordsOfANameThatStopsComingBackLeaveTheStash) {
  on_new_thread([] {
    SpanDataPool pool(256);
    const size_t stripe = SpanDataPool::this_thread_stripe();
    std::set<SpanData*> old = {named_record("old phase"), named_record("old phase")};
    for (SpanData* r : old) pool.give(r, true, stripe);
    for (int i = 0; i < 40; ++i) pool.give(named_record("new phase"), true, stripe);
    std::set<SpanData*> handed_out_unnamed;
    std::vector<std::unique_ptr<SpanData>> taken;
    for (int i = 0; i < 40; ++i) {
      bool named = false;
      taken.push_back(pool.take("new phase", &named));
      if (!named) handed_out_unnamed.insert(taken.back().get());
    }
    EXPECT_EQ(handed_out_unnamed, old) << "both old records went to new spans, and only they";
  });
}

}  // namespace
}  // namespace convtrace
