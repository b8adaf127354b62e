// The store on SQLite and on PostgreSQL (a real server, started by this
// program): every report, listing and retention gives what an independent
// reference model computes from the spans, on both backends alike.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "common/utf8.h"
#include "store/backends.h"

namespace convtrace {
namespace {

using testing::fresh_location;
using testing::kDay;
using testing::kMarch1;
using testing::kSecond;
using testing::TempDir;

// Inserts `spans` in batches of `batch`, each tried again while other writers
// hold it off (unavailable), as a client would; the batches that failed.
int insert_retrying(Store& store, const std::vector<SpanData>& spans, size_t batch) {
  int failed = 0;
  for (size_t at = 0; at < spans.size(); at += batch) {
    std::vector<SpanData> part(
        spans.begin() + static_cast<long>(at),
        spans.begin() + static_cast<long>(std::min(spans.size(), at + batch)));
    Error e;
    for (int attempt = 0; attempt < 20; ++attempt) {
      e = store.insert(part);
      if (!e || e.code != Error::unavailable) break;
    }
    if (e) ++failed;
  }
  return failed;
}

// The workflow runs of `got` equal those of `want`, run by run.
void expect_same_runs(Store& got, Store& want) {
  auto a = got.workflows(WorkflowQuery{});
  auto b = want.workflows(WorkflowQuery{});
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    const WorkflowRun& x = (*a)[i];
    const WorkflowRun& y = (*b)[i];
    EXPECT_EQ(x.workflow_id, y.workflow_id);
    EXPECT_EQ(x.cost_pico_usd, y.cost_pico_usd);
    EXPECT_EQ(x.llm_calls, y.llm_calls);
    EXPECT_EQ(x.start_unix_nano, y.start_unix_nano);
    EXPECT_EQ(x.end_unix_nano, y.end_unix_nano);
    EXPECT_EQ(x.user_id, y.user_id) << x.workflow_id;
  }
}

// The report of `got` grouped by `by` equals that of `want`, row by row.
void expect_same_report(Store& got, Store& want, ReportGroup by) {
  ReportQuery query;
  query.by = by;
  auto a = got.report(query);
  auto b = want.report(query);
  ASSERT_TRUE(a && b);
  ASSERT_EQ(a->size(), b->size());
  for (size_t i = 0; i < a->size(); ++i) {
    EXPECT_EQ((*a)[i].group, (*b)[i].group);
    EXPECT_EQ((*a)[i].cost_pico_usd, (*b)[i].cost_pico_usd);
    EXPECT_EQ((*a)[i].llm_calls, (*b)[i].llm_calls);
    EXPECT_EQ((*a)[i].spans, (*b)[i].spans);
    EXPECT_EQ((*a)[i].conversations, (*b)[i].conversations);
  }
}

class Backends : public ::testing::TestWithParam<std::string> {
 protected:
  std::string location() { return fresh_location(GetParam(), dir_); }
  std::unique_ptr<Store> open(const std::string& where, StoreOptions options = {}) {
    auto s = Store::open(where, options);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  // A fresh store holding `spans`, stored in batches of 37.
  std::unique_ptr<Store> open_with(const std::vector<SpanData>& spans) {
    auto store = open(location());
    if (store) insert(*store, spans, 37);
    return store;
  }
  // Partial days at both ends of the range: roll-ups and spans.
  static StoreFilter partial_days() {
    StoreFilter f;
    f.since_unix_nano = kMarch1 + kDay / 2 + 17 * kSecond;
    f.until_unix_nano = kMarch1 + 2 * kDay + 5 * 3600 * kSecond;
    return f;
  }
  // Inserts `spans` in batches of `batch`, in order.
  void insert(Store& store, const std::vector<SpanData>& spans, size_t batch = 50) {
    for (size_t at = 0; at < spans.size(); at += batch) {
      std::vector<SpanData> part(
          spans.begin() + static_cast<long>(at),
          spans.begin() + static_cast<long>(std::min(spans.size(), at + batch)));
      Error e = store.insert(part);
      ASSERT_FALSE(e) << e.message;
    }
  }
  // Every grouping under several filters, against the reference model.
  void expect_reports(const Store& store, const std::vector<SpanData>& spans) {
    std::vector<std::pair<std::string, StoreFilter>> filters;
    filters.emplace_back("all", StoreFilter{});
    StoreFilter days;  // whole days only: roll-ups alone
    days.since_unix_nano = kMarch1 + kDay;
    days.until_unix_nano = kMarch1 + 3 * kDay;
    filters.emplace_back("whole days", days);
    StoreFilter edges;  // partial days at both ends: roll-ups and spans
    edges.since_unix_nano = kMarch1 + kDay / 2 + 17 * kSecond;
    edges.until_unix_nano = kMarch1 + 2 * kDay + 5 * 3600 * kSecond;
    filters.emplace_back("partial days", edges);
    StoreFilter long_edges;  // edges of more than half a day: whole days minus the rest
    long_edges.since_unix_nano = kMarch1 + 2 * 3600 * kSecond + 11;
    long_edges.until_unix_nano = kMarch1 + 2 * kDay + 20 * 3600 * kSecond;
    filters.emplace_back("edges of more than half a day", long_edges);
    StoreFilter long_edges_user = long_edges;
    long_edges_user.user_id = "globex";
    filters.emplace_back("edges of more than half a day, user", long_edges_user);
    StoreFilter hours;  // within one day: spans alone
    hours.since_unix_nano = kMarch1 + kDay + 3600 * kSecond;
    hours.until_unix_nano = kMarch1 + kDay + 9 * 3600 * kSecond;
    filters.emplace_back("hours", hours);
    StoreFilter since;
    since.since_unix_nano = kMarch1 + kDay + 12 * 3600 * kSecond;
    filters.emplace_back("since", since);
    StoreFilter months;  // from the month before: whole months and days of roll-ups
    months.since_unix_nano = kMarch1 - 2 * kDay - 12 * 3600 * kSecond;
    filters.emplace_back("across months", months);
    StoreFilter before;
    before.since_unix_nano = kMarch1 - 20 * kDay;
    before.until_unix_nano = kMarch1 + kDay + 6 * 3600 * kSecond;
    filters.emplace_back("across months, until", before);
    StoreFilter user = edges;
    user.user_id = "acme";
    filters.emplace_back("user", user);
    StoreFilter type;
    type.workflow_type = "rag_v2";
    filters.emplace_back("type", type);
    for (ReportGroup by : {ReportGroup::user, ReportGroup::model, ReportGroup::workflow_type,
                           ReportGroup::day, ReportGroup::conversation}) {
      for (const auto& [name, f] : filters) {
        std::string what = std::string(to_string(by)) + " / " + name;
        auto got = store.report(ReportQuery{by, f});
        ASSERT_TRUE(got) << what << ": " << got.error().message;
        testing::expect_rows_equal(*got, testing::reference_report(spans, by, f), what);
        auto total = store.report_total(f);
        ASSERT_TRUE(total) << total.error().message;
        int64_t cost = 0, calls = 0;
        for (const ReportRow& r : *got) {
          cost += r.cost_pico_usd;
          calls += r.llm_calls;
        }
        EXPECT_EQ(total->cost_pico_usd, cost) << what;
        EXPECT_EQ(total->llm_calls, calls) << what;
      }
    }
  }
  void expect_conversations(const Store& store, const std::vector<SpanData>& spans) {
    auto want = testing::reference_conversations(spans);
    ConversationQuery q;
    q.sort = ConversationSort::id;
    auto got = store.conversations(q);
    ASSERT_TRUE(got) << got.error().message;
    ASSERT_EQ(got->size(), want.size());
    for (const ConversationSummary& c : *got) {
      SCOPED_TRACE(c.conversation_id);
      ASSERT_TRUE(want.count(c.conversation_id));
      const ConversationSummary& w = want[c.conversation_id];
      EXPECT_EQ(c.user_id, w.user_id);
      EXPECT_EQ(c.first_seen_unix_nano, w.first_seen_unix_nano);
      EXPECT_EQ(c.last_seen_unix_nano, w.last_seen_unix_nano);
      EXPECT_EQ(c.turns, w.turns);
      EXPECT_EQ(c.spans, w.spans);
      EXPECT_EQ(c.llm_calls, w.llm_calls);
      EXPECT_EQ(c.unpriced_calls, w.unpriced_calls);
      EXPECT_EQ(c.cost_pico_usd, w.cost_pico_usd);
      EXPECT_EQ(c.input_tokens, w.input_tokens);
      EXPECT_EQ(c.errors, w.errors);
      EXPECT_EQ(c.workflow_runs, w.workflow_runs);
    }
  }

  TempDir dir_;
};

TEST_P(Backends, KeepsEverySpanOnceAndGivesItBackWhole) {
  auto store = open(location());
  ASSERT_TRUE(store);
  EXPECT_EQ(store->schema_version(), kStoreSchemaVersion);
  EXPECT_EQ(store->backend_name(), GetParam());
  std::vector<SpanData> spans = testing::synthetic_spans(3);
  spans[0].attributes.push_back({"bytes", std::string("a\0b\xff", 4)});
  spans[0].events.push_back(SpanEvent{"exception", spans[0].start_unix_nano + 5, {{"k", 1.5}}, 1});
  SpanLink link;
  link.trace_id = testing::trace_n(999);
  link.span_id = testing::span_n(999);
  link.attributes = {{"why", std::string("follows")}};
  spans[0].links.push_back(link);
  insert(*store, spans);
  insert(*store, spans, 7);  // again, in other batches: a client retrying
  EXPECT_EQ(*store->span_count(), static_cast<int64_t>(spans.size()));
  auto back = store->load_trace(spans[0].trace_id.hex());
  ASSERT_TRUE(back) << back.error().message;
  const SpanData* got = nullptr;
  for (const SpanData& s : *back) {
    if (s.span_id == spans[0].span_id) got = &s;
  }
  ASSERT_NE(got, nullptr);
  // Every byte as sent, but text enters the store valid UTF-8 (the NUL stays).
  SpanData want = spans[0];
  EXPECT_EQ(utf8::repair(want), 1u);
  ASSERT_EQ(got->attributes.size(), want.attributes.size());
  for (size_t i = 0; i < got->attributes.size(); ++i) {
    EXPECT_EQ(got->attributes[i].key, want.attributes[i].key);
    EXPECT_TRUE(got->attributes[i].value == want.attributes[i].value) << got->attributes[i].key;
  }
  ASSERT_EQ(got->events.size(), 1u);
  EXPECT_EQ(got->events[0].dropped_attributes_count, 1u);
  ASSERT_EQ(got->links.size(), 1u);
  EXPECT_EQ(got->links[0].span_id, link.span_id);
  ASSERT_TRUE(got->resource);
  EXPECT_EQ(*find_string(got->resource->attributes, attr::kServiceName), "bot");
  ASSERT_TRUE(got->scope);
  EXPECT_EQ(got->scope->name, "convtrace");
  // Counted once too.
  testing::expect_rows_equal(*store->report(ReportQuery{ReportGroup::user}),
                             testing::reference_report(spans, ReportGroup::user, {}), "user");
}

// Text holding the characters that text formats give a meaning of their own
// (tab, newline, carriage return, backslash, and "\N", COPY's NULL) comes
// back as sent, in columns and in the packed attributes, and is found by
// what it says.
TEST_P(Backends, TextWithControlCharactersComesBackAsSent) {
  auto store = open(location());
  ASSERT_TRUE(store);
  std::vector<SpanData> spans = testing::synthetic_spans(1);
  SpanData& s = spans[0];
  const std::string odd = "a\tb\nc\rd\\e \\N \\. \\x00";
  s.name = "chat " + odd;
  s.trace_state = "k=v\\";
  s.status.code = StatusCode::error;
  s.status.description = odd;
  s.attributes.push_back({"odd", odd});
  for (Attribute& a : s.attributes) {
    if (a.key == attr::kConversationId) a.value = "conv\t" + odd;
    if (a.key == attr::kUserId) a.value = "\\N";
  }
  insert(*store, spans);
  auto back = store->load_trace(s.trace_id.hex());
  ASSERT_TRUE(back) << back.error().message;
  const SpanData* got = nullptr;
  for (const SpanData& b : *back) {
    if (b.span_id == s.span_id) got = &b;
  }
  ASSERT_NE(got, nullptr);
  EXPECT_EQ(got->name, s.name);
  EXPECT_EQ(got->trace_state, s.trace_state);
  EXPECT_EQ(got->status.description, odd);
  ASSERT_NE(find_string(got->attributes, "odd"), nullptr);
  EXPECT_EQ(*find_string(got->attributes, "odd"), odd);
  auto conv = store->conversation("conv\t" + odd);
  ASSERT_TRUE(conv) << conv.error().message;
  EXPECT_EQ(conv->user_ids, std::vector<std::string>{"\\N"});
  testing::expect_rows_equal(*store->report(ReportQuery{ReportGroup::user}),
                             testing::reference_report(spans, ReportGroup::user, {}), "user");
}

TEST_P(Backends, ReportsEqualTheSpansTheySumUnderEveryFilter) {
  auto store = open(location());
  ASSERT_TRUE(store);
  std::vector<SpanData> spans = testing::synthetic_spans(60);
  insert(*store, spans, 37);
  expect_reports(*store, spans);
  expect_conversations(*store, spans);
  // The traffic has what the reports must count: priced and disagreeing
  // calls of another SDK, unpriced calls.
  auto total = testing::reference_report(spans, ReportGroup::day, {});
  int64_t disagreements = 0, unpriced = 0;
  for (const ReportRow& r : total) {
    disagreements += r.cost_disagreements;
    unpriced += r.unpriced_calls;
  }
  EXPECT_GT(disagreements, 0);
  EXPECT_GT(unpriced, 0);
}

// A model filter (the UI's spend over time by model): each model's days sum
// to that model's row, over roll-ups and over the spans of partial days.
TEST_P(Backends, AModelFilterGivesThatModelsShareOfEveryDay) {
  std::vector<SpanData> spans = testing::synthetic_spans(60);
  auto store = open_with(spans);
  ASSERT_TRUE(store);
  const StoreFilter edges = partial_days();
  for (const StoreFilter& range : {StoreFilter{}, edges}) {
    auto models = store->report(ReportQuery{ReportGroup::model, range});
    ASSERT_TRUE(models) << models.error().message;
    ASSERT_GE(models->size(), 3u);
    int64_t all_days = 0;
    for (const ReportRow& m : *models) {
      StoreFilter f = range;
      f.model = m.group.value_or("");
      auto days = store->report(ReportQuery{ReportGroup::day, f});
      ASSERT_TRUE(days) << days.error().message;
      int64_t cost = 0, input = 0, calls = 0;
      for (const ReportRow& d : *days) {
        cost += d.cost_pico_usd;
        input += d.input_tokens;
        calls += d.llm_calls;
      }
      EXPECT_EQ(cost, m.cost_pico_usd) << f.model.value();
      EXPECT_EQ(input, m.input_tokens) << f.model.value();
      EXPECT_EQ(calls, m.llm_calls) << f.model.value();
      all_days += cost;
    }
    EXPECT_EQ(all_days, store->report_total(range)->cost_pico_usd);
  }
  StoreFilter by_model;
  by_model.model = "gpt-4o";
  ConversationQuery conversations;
  conversations.filter = by_model;
  EXPECT_EQ(store->conversations(conversations).error().code, Error::invalid_argument);
  WorkflowQuery runs;
  runs.filter = by_model;
  EXPECT_EQ(store->workflows(runs).error().code, Error::invalid_argument);
}

// Latency percentiles by user and by model against the durations of the calls.
TEST_P(Backends, LatencyPercentilesOfTheCallsOfEachGroup) {
  std::vector<SpanData> spans = testing::synthetic_spans(60);
  auto store = open_with(spans);
  ASSERT_TRUE(store);
  const StoreFilter edges = partial_days();
  for (ReportGroup by : {ReportGroup::user, ReportGroup::model}) {
    for (const StoreFilter& f : {StoreFilter{}, edges}) {
      std::map<std::string, std::vector<uint64_t>> want;
      for (const SpanData& s : spans) {
        testing::RefSpan r = testing::ref_of(s);
        if (!r.input && !r.output && !r.cost) continue;
        if (f.since_unix_nano && r.start < *f.since_unix_nano) continue;
        if (f.until_unix_nano && r.start >= *f.until_unix_nano) continue;
        want[by == ReportGroup::user ? r.user : r.model].push_back(r.end - r.start);
      }
      auto got = store->latency(by, f);
      ASSERT_TRUE(got) << got.error().message;
      ASSERT_EQ(got->size(), want.size());
      for (const LatencyRow& row : *got) {
        std::vector<uint64_t>& d = want[row.group.value_or("")];
        std::sort(d.begin(), d.end());
        ASSERT_EQ(row.calls, static_cast<int64_t>(d.size()));
        EXPECT_EQ(row.p50_nano, d[(50 * d.size() + 99) / 100 - 1]);
        EXPECT_EQ(row.p95_nano, d[(95 * d.size() + 99) / 100 - 1]);
        EXPECT_EQ(row.max_nano, d.back());
      }
    }
  }
  EXPECT_EQ(store->latency(ReportGroup::day, {}).error().code, Error::invalid_argument);
}

// Spend by hour: the days' costs cut into hours, under the same filters; the
// providers the calls named, for each model.
TEST_P(Backends, SpendByHourIsEachHoursCostOfEachModel) {
  std::vector<SpanData> spans = testing::synthetic_spans(60);
  for (SpanData& s : spans) {
    testing::RefSpan r = testing::ref_of(s);
    if (r.model == "gpt-4o") s.attributes.push_back({std::string(attr::kProviderName), "openai"});
    if (r.model == "claude-sonnet-4-5") {
      s.attributes.push_back({std::string(attr::kSystemDeprecated), "anthropic"});
    }
  }
  auto store = open_with(spans);
  ASSERT_TRUE(store);
  constexpr uint64_t kHour = 3600 * kSecond;
  StoreFilter one_user = partial_days();
  one_user.user_id = testing::ref_of(spans[0]).user;
  for (const StoreFilter& f : {partial_days(), one_user}) {
    std::map<std::pair<uint64_t, std::string>, int64_t> want;
    for (const SpanData& s : spans) {
      testing::RefSpan r = testing::ref_of(s);
      if (!r.cost || r.start < *f.since_unix_nano || r.start >= *f.until_unix_nano) continue;
      if (f.user_id && r.user != *f.user_id) continue;
      want[{r.start / kHour * kHour, r.model}] += *r.cost;
    }
    auto got = store->spend_by_hour(f);
    ASSERT_TRUE(got) << got.error().message;
    std::map<std::pair<uint64_t, std::string>, int64_t> seen;
    uint64_t previous = 0;
    for (const HourlySpend& h : *got) {
      EXPECT_GE(h.hour_start_unix_nano, previous);  // hour by hour
      previous = h.hour_start_unix_nano;
      seen[{h.hour_start_unix_nano, h.model.value_or("")}] = h.cost_pico_usd;
    }
    EXPECT_EQ(seen, want);
    EXPECT_GT(seen.size(), 2u);
  }
  StoreFilter open_ended;
  open_ended.since_unix_nano = kMarch1;
  EXPECT_EQ(store->spend_by_hour(open_ended).error().code, Error::invalid_argument);
  StoreFilter too_long = open_ended;
  too_long.until_unix_nano = kMarch1 + 32 * kDay;
  EXPECT_EQ(store->spend_by_hour(too_long).error().code, Error::invalid_argument);

  auto providers = store->providers({"gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro", "nothing"});
  ASSERT_TRUE(providers) << providers.error().message;
  EXPECT_EQ(*providers, (std::map<std::string, std::string>{{"claude-sonnet-4-5", "anthropic"},
                                                            {"gpt-4o", "openai"}}));
}

TEST_P(Backends, ListingsSortAndPageConsistently) {
  auto store = open(location());
  ASSERT_TRUE(store);
  std::vector<SpanData> spans = testing::synthetic_spans(40);
  insert(*store, spans);
  for (ConversationSort sort : {ConversationSort::last_seen, ConversationSort::cost,
                                ConversationSort::turns, ConversationSort::first_seen}) {
    ConversationQuery q;
    q.sort = sort;
    auto all = store->conversations(q);
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 40u);
    std::vector<ConversationSummary> paged;
    for (int64_t off = 0; off < 40; off += 7) {
      q.page = {7, off};
      auto page = store->conversations(q);
      ASSERT_TRUE(page);
      paged.insert(paged.end(), page->begin(), page->end());
    }
    ASSERT_EQ(paged.size(), all->size());
    for (size_t i = 0; i < paged.size(); ++i) {
      EXPECT_EQ(paged[i].conversation_id, (*all)[i].conversation_id) << to_string(sort) << i;
    }
    if (sort == ConversationSort::cost) {
      for (size_t i = 1; i < all->size(); ++i) {
        EXPECT_GE((*all)[i - 1].cost_pico_usd, (*all)[i].cost_pico_usd);
      }
    }
  }
  ConversationQuery acme;
  acme.filter.user_id = "acme";
  auto mine = store->conversations(acme);
  ASSERT_TRUE(mine);
  EXPECT_EQ(mine->size(), 10u);
  for (const auto& c : *mine) EXPECT_EQ(c.user_id, "acme");
  acme.filter.workflow_type = "rag_v1";
  EXPECT_EQ(store->conversations(acme).error().code, Error::invalid_argument);

