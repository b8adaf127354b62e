// Spans of other SDKs stored in a real SQLite file and a PostgreSQL database:
// joined into conversations by their session ids, priced with the catalog,
// their own cost kept, both costs kept when they disagree, and unknown
// dialects stored as sent; the roll-ups sum them as the spans say.
#include <gtest/gtest.h>

#include "convtrace/attributes.h"
#include "convtrace/diagnostics.h"
#include "convtrace/pricing.h"
#include "convtrace/store.h"
#include "store/backends.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using testing::TempDir;

SpanData span(uint8_t trace, uint8_t id, uint64_t start, std::vector<Attribute> attrs) {
  SpanData s;
  s.trace_id.bytes[0] = trace;
  s.span_id.bytes[0] = id;
  s.name = "call";
  s.start_unix_nano = start;
  s.end_unix_nano = start + 10;
  s.attributes = std::move(attrs);
  return s;
}

Attribute at(std::string_view key, const char* value) {
  return {std::string(key), std::string(value)};
}
Attribute at(std::string_view key, int64_t value) { return {std::string(key), value}; }
Attribute at(std::string_view key, double value) { return {std::string(key), value}; }

int64_t catalog_cost(const std::string& model, const Usage& usage) {
  const ModelPrice* price = Pricing::builtin().find(model);
  EXPECT_NE(price, nullptr) << model;
  auto cost = compute_cost(usage, *price);
  EXPECT_TRUE(cost);
  return cost ? cost->total_pico : -1;
}

class DialectIngest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    TEST_reset_warnings();
    auto opened = Store::open(testing::fresh_location(GetParam(), dir));
    ASSERT_TRUE(opened) << opened.error().message;
    store = std::move(*opened);
  }
  void insert(std::vector<SpanData> spans) {
    Error e = store->insert(spans);
    ASSERT_FALSE(e) << e.message;
  }
  ReportRow only_row(ReportGroup by) {
    auto rows = store->report({by, {}});
    EXPECT_TRUE(rows) << rows.error().message;
    EXPECT_EQ(rows->size(), 1u);
    return rows && !rows->empty() ? (*rows)[0] : ReportRow{};
  }

  TempDir dir;
  std::unique_ptr<Store> store;
};

TEST_P(DialectIngest, OpenInferenceSessionJoinsAConversationAndIsPricedByTheCatalog) {
  insert(
      {span(1, 1, 100,
            {at(attr::kOpenInferenceSpanKind, "LLM"), at(attr::kOiModelName, "gpt-4o"),
             at(attr::kOiPromptTokens, int64_t{1200}), at(attr::kOiCacheReadTokens, int64_t{1024}),
             at(attr::kOiCompletionTokens, int64_t{350}), at(attr::kSessionId, "phoenix_sess"),
             at(attr::kUserId, "u1")}),
       span(2, 2, 200,
            {at(attr::kOpenInferenceSpanKind, "LLM"), at(attr::kOiModelName, "gpt-4o"),
             at(attr::kOiPromptTokens, int64_t{19}), at(attr::kOiCompletionTokens, int64_t{10}),
             at(attr::kSessionId, "phoenix_sess")})});
  Usage first;
  first.input_tokens = 1200;
  first.cache_read_tokens = 1024;
  first.output_tokens = 350;
  Usage second;
  second.input_tokens = 19;
  second.output_tokens = 10;
  const int64_t a = catalog_cost("gpt-4o", first), b = catalog_cost("gpt-4o", second);
  EXPECT_EQ(b, 19 * 2'500'000 + 10 * 10'000'000);  // gpt-4o at $2.50 / $10 per 1M

  auto view = store->conversation("phoenix_sess");
  ASSERT_TRUE(view) << view.error().message;
  ASSERT_EQ(view->turns.size(), 2u);  // one turn per trace
  EXPECT_EQ(view->turns[0].cost_pico_usd, a);
  EXPECT_EQ(view->turns[1].cost_pico_usd, b);
  EXPECT_EQ(view->cost_pico_usd, a + b);
  EXPECT_EQ(view->user_ids, std::vector<std::string>{"u1"});
  EXPECT_EQ(view->turns[0].spans[0].kind, "llm");
  EXPECT_EQ(view->turns[0].spans[0].cache_read_tokens, 1024);

  ReportRow by_model = only_row(ReportGroup::model);
  EXPECT_EQ(by_model.group, std::optional<std::string>("gpt-4o"));
  EXPECT_EQ(by_model.cost_pico_usd, a + b);
  EXPECT_EQ(by_model.unpriced_calls, 0);  // the catalog knows the model
  EXPECT_EQ(by_model.llm_calls, 2);
  EXPECT_EQ(by_model.conversations, 1);
  EXPECT_EQ(by_model.input_tokens, 1200 + 19);
  EXPECT_EQ(by_model.cache_read_tokens, 1024);
  // The roll-ups and the conversation summary know the session and its user
  // (the second call names none).
  auto by_user = store->report({ReportGroup::user, {}});
  ASSERT_TRUE(by_user) << by_user.error().message;
  ASSERT_EQ(by_user->size(), 2u);
  EXPECT_EQ((*by_user)[0].group, std::optional<std::string>("u1"));
  EXPECT_EQ((*by_user)[0].cost_pico_usd, a);
  EXPECT_EQ((*by_user)[0].conversations, 1);
  EXPECT_EQ((*by_user)[1].group, std::nullopt);
  EXPECT_EQ((*by_user)[1].cost_pico_usd, b);
  auto listed = store->conversations(ConversationQuery{});
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].conversation_id, "phoenix_sess");
  EXPECT_EQ((*listed)[0].user_id, "u1");
  EXPECT_EQ((*listed)[0].cost_pico_usd, a + b);
  EXPECT_EQ((*listed)[0].turns, 2);
  EXPECT_EQ((*listed)[0].llm_calls, 2);
  EXPECT_EQ((*listed)[0].unpriced_calls, 0);
}

