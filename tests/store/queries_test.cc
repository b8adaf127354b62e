// Queries over spans recorded by the real SDK into a real store: an SQLite
// file and a PostgreSQL database, with the same results.
#include <gtest/gtest.h>

#include "convtrace/attributes.h"
#include "convtrace/convtrace.h"
#include "store/backends.h"

namespace convtrace {
namespace {

using testing::TempDir;

// Usage with exact, simple prices: gpt-4o $2.50/$10 per 1M, cached $1.25.
Usage usage(int64_t in, int64_t out, int64_t cached = 0) {
  Usage u;
  u.input_tokens = in;
  u.output_tokens = out;
  if (cached) u.cache_read_tokens = cached;
  u.model = "gpt-4o";
  u.provider = "openai";
  return u;
}

class Queries : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    location_ = testing::fresh_location(GetParam(), dir_);
    Config cfg;
    cfg.read_environment = false;
    cfg.synchronous_export = true;
    cfg.content.enabled = true;
    Pricing pricing;
    pricing.set("gpt-4o", 2.50, 10.00, 1.25);
    cfg.pricing = pricing;
    auto exporter = make_store_exporter(location_);
    ASSERT_TRUE(exporter) << exporter.error().message;
    cfg.custom_exporter = std::move(*exporter);
    cfg.exporter = ExporterKind::custom;
    auto sdk = Sdk::create(std::move(cfg));
    ASSERT_TRUE(sdk);
    sdk_ = *sdk;
    install(sdk_);
  }
  void TearDown() override {
    install(nullptr);
    if (sdk_) sdk_->shutdown();
  }
  std::unique_ptr<Store> open() {
    sdk_->force_flush();
    auto s = Store::open(location_);
    EXPECT_TRUE(s) << s.error().message;
    return s ? std::move(*s) : nullptr;
  }
  void call(int64_t in, int64_t out, int64_t cached = 0, const char* name = "chat") {
    ObserveOptions o{name, Kind::llm, "gpt-4o", "openai"};
    o.input = "question";
    observe(o, [&](Span& span) {
      span.record_usage(usage(in, out, cached));
      return std::string("answer");
    });
  }

  TempDir dir_;
  std::string location_;
  std::shared_ptr<Sdk> sdk_;
};

// 1000 in / 100 out = 2500000000 + 1000000000 pico.
constexpr int64_t kCall = 3'500'000'000;