  // Runs: the chunked reading gives every run once, in order, at any page.
  WorkflowQuery wq;
  auto runs = store->workflows(wq);
  ASSERT_TRUE(runs) << runs.error().message;
  size_t expected_runs = 0;
  for (int c = 0; c < 40; ++c) expected_runs += static_cast<size_t>(c % 3 + 1);
  ASSERT_EQ(runs->size(), expected_runs);
  for (size_t i = 1; i < runs->size(); ++i) {
    EXPECT_GE((*runs)[i - 1].cost_pico_usd, (*runs)[i].cost_pico_usd);
  }
  for (const WorkflowRun& r : *runs) {
    EXPECT_TRUE(r.cost_from_workflow_span) << r.workflow_id;
    EXPECT_FALSE(r.costliest_step.empty()) << r.workflow_id;
  }
  wq.page = {5, 3};
  auto page = store->workflows(wq);
  ASSERT_TRUE(page);
  ASSERT_EQ(page->size(), 5u);
  EXPECT_EQ((*page)[0].workflow_id, (*runs)[3].workflow_id);
  wq.page = {};
  wq.sort = WorkflowSort::id;
  auto by_id = store->workflows(wq);
  ASSERT_TRUE(by_id);
  ASSERT_EQ(by_id->size(), runs->size());
  for (size_t i = 1; i < by_id->size(); ++i) {
    EXPECT_LT((*by_id)[i - 1].workflow_id, (*by_id)[i].workflow_id);
  }
  wq.sort = WorkflowSort::cost;
  wq.min_cost_pico_usd = (*runs)[9].cost_pico_usd;
  wq.filter.workflow_type = "rag_v2";
  auto costly = store->workflows(wq);
  ASSERT_TRUE(costly);
  for (const WorkflowRun& r : *costly) {
    EXPECT_GE(r.cost_pico_usd, *wq.min_cost_pico_usd);
    EXPECT_EQ(r.workflow_type, "rag_v2");
  }
}

// More runs than one chunk of the listing reads at a time, under sorts with
// many ties (llm calls, errors) and without (cost, id): every run comes once,
// in the order and with the ties broken as documented, across chunk ends.
TEST_P(Backends, RunListingsCrossChunkBoundariesInOrder) {
  auto store = open(location());
  ASSERT_TRUE(store);
  insert(*store, testing::synthetic_spans(300));
  for (WorkflowSort sort : {WorkflowSort::cost, WorkflowSort::llm_calls, WorkflowSort::errors,
                            WorkflowSort::start, WorkflowSort::id}) {
    for (bool descending : {true, false}) {
      WorkflowQuery q;
      q.sort = sort;
      q.descending = descending;
      auto runs = store->workflows(q);
      ASSERT_TRUE(runs) << runs.error().message;
      ASSERT_EQ(runs->size(), 600u) << static_cast<int>(sort);
      std::set<std::string> ids;
      for (const WorkflowRun& r : *runs) ids.insert(r.workflow_id);
      EXPECT_EQ(ids.size(), runs->size());
      auto key = [&](const WorkflowRun& r) -> int64_t {
        switch (sort) {
          case WorkflowSort::cost:
            return r.cost_pico_usd;
          case WorkflowSort::llm_calls:
            return r.llm_calls;
          case WorkflowSort::errors:
            return r.errors;
          case WorkflowSort::start:
            return static_cast<int64_t>(r.start_unix_nano);
          case WorkflowSort::id:
            return 0;
        }
        return 0;
      };
      for (size_t i = 1; i < runs->size(); ++i) {
        const WorkflowRun &a = (*runs)[i - 1], &b = (*runs)[i];
        const std::string where = a.workflow_id + " before " + b.workflow_id;
        if (key(a) != key(b)) {
          EXPECT_EQ(key(a) > key(b), descending) << where;
          continue;
        }
        if (sort == WorkflowSort::cost && a.start_unix_nano != b.start_unix_nano) {
          EXPECT_LT(a.start_unix_nano, b.start_unix_nano) << where;
          continue;
        }
        if (sort == WorkflowSort::id) {
          EXPECT_EQ(a.workflow_id > b.workflow_id, descending) << where;
        } else {
          EXPECT_LT(a.workflow_id, b.workflow_id) << where;
        }
      }
    }
  }
}

// Inserts that arrive while another is being written wait, then go in one
// transaction together (group commit): each still gets its result, a span
// sent twice (a retried request) is stored once, and the sums agree.
TEST_P(Backends, ConcurrentInsertsShareTransactions) {
  auto store = open(location());
  ASSERT_TRUE(store);
  std::vector<SpanData> spans = testing::synthetic_spans(40);
  const size_t parts = 8, size = spans.size() / parts + 1;
  std::vector<std::vector<SpanData>> batches(parts);
  for (size_t i = 0; i < spans.size(); ++i) batches[i / size].push_back(spans[i]);
  batches.push_back(batches[3]);  // a retried request
  ASSERT_FALSE(store->insert(batches[0]));
  const uint64_t before = store->write_transactions();

  // A reader holds the store while the inserts arrive, so they all wait.
  std::promise<void> reading;
  std::atomic<bool> release{false};
  std::thread reader([&] {
    bool first = true;
    Error e = store->conversations(ConversationQuery{}, [&](const ConversationSummary&) {
      if (first) {
        first = false;
        reading.set_value();
        while (!release.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      return true;
    });
    EXPECT_FALSE(e) << e.message;
  });
  reading.get_future().wait();
  std::vector<Error> results(batches.size());
  std::vector<std::thread> writers;
  std::atomic<int> started{0};
  for (size_t b = 1; b < batches.size(); ++b) {
    writers.emplace_back([&, b] {
      ++started;
      results[b] = store->insert(batches[b]);
    });
  }
  while (started.load() < static_cast<int>(writers.size())) std::this_thread::yield();
  // Time for each started thread to reach the queue; a late one only makes
  // one more transaction.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  release = true;
  for (std::thread& t : writers) t.join();
  reader.join();
  for (size_t b = 1; b < batches.size(); ++b) EXPECT_FALSE(results[b]) << results[b].message;
  EXPECT_EQ(*store->span_count(), static_cast<int64_t>(spans.size()));
  const uint64_t used = store->write_transactions() - before;
  EXPECT_GE(used, 1u);
  EXPECT_LT(used, batches.size() - 1) << "eight concurrent inserts took a transaction each";
  // The roll-ups count each span once: the same as storing it all in one go.
  auto reference = open(location());
  ASSERT_TRUE(reference);
  ASSERT_FALSE(reference->insert(spans));
  expect_same_report(*store, *reference, ReportGroup::user);
}

// A batch larger than one insert statement's rows (SQLite writes 16 a
// statement), some of them stored before, in the middle and across the
// statements' boundaries: each span is stored once, and the roll-ups agree
// with a store that got every span once.
TEST_P(Backends, ALargeBatchPartlyStoredBeforeKeepsEachSpanOnce) {
  std::vector<SpanData> spans = testing::synthetic_spans(70);
  ASSERT_GT(spans.size(), 40u);
  auto reference = open(location());
  ASSERT_TRUE(reference);
  ASSERT_FALSE(reference->insert(spans));
  const int64_t all = *reference->span_count();
  ASSERT_EQ(all, static_cast<int64_t>(spans.size()));

  auto store = open(location());
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->insert(std::vector<SpanData>(spans.begin() + 10, spans.begin() + 37)));
  ASSERT_FALSE(store->insert(std::vector<SpanData>(spans.end() - 1, spans.end())));
  EXPECT_EQ(*store->span_count(), 28);
  ASSERT_FALSE(store->insert(spans));
  EXPECT_EQ(*store->span_count(), all);
  ASSERT_FALSE(store->insert(spans));
  EXPECT_EQ(*store->span_count(), all);
  expect_same_report(*store, *reference, ReportGroup::model);
}

TEST_P(Backends, PruningLeavesRollUpsEqualToTheSpansLeft) {
  auto store = open(location());
  ASSERT_TRUE(store);
  std::vector<SpanData> spans = testing::synthetic_spans(60);
  insert(*store, spans);
  // Any time of the day prunes the whole days before it.
  auto pruned = store->prune(kMarch1 + 2 * kDay + 13 * 3600 * kSecond);
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(pruned->before_unix_nano, kMarch1 + 2 * kDay);
  std::vector<SpanData> left;
  for (const SpanData& s : spans) {
    if (s.start_unix_nano >= kMarch1 + 2 * kDay) left.push_back(s);
  }
  EXPECT_EQ(pruned->spans, static_cast<int64_t>(spans.size() - left.size()));
  EXPECT_GT(pruned->conversations, 0);
  EXPECT_EQ(*store->span_count(), static_cast<int64_t>(left.size()));
  expect_reports(*store, left);
  expect_conversations(*store, left);
  // Spans keep arriving after a prune, and count as before.
  // The conversations of 120 that start after the cut (none of the 60 above).
  std::vector<SpanData> more;
  for (SpanData& s : testing::synthetic_spans(120)) {
    if (s.start_unix_nano >= kMarch1 + 2 * kDay) more.push_back(std::move(s));
  }
  ASSERT_GT(more.size(), 20u);
  insert(*store, more);
  left.insert(left.end(), more.begin(), more.end());
  expect_reports(*store, left);
  auto again = store->prune(kMarch1 + 2 * kDay);  // nothing more to remove
  ASSERT_TRUE(again);
  EXPECT_EQ(again->spans, 0);
  expect_conversations(*store, left);
}

TEST_P(Backends, ConcurrentWritersOfTheSameSpansCountEachOnce) {
  std::string where = location();
  { ASSERT_TRUE(open(where)); }
  std::vector<SpanData> spans = testing::synthetic_spans(50);
  // Two writers get every batch (as when a client retries through a load
  // balancer), in different batch sizes, at once.
  std::atomic<int> failures{0};
  auto writer = [&](size_t batch) {
    auto s = Store::open(where);
    if (!s) {
      ++failures;
      return;
    }
    failures += insert_retrying(**s, spans, batch);
  };
  std::thread a(writer, 20), b(writer, 33);
  a.join();
  b.join();
  EXPECT_EQ(failures.load(), 0);
  auto store = open(where);
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->span_count(), static_cast<int64_t>(spans.size()));
  // Which writer stored a span first decides nothing a report shows.
  for (ReportGroup by : {ReportGroup::user, ReportGroup::model, ReportGroup::workflow_type}) {
    auto got = store->report(ReportQuery{by});
    ASSERT_TRUE(got);
    testing::expect_rows_equal(*got, testing::reference_report(spans, by, {}), "concurrent");
  }
  expect_conversations(*store, spans);
}

// Each conversation's and run's spans dealt out to four writers at once, as
// a load balancer spreads one conversation's requests over collectors: the
// writers race to store the first spans of the same new conversations and
// runs, and the summaries and marks come out as if one writer stored it all.
TEST_P(Backends, WritersStartingTheSameNewConversationsAtOnceCountThemOnce) {
  std::string where = location();
  { ASSERT_TRUE(open(where)); }
  std::vector<SpanData> spans = testing::synthetic_spans(60);
  constexpr size_t kWriters = 4;
  std::atomic<int> failures{0};
  std::atomic<size_t> ready{0};
  auto writer = [&](size_t w) {
    auto s = Store::open(where);
    if (!s) {
      ++failures;
      return;
    }
    std::vector<SpanData> mine;
    for (size_t i = w; i < spans.size(); i += kWriters) mine.push_back(spans[i]);
    ++ready;
    while (ready.load() < kWriters) std::this_thread::yield();
    failures += insert_retrying(**s, mine, 5);
  };
  std::vector<std::thread> writers;
  for (size_t w = 0; w < kWriters; ++w) writers.emplace_back(writer, w);
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto store = open(where);
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->span_count(), static_cast<int64_t>(spans.size()));
  for (ReportGroup by :
       {ReportGroup::user, ReportGroup::model, ReportGroup::workflow_type, ReportGroup::day}) {
    auto got = store->report(ReportQuery{by});
    ASSERT_TRUE(got);
    testing::expect_rows_equal(*got, testing::reference_report(spans, by, {}), "dealt out");
  }
  expect_conversations(*store, spans);
  auto reference = open(location());
  ASSERT_TRUE(reference);
  ASSERT_FALSE(reference->insert(spans));
  expect_same_runs(*store, *reference);
}