TEST_P(DialectIngest, ASentCostIsKeptAndWinsWhenTheCatalogDisagrees) {
  insert({span(1, 1, 100,
               {at(attr::kRequestModel, "gpt-4o"), at(attr::kInputTokens, int64_t{1000}),
                at(attr::kOutputTokens, int64_t{100}), at(attr::kCostGeneric, 0.0035)}),
          // Agrees with the catalog: 1000 × $2.50/1M + 100 × $10/1M = $0.0035.
          span(2, 2, 200,
               {at(attr::kRequestModel, "gpt-4o"), at(attr::kInputTokens, int64_t{1000}),
                at(attr::kOutputTokens, int64_t{100}), at(attr::kOiCostTotal, 0.0035)}),
          // No tokens, only a cost (an unknown model): kept as sent.
          span(3, 3, 300, {at(attr::kRequestModel, "in-house-llm"), at(attr::kCostUsd, 0.25)})});
  ReportRow total = only_row(ReportGroup::conversation);
  EXPECT_EQ(total.cost_pico_usd, 3'500'000'000LL * 2 + 250'000'000'000LL);
  EXPECT_EQ(total.cost_disagreements, 0);
  EXPECT_EQ(warning_count("cost_disagreement"), 0u);

  insert({span(4, 4, 400,
               {at(attr::kRequestModel, "gpt-4o"), at(attr::kInputTokens, int64_t{1000}),
                at(attr::kOutputTokens, int64_t{100}), at(attr::kCostGeneric, 0.01)})});
  total = only_row(ReportGroup::conversation);
  const int64_t sum = 3'500'000'000LL * 2 + 250'000'000'000LL + 10'000'000'000LL;
  EXPECT_EQ(total.cost_pico_usd, sum);
  EXPECT_EQ(total.cost_disagreements, 1);
  EXPECT_EQ(warning_count("cost_disagreement"), 1u);
  // The roll-ups count the disagreement where the spans do.
  auto by_model = store->report({ReportGroup::model, {}});
  ASSERT_TRUE(by_model) << by_model.error().message;
  ASSERT_EQ(by_model->size(), 2u);
  EXPECT_EQ((*by_model)[0].group, std::optional<std::string>("in-house-llm"));
  EXPECT_EQ((*by_model)[0].cost_disagreements, 0);
  EXPECT_EQ((*by_model)[1].cost_pico_usd, 3'500'000'000LL * 2 + 10'000'000'000LL);
  EXPECT_EQ((*by_model)[1].cost_disagreements, 1);
  auto whole = store->report_total({});
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->cost_pico_usd, sum);
  EXPECT_EQ(whole->cost_disagreements, 1);
  // Pruned away, it leaves the roll-ups with the spans.
  auto pruned = store->prune(1'000'000'000'000'000'000ULL);
  ASSERT_TRUE(pruned) << pruned.error().message;
  EXPECT_EQ(pruned->spans, 4);
  whole = store->report_total({});
  ASSERT_TRUE(whole);
  EXPECT_EQ(whole->cost_disagreements, 0);
}

