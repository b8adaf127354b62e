// What the store accepts, on SQLite and on PostgreSQL: times inside its range
// (checked, never wrapped into a negative INTEGER) and valid UTF-8 text
// (stored repaired).
#include <gtest/gtest.h>

#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "convtrace/diagnostics.h"
#include "convtrace/store.h"
#include "store/backends.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using testing::TempDir;

// A fresh store of the backend under test.
class StoreAdmission : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<Store> open() {
    auto store = Store::open(testing::fresh_location(GetParam(), dir));
    EXPECT_TRUE(store) << store.error().message;
    return store ? std::move(*store) : nullptr;
  }
  TempDir dir;
};

constexpr uint64_t kLast = 9223372036854775807ULL;  // 2262-04-11T23:47:16.854775807Z

SpanData span_at(uint8_t n, uint64_t start, std::string conversation = "c") {
  SpanData s;
  s.trace_id.bytes[0] = 0x5a;
  s.trace_id.bytes[15] = n;
  s.span_id.bytes[7] = n;
  s.name = "s";
  s.start_unix_nano = start;
  s.end_unix_nano = start;
  s.attributes = {{std::string(attr::kConversationId), std::move(conversation)},
                  {std::string(attr::kCostPicoUsd), int64_t{n}}};
  return s;
}

TEST_P(StoreAdmission, TimesUpToTheLastNanosecondAreKeptExactly) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->insert({span_at(1, 0), span_at(2, kLast)}));
  auto trace = store->load_trace(span_at(2, 0).trace_id.hex());
  ASSERT_TRUE(trace);
  ASSERT_EQ(trace->size(), 1u);
  EXPECT_EQ((*trace)[0].start_unix_nano, kLast);
  // The whole range as filters: both spans, nothing wrapped.
  ReportQuery q;
  q.by = ReportGroup::conversation;
  q.filter.since_unix_nano = 0;
  q.filter.until_unix_nano = kLast;
  auto rows = store->report(q);
  ASSERT_TRUE(rows) << rows.error().message;
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cost_pico_usd, 1)
      << "until is exclusive: the span at the last instant is out";
  q.filter.until_unix_nano.reset();
  q.filter.since_unix_nano = kLast;
  rows = store->report(q);
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cost_pico_usd, 2);
}

TEST_P(StoreAdmission, ATimePastTheRangeIsAnErrorAndNothingIsStored) {
  auto store = open();
  ASSERT_TRUE(store);
  SpanData late_event = span_at(3, 1000);
  late_event.events.push_back(SpanEvent{"e", kLast + 1, {}, 0});
  SpanData late_end = span_at(4, 1000);
  late_end.end_unix_nano = ~uint64_t{0};
  for (const SpanData& bad : {span_at(2, kLast + 1), late_end, late_event}) {
    Error e = store->insert({span_at(1, 1000), bad});
    EXPECT_EQ(e.code, Error::invalid_argument);
    EXPECT_NE(e.message.find(bad.span_id.hex()), std::string::npos) << e.message;
    EXPECT_NE(e.message.find("2262-04-11T23:47:16.854775807Z"), std::string::npos) << e.message;
  }
  EXPECT_EQ(*store->span_count(), 0);
}

TEST_P(StoreAdmission, AFilterPastTheRangeIsAnError) {
  auto store = open();
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->insert({span_at(1, 1000)}));
  ReportQuery q;
  q.filter.since_unix_nano = kLast + 1;  // 2262-04-12 and later, bound as int64, would be negative
  auto report = store->report(q);
  ASSERT_FALSE(report);
  EXPECT_EQ(report.error().code, Error::invalid_argument);
  EXPECT_NE(report.error().message.find("since_unix_nano"), std::string::npos);
  WorkflowQuery w;
  w.filter.until_unix_nano = ~uint64_t{0};
  auto runs = store->workflows(w);
  ASSERT_FALSE(runs);
  EXPECT_NE(runs.error().message.find("until_unix_nano"), std::string::npos);
  // Every question that takes times, and retention.
  EXPECT_EQ(store->report_total(q.filter).error().code, Error::invalid_argument);
  ConversationQuery c;
  c.filter.since_unix_nano = kLast + 1;
  EXPECT_EQ(store->conversations(c).error().code, Error::invalid_argument);
  auto pruned = store->prune(kLast + 1);
  ASSERT_FALSE(pruned);
  EXPECT_EQ(pruned.error().code, Error::invalid_argument);
  EXPECT_NE(pruned.error().message.find("before_unix_nano"), std::string::npos);
  EXPECT_EQ(*store->span_count(), 1);
}

TEST_P(StoreAdmission, TheLastDayIsReportedAndPrunedLikeAnyOther) {
  // Spans on the last day the store holds (on PostgreSQL, a partition whose
  // upper end is past BIGINT) and on the first.
  auto store = open();
  ASSERT_TRUE(store);
  const uint64_t last_midnight = kLast / testing::kDay * testing::kDay;
  ASSERT_FALSE(store->insert({span_at(1, 0), span_at(2, last_midnight), span_at(3, kLast)}));
  ReportQuery by_day(ReportGroup::day);
  auto days = store->report(by_day);
  ASSERT_TRUE(days) << days.error().message;
  ASSERT_EQ(days->size(), 2u);
  EXPECT_EQ((*days)[1].group, std::optional<std::string>("2262-04-11"));
  EXPECT_EQ((*days)[1].cost_pico_usd, 2 + 3);
  by_day.filter.since_unix_nano = last_midnight + 1;  // a partial last day
  days = store->report(by_day);
  ASSERT_TRUE(days) << days.error().message;
  ASSERT_EQ(days->size(), 1u);
  EXPECT_EQ((*days)[0].cost_pico_usd, 3);
  auto pruned = store->prune(kLast);
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(pruned->spans, 1);
  EXPECT_EQ(*store->span_count(), 2);
  auto total = store->report_total({});
  ASSERT_TRUE(total);
  EXPECT_EQ(total->cost_pico_usd, 2 + 3);
}

TEST_P(StoreAdmission, InvalidUtf8IsStoredRepaired) {
  TEST_reset_warnings();
  auto store = open();
  ASSERT_TRUE(store);
  SpanData s = span_at(1, 1000, "conv-\xff\xfe-x");
  s.name = "name\xC3";
  s.attributes.push_back({"k\xFF", std::vector<std::string>{"\xE2\x82"}});
  auto resource = std::make_shared<Resource>();
  resource->attributes = {{std::string(attr::kServiceName), std::string("svc\xFF")}};
  s.resource = resource;
  ASSERT_FALSE(store->insert({s, span_at(2, 1000)}));
  EXPECT_GE(warning_count(utf8::kWarning), 4u);
  const std::string R(utf8::kReplacement);
  auto conv = store->conversation("conv-" + R + R + "-x");
  ASSERT_TRUE(conv) << conv.error().message;
  auto trace = store->load_trace(s.trace_id.hex());
  ASSERT_TRUE(trace);
  ASSERT_EQ(trace->size(), 1u);
  EXPECT_TRUE(utf8::valid((*trace)[0]));
  EXPECT_EQ((*trace)[0].name, "name" + R);
  EXPECT_EQ(*find_string((*trace)[0].resource->attributes, attr::kServiceName), "svc" + R);
}

INSTANTIATE_TEST_SUITE_P(, StoreAdmission, ::testing::Values("sqlite", "postgresql"),
                         testing::backend_name);

}  // namespace
}  // namespace convtrace