TEST_P(Backends, SeveralProcessesOpeningANewStoreMigrateItOnce) {
  std::string where = location();
  std::atomic<int> failures{0};
  std::vector<std::thread> openers;
  for (int i = 0; i < 6; ++i) {
    openers.emplace_back([&] {
      auto s = Store::open(where);
      if (!s || (*s)->schema_version() != kStoreSchemaVersion) ++failures;
    });
  }
  for (auto& t : openers) t.join();
  EXPECT_EQ(failures.load(), 0);
  auto store = open(where);
  ASSERT_TRUE(store);
  ASSERT_FALSE(store->insert(testing::synthetic_spans(1)));
}

TEST_P(Backends, ReadOnlyOpensOfAMissingStoreAreNotFound) {
  StoreOptions read;
  read.read_only = true;
  std::string where =
      GetParam() == "sqlite" ? dir_.file("absent.db") : testing::PgServer::shared().new_database();
  auto s = Store::open(where, read);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, Error::not_found) << s.error().message;
  auto created = open(where);
  ASSERT_TRUE(created);
  auto reader = Store::open(where, read);
  ASSERT_TRUE(reader) << reader.error().message;
  EXPECT_TRUE((*reader)->insert(testing::synthetic_spans(1)));
  EXPECT_FALSE((*reader)->prune(kMarch1));
}