TEST_P(DialectIngest, ConvtraceSpansKeepTheirExactCostAndAreNotPricedAgain) {
  // A convtrace SDK priced this call with 1-hour cache writes, which the
  // attributes do not show: a re-pricing would differ, and must not happen.
  insert({span(1, 1, 100,
               {at(attr::kSpanKind, "llm"), at(attr::kRequestModel, "gpt-4o"),
                at(attr::kInputTokens, int64_t{1000}), at(attr::kOutputTokens, int64_t{100}),
                at(attr::kCostUsd, 0.004), at(attr::kCostPicoUsd, int64_t{4'000'000'001}),
                at(attr::kPricedAs, "gpt-4o")})});
  ReportRow row = only_row(ReportGroup::model);
  EXPECT_EQ(row.cost_pico_usd, 4'000'000'001);
  EXPECT_EQ(row.cost_disagreements, 0);
}

TEST_P(DialectIngest, CachedTokenRulesPerDialect) {
  // The same call — 1000 input of which 600 cached, 200 output of which 50
  // reasoning — as three dialects count it.
  insert(
      {span(1, 1, 100,
            {at(attr::kRequestModel, "gpt-4o"), at(attr::kInputTokens, int64_t{1000}),
             at(attr::kCacheReadInputTokens, int64_t{600}), at(attr::kOutputTokens, int64_t{200}),
             at(attr::kReasoningOutputTokens, int64_t{50}), at(attr::kConversationId, "c")}),
       span(
           2, 2, 200,
           {at(attr::kLangfuseModel, "gpt-4o"),
            at(attr::kLangfuseUsageDetails,
               R"({"input":400,"input_cached_tokens":600,"output":150,"output_reasoning_tokens":50})"),
            at(attr::kLangfuseSessionId, "c")}),
       span(3, 3, 300,
            {at(attr::kAiOperationId, "ai.generateText.doGenerate"), at(attr::kAiModelId, "gpt-4o"),
             at(attr::kAiInputTokens, int64_t{1000}), at(attr::kAiCachedInputTokens, int64_t{600}),
             at(attr::kAiOutputTokens, int64_t{200}), at(attr::kAiReasoningTokens, int64_t{50}),
             at(attr::kAiSessionId, "c")})});
  auto view = store->conversation("c");
  ASSERT_TRUE(view) << view.error().message;
  ASSERT_EQ(view->turns.size(), 3u);
  Usage u;
  u.input_tokens = 1000;
  u.cache_read_tokens = 600;
  u.output_tokens = 200;
  u.reasoning_tokens = 50;
  const int64_t each = catalog_cost("gpt-4o", u);
  for (const TurnView& t : view->turns) {
    ASSERT_EQ(t.spans.size(), 1u);
    EXPECT_EQ(t.spans[0].input_tokens, 1000) << t.turn;
    EXPECT_EQ(t.spans[0].cache_read_tokens, 600) << t.turn;
    EXPECT_EQ(t.spans[0].output_tokens, 200) << t.turn;
    EXPECT_EQ(t.spans[0].reasoning_tokens, 50) << t.turn;
    EXPECT_EQ(t.cost_pico_usd, each) << t.turn;
  }
  EXPECT_EQ(view->input_tokens, 3000);  // never counted twice
}

TEST_P(DialectIngest, VercelOuterSpansDoNotCountTwice) {
  insert({span(1, 1, 100,
               {at(attr::kAiOperationId, "ai.generateText"), at(attr::kAiModelId, "gpt-4o"),
                at(attr::kAiPromptTokens, int64_t{38}), at(attr::kAiCompletionTokens, int64_t{20}),
                at(attr::kAiSessionId, "v")}),
          span(1, 2, 110,
               {at(attr::kAiOperationId, "ai.generateText.doGenerate"),
                at(attr::kAiModelId, "gpt-4o"), at(attr::kAiPromptTokens, int64_t{19}),
                at(attr::kAiCompletionTokens, int64_t{10}), at(attr::kAiSessionId, "v")}),
          span(1, 3, 120,
               {at(attr::kAiOperationId, "ai.generateText.doGenerate"),
                at(attr::kAiModelId, "gpt-4o"), at(attr::kAiPromptTokens, int64_t{19}),
                at(attr::kAiCompletionTokens, int64_t{10}), at(attr::kAiSessionId, "v")})});
  ReportRow row = only_row(ReportGroup::conversation);
  EXPECT_EQ(row.input_tokens, 38);
  EXPECT_EQ(row.llm_calls, 2);
  EXPECT_EQ(row.cost_pico_usd, 2 * (19 * 2'500'000 + 10 * 10'000'000));
}

TEST_P(DialectIngest, UnknownDialectIsStoredAsSentAndCounted) {
  SpanData s = span(1, 1, 100,
                    {at("acme.llm.prompt_tokens", int64_t{12}), at("acme.llm.model", "gpt-4o"),
                     at(attr::kConversationId, "acme")});
  insert({s});
  EXPECT_EQ(warning_count("unknown_dialect"), 1u);
  ReportRow row = only_row(ReportGroup::conversation);
  EXPECT_EQ(row.llm_calls, 0);
  EXPECT_EQ(row.cost_pico_usd, 0);
  auto trace = store->load_trace(s.trace_id.hex());
  ASSERT_TRUE(trace) << trace.error().message;
  ASSERT_EQ(trace->size(), 1u);
  EXPECT_EQ((*trace)[0].attributes.size(), 3u);  // the original attributes, untouched
  EXPECT_EQ(*find_int((*trace)[0].attributes, "acme.llm.prompt_tokens"), 12);
}

TEST_P(DialectIngest, BadValuesAreCountedAndTheRestIsKept) {
  insert({span(1, 1, 100,
               {at(attr::kRequestModel, "gpt-4o"), at(attr::kInputTokens, int64_t{-5}),
                at(attr::kOutputTokens, int64_t{10}), at(attr::kConversationId, "bad")})});
  EXPECT_EQ(warning_count("span_attribute"), 1u);
  auto view = store->conversation("bad");
  ASSERT_TRUE(view) << view.error().message;
  EXPECT_FALSE(view->turns[0].spans[0].input_tokens);
  EXPECT_EQ(view->turns[0].spans[0].output_tokens, 10);
}

TEST_P(DialectIngest, TheStoresCatalogPricesReceivedSpans) {
  auto pricing = std::make_shared<Pricing>();
  pricing->set("house-model", 1.00, 2.00);
  StoreOptions options;
  options.pricing = pricing;
  auto priced = Store::open(testing::fresh_location(GetParam(), dir), options);
  ASSERT_TRUE(priced) << priced.error().message;
  store = std::move(*priced);
  ASSERT_FALSE(store->insert(std::vector<SpanData>{
      span(1, 1, 100,
           {at(attr::kRequestModel, "house-model"), at(attr::kInputTokens, int64_t{1000}),
            at(attr::kOutputTokens, int64_t{500})}),
      span(2, 2, 200,
           {at(attr::kRequestModel, "gpt-4o"), at(attr::kInputTokens, int64_t{1000}),
            at(attr::kOutputTokens, int64_t{500})})}));
  auto rows = store->report({ReportGroup::model, {}});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].group, std::optional<std::string>("house-model"));
  EXPECT_EQ((*rows)[0].cost_pico_usd, 1000 * 1'000'000 + 500 * 2'000'000);
  EXPECT_EQ((*rows)[1].unpriced_calls, 1);  // this catalog has no gpt-4o
}

INSTANTIATE_TEST_SUITE_P(, DialectIngest, ::testing::Values("sqlite", "postgresql"),
                         testing::backend_name);

}  // namespace
}  // namespace convtrace