TEST_P(Queries, ConversationTurnByTurnWithRunningTotal) {
  {
    auto conv = conversation("support_789", {"acme"});
    call(1000, 100);
    call(1000, 100);
    {
      auto wf = workflow("rag_1", "rag");
      call(1000, 100, 0, "retrieve");
      call(2000, 200, 0, "answer");
    }
    try {
      observe({"chat", Kind::llm, "gpt-4o"}, []() -> int { throw std::runtime_error("boom"); });
    } catch (const std::exception&) {
    }
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto view = store->conversation("support_789");
  ASSERT_TRUE(view) << view.error().message;
  ASSERT_EQ(view->turns.size(), 4u);
  EXPECT_EQ(view->turns[0].turn, 1);
  EXPECT_EQ(view->turns[0].cost_pico_usd, kCall);
  EXPECT_EQ(view->turns[1].running_total_pico_usd, 2 * kCall);
  EXPECT_EQ(view->turns[2].cost_pico_usd, 3 * kCall);
  ASSERT_EQ(view->turns[2].spans.size(), 3u);
  EXPECT_EQ(view->turns[2].spans[0].depth, 0);
  EXPECT_EQ(view->turns[2].spans[0].kind, "workflow");
  EXPECT_EQ(view->turns[2].spans[1].depth, 1);
  EXPECT_EQ(view->turns[3].errors, 1);
  EXPECT_EQ(view->turns[3].spans[0].error, "std::runtime_error");
  EXPECT_EQ(view->cost_pico_usd, 5 * kCall);
  EXPECT_EQ(view->user_ids, std::vector<std::string>{"acme"});
  ASSERT_TRUE(view->turns[0].spans[0].input_messages.has_value());
  EXPECT_NE(view->turns[0].spans[0].input_messages->find("question"), std::string::npos);
  EXPECT_EQ(store->conversation("nope").error().code, Error::not_found);
}

TEST_P(Queries, ReportGroupsAndFilters) {
  {
    auto conv = conversation("c1", {"acme"});
    call(1000, 100);
    auto wf = workflow("w1", "rag_v1");
    call(1000, 100);
  }
  {
    auto conv = conversation("c2", {"globex"});
    auto wf = workflow("w2", "rag_v2");
    call(2000, 200, 1000);
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto by_user = store->report({ReportGroup::user, {}});
  ASSERT_TRUE(by_user) << by_user.error().message;
  ASSERT_EQ(by_user->size(), 2u);
  // c2: 1000 uncached × 2.5 + 1000 cached × 1.25 + 200 × 10 (micro-USD per 1M = pico per token)
  int64_t c2 = 1000 * 2'500'000LL + 1000 * 1'250'000LL + 200 * 10'000'000LL;
  EXPECT_EQ((*by_user)[0].group, std::optional<std::string>("acme"));
  EXPECT_EQ((*by_user)[0].cost_pico_usd, 2 * kCall);
  EXPECT_EQ((*by_user)[0].llm_calls, 2);
  EXPECT_EQ((*by_user)[0].conversations, 1);
  EXPECT_EQ((*by_user)[1].cost_pico_usd, c2);
  EXPECT_EQ((*by_user)[1].cache_read_tokens, 1000);

  ReportQuery q{ReportGroup::workflow_type, {}};
  q.filter.user_id = "acme";
  auto by_type = store->report(q);
  ASSERT_TRUE(by_type);
  ASSERT_EQ(by_type->size(), 2u);  // rag_v1 and no workflow
  EXPECT_EQ((*by_type)[0].cost_pico_usd, kCall);

  q.filter = {};
  q.filter.since_unix_nano = 4102444800ULL * 1000000000ULL;  // 2100-01-01
  auto none = store->report(q);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());

  auto days = store->report({ReportGroup::day, {}});
  ASSERT_TRUE(days);
  ASSERT_EQ(days->size(), 1u);
  EXPECT_EQ((*days)[0].group->size(), 10u);

  auto runs = store->workflows({});
  ASSERT_TRUE(runs);
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].workflow_id, "w2");
  EXPECT_EQ((*runs)[0].cost_pico_usd, c2);
  EXPECT_TRUE((*runs)[0].cost_from_workflow_span);
  EXPECT_EQ((*runs)[0].costliest_step, "chat gpt-4o");
  WorkflowQuery wq;
  wq.min_cost_pico_usd = kCall + 1;
  EXPECT_EQ(store->workflows(wq)->size(), 1u);
  wq = {};
  wq.filter.workflow_type = "rag_v1";
  ASSERT_EQ(store->workflows(wq)->size(), 1u);
  EXPECT_EQ((*store->workflows(wq))[0].cost_pico_usd, kCall);
}

using QueriesOtherSdks = ::testing::TestWithParam<std::string>;

TEST_P(QueriesOtherSdks, TracesWithoutTurnsAreTurnsInTimeOrderAndCostFromUsd) {
  TempDir dir;
  auto store = Store::open(testing::fresh_location(GetParam(), dir));
  ASSERT_TRUE(store);
  std::vector<SpanData> spans;
  for (uint8_t t = 0; t < 3; ++t) {
    SpanData root;
    root.trace_id.bytes[0] = static_cast<uint8_t>(10 - t);  // ids not in time order
    root.span_id.bytes[0] = 1;
    root.name = "handle";
    root.start_unix_nano = 1000 + t * 100;
    root.end_unix_nano = root.start_unix_nano + 50;
    root.attributes = {{std::string(attr::kConversationId), std::string("js_conv")}};
    SpanData child = root;
    child.span_id.bytes[0] = 2;
    child.parent_span_id = root.span_id;
    child.name = "llm";
    child.start_unix_nano += 1;
    child.attributes = {{std::string(attr::kCostUsd), 0.001 * (t + 1)},
                        {std::string(attr::kInputTokens), int64_t{10}}};
    spans.push_back(child);
    spans.push_back(root);
  }
  ASSERT_FALSE((*store)->insert(spans));
  auto view = (*store)->conversation("js_conv");
  ASSERT_TRUE(view) << view.error().message;
  ASSERT_EQ(view->turns.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(view->turns[i].turn, i + 1);
    EXPECT_EQ(view->turns[i].cost_pico_usd, 1'000'000'000LL * (i + 1));
    ASSERT_EQ(view->turns[i].spans.size(), 2u);
    EXPECT_EQ(view->turns[i].spans[0].name, "handle");
    EXPECT_EQ(view->turns[i].spans[1].depth, 1);
  }
}

INSTANTIATE_TEST_SUITE_P(, Queries, ::testing::Values("sqlite", "postgresql"),
                         testing::backend_name);
INSTANTIATE_TEST_SUITE_P(, QueriesOtherSdks, ::testing::Values("sqlite", "postgresql"),
                         testing::backend_name);

}  // namespace
}  // namespace convtrace