INSTANTIATE_TEST_SUITE_P(, Backends, ::testing::Values("sqlite", "postgresql"),
                         testing::backend_name);

// PostgreSQL only: what a server adds.

class Postgres : public ::testing::Test {
 protected:
  testing::PgServer& pg = testing::PgServer::shared();
};

TEST_F(Postgres, RetentionDropsWholeDayPartitions) {
  std::string where = pg.new_database();
  auto store = Store::open(where);
  ASSERT_TRUE(store);
  std::vector<SpanData> spans = testing::synthetic_spans(60);
  ASSERT_FALSE((*store)->insert(spans));
  std::set<uint64_t> days_before;
  for (const SpanData& s : spans) {
    if (s.start_unix_nano < kMarch1 + 2 * kDay) days_before.insert(s.start_unix_nano / kDay);
  }
  std::string db = where.substr(where.rfind('/') + 1);
  auto partitions = [&] {
    PGconn* c = PQconnectdb(where.c_str());
    PGresult* r = PQexec(c, "SELECT COUNT(*) FROM pg_inherits WHERE inhparent = 'spans'::regclass");
    int n = std::atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    PQfinish(c);
    return n;
  };
  int before = partitions();
  EXPECT_GE(before, 3);
  auto pruned = (*store)->prune(kMarch1 + 2 * kDay);
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(partitions(), before - static_cast<int>(days_before.size()));
  // Spans of a pruned day arriving late go into a partition made anew.
  std::vector<SpanData> late = testing::synthetic_spans(1);
  ASSERT_FALSE((*store)->insert(late));
  EXPECT_EQ(partitions(), before - static_cast<int>(days_before.size()) + 1);
}

TEST_F(Postgres, APasswordFromPgpasswordIsUsedAndNeverPrinted) {
  std::string db = pg.new_database();
  std::string name = db.substr(db.rfind('/') + 1);
  pg.run_sql(name, "DROP ROLE IF EXISTS app");
  pg.run_sql(name, "CREATE ROLE app LOGIN PASSWORD 's3cr3t-pw'");
  pg.run_sql(name, "GRANT ALL ON SCHEMA public TO app");
  std::string uri = pg.uri(name, "app");
  setenv("PGPASSWORD", "s3cr3t-pw", 1);
  auto store = Store::open(uri);
  unsetenv("PGPASSWORD");
  ASSERT_TRUE(store) << store.error().message;
  ASSERT_FALSE((*store)->insert(testing::synthetic_spans(1)));

  std::string with_password =
      "postgresql://app:wr0ng-pw@127.0.0.1:" + std::to_string(pg.port()) + "/" + name;
  auto refused = Store::open(with_password);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().message.find("wr0ng-pw"), std::string::npos) << refused.error().message;
  EXPECT_NE(refused.error().message.find("app:***@"), std::string::npos) << refused.error().message;
  EXPECT_EQ(redact_location(with_password + "?password=x&sslmode=disable").find("=x&"),
            std::string::npos);
}

TEST_F(Postgres, AServerRestartFailsCallsUntilItIsBackThenTheStoreGoesOn) {
  std::string where = pg.new_database();
  auto store = Store::open(where);
  ASSERT_TRUE(store);
  std::vector<SpanData> spans = testing::synthetic_spans(4);
  std::vector<SpanData> first(spans.begin(), spans.begin() + 5);
  std::vector<SpanData> rest(spans.begin() + 5, spans.end());
  ASSERT_FALSE((*store)->insert(first));
  pg.stop();
  Error down = (*store)->insert(rest);
  EXPECT_EQ(down.code, Error::unavailable) << down.message;
  pg.start();
  Error e = (*store)->insert(rest);
  EXPECT_FALSE(e) << e.message;
  EXPECT_EQ(*(*store)->span_count(), static_cast<int64_t>(spans.size()));
  testing::expect_rows_equal(*(*store)->report(ReportQuery{ReportGroup::user}),
                             testing::reference_report(spans, ReportGroup::user, {}), "restart");
}

}  // namespace
}  // namespace convtrace
