// convtrace's span processor in an opentelemetry-cpp SDK pipeline, without the
// tracer bridge: opentelemetry-cpp spans started inside convtrace scopes.
#include <gtest/gtest.h>

#include <set>
#include <thread>

#include "otelcpp/otel_pipeline.h"
#include "support/test_sdk.h"

namespace convtrace::testing {
namespace {

using Attrs = std::map<std::string, ::opentelemetry::common::AttributeValue>;

Usage usage_of(int64_t in, int64_t out, int64_t cached = 0) {
  Usage u;
  u.input_tokens = in;
  u.output_tokens = out;
  if (cached) u.cache_read_tokens = cached;
  return u;
}

int64_t cost_of(const std::string& model, int64_t in, int64_t out, int64_t cached = 0) {
  const ModelPrice* price = Pricing::builtin().find(model);
  EXPECT_NE(price, nullptr) << model;
  auto cost = compute_cost(usage_of(in, out, cached), *price);
  EXPECT_TRUE(cost) << model;
  return cost ? cost->total_pico : -1;
}

// A model call as another instrumentation records it: everything as attributes.
void llm_call(otel_api::Tracer& tracer, const std::string& model, int64_t in, int64_t out,
              int64_t cached = 0) {
  auto span = tracer.StartSpan("chat " + model, Attrs{{"gen_ai.operation.name", "chat"},
                                                      {"gen_ai.request.model", model},
                                                      {"gen_ai.provider.name", "openai"}});
  span->SetAttribute("gen_ai.response.model", model + "-2024-08-06");
  span->SetAttribute("gen_ai.usage.input_tokens", in);
  span->SetAttribute("gen_ai.usage.output_tokens", out);
  if (cached) span->SetAttribute("gen_ai.usage.cache_read.input_tokens", cached);
  span->End();
}

// Installs `native` with the test catalog, for a processor that uses its
// catalog and registry.
otel::ProcessorOptions priced_by(TestSdk& native) {
  native.sdk->set_pricing(test_pricing());
  install(native.sdk);
  otel::ProcessorOptions options;
  options.sdk = native.sdk;
  return options;
}

// A convtrace SDK of its own (native spans to memory) and an opentelemetry-cpp
// pipeline whose processor prices and totals with it.
struct PricedPipeline {
  TestSdk native{sync_config(), false};
  OtelPipeline otel{false, false, Config(), priced_by(native)};
};

class ProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    install(nullptr);  // the processor's built-in default SDK applies
    TEST_reset_warnings();
  }
};

TEST_F(ProcessorTest, StampsSpansInsideConversationScopesWithTurns) {
  OtelPipeline p(false);
  auto tracer = p.tracer();
  {
    ConversationOptions options("user_1");
    options.attributes.push_back({"tenant", std::string("acme")});
    auto conv = conversation("conv_1", options);
    {
      auto request = tracer->StartSpan("request 1");
      otel_api::Scope active(request);
      tracer->StartSpan("step 1a")->End();
      tracer->StartSpan("step 1b")->End();
      request->End();
    }
    {
      auto request = tracer->StartSpan("request 2");
      otel_api::Scope active(request);
      tracer->StartSpan("step 2")->End();
      request->End();
    }
  }
  tracer->StartSpan("outside")->End();

  const std::vector<FlatSpan>& spans = p.spans();
  ASSERT_EQ(spans.size(), 6u);
  for (const char* name : {"request 1", "step 1a", "step 1b"}) {
    const FlatSpan* s = only(spans, name);
    ASSERT_NE(s, nullptr) << name;
    EXPECT_EQ(s->str("gen_ai.conversation.id"), "conv_1") << name;
    EXPECT_EQ(s->integer("gen_ai.conversation.turn"), 1) << name;
    EXPECT_EQ(s->str("user.id"), "user_1") << name;
    EXPECT_EQ(s->str("tenant"), "acme") << name;
  }
  for (const char* name : {"request 2", "step 2"}) {
    EXPECT_EQ(only(spans, name)->integer("gen_ai.conversation.turn"), 2) << name;
  }
  // The turn root carries the conversation's running total, as a native turn root does.
  EXPECT_NE(only(spans, "request 1")->find("gen_ai.conversation.total_cost_usd"), nullptr);
  EXPECT_EQ(only(spans, "step 1a")->find("gen_ai.conversation.total_cost_usd"), nullptr);
  const FlatSpan* outside = only(spans, "outside");
  EXPECT_EQ(outside->find("gen_ai.conversation.id"), nullptr);
  EXPECT_EQ(outside->find("user.id"), nullptr);
  // The instrumentation's own attributes and names are untouched.
  EXPECT_EQ(only(spans, "step 1a")->parent_span_id, only(spans, "request 1")->span_id);
}

TEST_F(ProcessorTest, PricesUsageFromAnyInstrumentationExactly) {
  OtelPipeline p(false);
  auto tracer = p.tracer();
  llm_call(*tracer, "gpt-4o", 1000, 200, 400);
  const std::vector<FlatSpan>& spans = p.spans();
  const FlatSpan* s = only(spans, "chat gpt-4o");
  ASSERT_NE(s, nullptr);
  int64_t expected = cost_of("gpt-4o", 1000, 200, 400);
  EXPECT_EQ(s->integer("convtrace.cost_pico_usd"), expected);
  EXPECT_DOUBLE_EQ(s->real("gen_ai.usage.cost_usd"), pico_to_usd(expected));
  EXPECT_DOUBLE_EQ(s->real("gen_ai.usage.cost"), pico_to_usd(expected));
  EXPECT_EQ(s->str("convtrace.priced_as"), "gpt-4o");
  // What the instrumentation recorded stays as it was.
  EXPECT_EQ(s->integer("gen_ai.usage.input_tokens"), 1000);
  EXPECT_EQ(s->str("gen_ai.response.model"), "gpt-4o-2024-08-06");
  EXPECT_EQ(warning_count("invalid_usage"), 0u);
}

TEST_F(ProcessorTest, PricesSpansOfOtherDialectsAlike) {
  OtelPipeline p(false);
  auto tracer = p.tracer();
  {  // OpenInference (Arize Phoenix instrumentations): no gen_ai.* key at all.
    auto s = tracer->StartSpan("ChatCompletion");
    s->SetAttribute("openinference.span.kind", "LLM");
    s->SetAttribute("llm.model_name", "gpt-4o");
    s->SetAttribute("llm.token_count.prompt", 1000);
    s->SetAttribute("llm.token_count.completion", 200);
    s->SetAttribute("llm.token_count.prompt_details.cache_read", 400);
    s->End();
  }
  {  // Older GenAI conventions, as many instrumentations still send them.
    auto s = tracer->StartSpan("openai.chat");
    s->SetAttribute("gen_ai.system", "openai");
    s->SetAttribute("gen_ai.request.model", "gpt-4o-mini");
    s->SetAttribute("gen_ai.usage.prompt_tokens", 300);
    s->SetAttribute("gen_ai.usage.completion_tokens", 50);
    s->End();
  }
  const std::vector<FlatSpan>& spans = p.spans();
  ASSERT_EQ(spans.size(), 2u);
  EXPECT_EQ(only(spans, "ChatCompletion")->integer("convtrace.cost_pico_usd"),
            cost_of("gpt-4o", 1000, 200, 400));
  EXPECT_EQ(only(spans, "openai.chat")->integer("convtrace.cost_pico_usd"),
            cost_of("gpt-4o-mini", 300, 50));
  EXPECT_EQ(warning_count("invalid_usage"), 0u);
}

TEST_F(ProcessorTest, UnknownModelGetsTheMarkerNotAZeroCost) {
  OtelPipeline p(false);
  llm_call(*p.tracer(), "no-such-model-xyz", 10, 10);
  const std::vector<FlatSpan>& spans = p.spans();
  const FlatSpan* s = only(spans, "chat no-such-model-xyz");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->find("gen_ai.usage.cost_usd"), nullptr);
  EXPECT_EQ(s->str("convtrace.cost.unknown_model"), "no-such-model-xyz-2024-08-06");
  EXPECT_GE(warning_count("unknown_model"), 1u);
}

TEST_F(ProcessorTest, CostGoesIntoTheWorkflowAndTurnTotals) {
  PricedPipeline priced;
  TestSdk& native = priced.native;
  OtelPipeline& p = priced.otel;
  auto tracer = p.tracer();
  int64_t expected = 0;
  {
    auto conv = conversation("conv_totals", {"user_t"});
    auto wf = workflow("wf_1", "rag");
    llm_call(*tracer, "gpt-4o", 1000, 100);
    llm_call(*tracer, "gpt-4o-mini", 500, 50, 100);
    expected =
        compute_cost(usage_of(1000, 100), *test_pricing().find("gpt-4o"))->total_pico +
        compute_cost(usage_of(500, 50, 100), *test_pricing().find("gpt-4o-mini"))->total_pico;
    Totals t = wf.totals();
    EXPECT_EQ(t.cost_pico, expected);
    EXPECT_EQ(t.input_tokens, 1500);
    EXPECT_EQ(t.output_tokens, 150);
    EXPECT_EQ(t.llm_calls, 2);
  }
  install(nullptr);
  const std::vector<FlatSpan>& otel_spans = p.spans();
  for (const FlatSpan& s : otel_spans) {
    EXPECT_EQ(s.str("workflow.id"), "wf_1") << s.name;
    EXPECT_EQ(s.integer("gen_ai.conversation.turn"), 1) << s.name;
  }
  const std::vector<SpanData>& native_spans = native.spans();
  const SpanData* wf = only(native_spans, "invoke_workflow rag");
  ASSERT_NE(wf, nullptr);
  EXPECT_EQ(int_attr(*wf, "workflow.total_cost_pico_usd"), expected);
  EXPECT_EQ(int_attr(*wf, "workflow.llm_calls"), 2);
  // The workflow span is the turn's root: the conversation total includes both calls.
  const double* total = find_double(wf->attributes, "gen_ai.conversation.total_cost_usd");
  ASSERT_NE(total, nullptr);
  EXPECT_DOUBLE_EQ(*total, pico_to_usd(expected));
}

// OpenLIT prices its spans itself (gen_ai.usage.cost, in USD). That cost is
// kept, on the span and in the totals, as collect keeps it; the catalog only
// checks it, with a counted warning when they differ.
TEST_F(ProcessorTest, ACostTheInstrumentationSentIsKept) {
  PricedPipeline priced;
  OtelPipeline& p = priced.otel;
  auto tracer = p.tracer();
  const int64_t catalog =
      compute_cost(usage_of(1000, 100), *test_pricing().find("gpt-4o"))->total_pico;
  const int64_t sent = 12345000000;  // $0.012345
  ASSERT_NE(sent, catalog);
  {
    auto wf = workflow("wf_sent", "rag");
    auto span = tracer->StartSpan("chat gpt-4o", Attrs{{"gen_ai.operation.name", "chat"},
                                                       {"gen_ai.request.model", "gpt-4o"}});
    span->SetAttribute("gen_ai.usage.input_tokens", 1000);
    span->SetAttribute("gen_ai.usage.output_tokens", 100);
    span->SetAttribute("gen_ai.usage.cost", 0.012345);
    span->End();
    llm_call(*tracer, "gpt-4o", 1000, 100);  // no cost sent: the catalog's
    EXPECT_EQ(wf.totals().cost_pico, sent + catalog);
  }
  install(nullptr);
  const std::vector<FlatSpan>& spans = p.spans();
  ASSERT_EQ(spans.size(), 2u);
  const FlatSpan& priced_by_them = spans[0];
  EXPECT_DOUBLE_EQ(priced_by_them.real("gen_ai.usage.cost"), 0.012345);
  EXPECT_EQ(priced_by_them.integer("convtrace.cost_pico_usd"), sent);
  EXPECT_DOUBLE_EQ(priced_by_them.real("gen_ai.usage.cost_usd"), pico_to_usd(sent));
  EXPECT_EQ(priced_by_them.find("convtrace.priced_as"), nullptr);
  EXPECT_EQ(spans[1].integer("convtrace.cost_pico_usd"), catalog);
  EXPECT_EQ(warning_count("cost_disagreement"), 1u);
}

// OpenLIT and Langfuse send a cost on calls whose counts they do not know
// (an image or audio model, a provider that bills per request): collect
// stores that cost, so the processor counts it too.
TEST_F(ProcessorTest, ACostSentWithoutTokenCountsCountsInTheTotals) {
  PricedPipeline priced;
  OtelPipeline& p = priced.otel;
  auto tracer = p.tracer();
  const int64_t sent = 40000000000;  // $0.04
  const int64_t catalog =
      compute_cost(usage_of(1000, 100), *test_pricing().find("gpt-4o"))->total_pico;
  {
    auto wf = workflow("wf_cost_only", "images");
    auto span = tracer->StartSpan("generate image", Attrs{{"gen_ai.operation.name", "chat"},
                                                          {"gen_ai.request.model", "gpt-4o"}});
    span->SetAttribute("gen_ai.usage.cost", 0.04);
    span->End();
    tracer->StartSpan("no usage at all")->End();
    llm_call(*tracer, "gpt-4o", 1000, 100);
    EXPECT_EQ(wf.totals().cost_pico, sent + catalog);
  }
  install(nullptr);
  const std::vector<FlatSpan>& spans = p.spans();
  ASSERT_EQ(spans.size(), 3u);
  EXPECT_EQ(spans[0].integer("convtrace.cost_pico_usd"), sent);
  EXPECT_DOUBLE_EQ(spans[0].real("gen_ai.usage.cost_usd"), 0.04);
  EXPECT_EQ(spans[0].find("gen_ai.usage.input_tokens"), nullptr);
  EXPECT_EQ(spans[1].find("convtrace.cost_pico_usd"), nullptr);
  // No tokens: the catalog's $0 for the call is not a disagreement.
  EXPECT_EQ(warning_count("cost_disagreement"), 0u);
  EXPECT_EQ(warning_count("unknown_model"), 0u);
}

TEST_F(ProcessorTest, MalformedUsageStaysUnpricedWithACountedWarning) {
  OtelPipeline p(false);
  auto tracer = p.tracer();
  {
    auto s = tracer->StartSpan("negative");
    s->SetAttribute("gen_ai.request.model", "gpt-4o");
    s->SetAttribute("gen_ai.usage.input_tokens", int64_t{-5});
    s->SetAttribute("gen_ai.usage.output_tokens", 10);
    s->End();
  }
  {
    auto s = tracer->StartSpan("string");
    s->SetAttribute("gen_ai.request.model", "gpt-4o");
    s->SetAttribute("gen_ai.usage.input_tokens", "120");
    s->End();
  }
  {
    auto s = tracer->StartSpan("double");
    s->SetAttribute("gen_ai.request.model", "gpt-4o");
    s->SetAttribute("gen_ai.usage.output_tokens", 1.5);
    s->End();
  }
  const std::vector<FlatSpan>& spans = p.spans();
  ASSERT_EQ(spans.size(), 3u);
  for (const FlatSpan& s : spans) {
    EXPECT_EQ(s.find("gen_ai.usage.cost_usd"), nullptr) << s.name;
    EXPECT_EQ(s.find("convtrace.cost_pico_usd"), nullptr) << s.name;
    EXPECT_EQ(s.find("convtrace.cost.unknown_model"), nullptr) << s.name;
  }
  EXPECT_EQ(warning_count("invalid_usage"), 3u);
}

TEST_F(ProcessorTest, DecoratesABatchSpanProcessorThroughFlushAndShutdown) {
  OtelPipeline p(false, /*batch=*/true);
  auto tracer = p.tracer();
  {
    auto conv = conversation("conv_batch");
    tracer->StartSpan("queued")->End();
  }
  EXPECT_TRUE(p.data->GetSpans().empty());  // still in the batch processor's queue
  ASSERT_TRUE(p.provider->ForceFlush());
  auto flushed = p.data->GetSpans();
  ASSERT_EQ(flushed.size(), 1u);
  EXPECT_EQ(flatten(*flushed[0]).str("gen_ai.conversation.id"), "conv_batch");

  ASSERT_TRUE(p.provider->Shutdown());
  tracer->StartSpan("after shutdown")->End();  // dropped by the shut-down pipeline
  p.provider->ForceFlush();
  EXPECT_TRUE(p.data->GetSpans().empty());
}

TEST_F(ProcessorTest, SpansOnManyThreadsCountOneTurnEach) {
  OtelPipeline p(false, /*batch=*/true);
  auto tracer = p.tracer();
  constexpr int kThreads = 4, kTurns = 25;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto conv = conversation("conv_threads_" + std::to_string(t));
      for (int i = 0; i < kTurns; ++i) {
        auto root = tracer->StartSpan("turn");
        otel_api::Scope active(root);
        llm_call(*tracer, "gpt-4o", 10, 10);
        root->End();
      }
    });
  }
  for (auto& t : threads) t.join();
  const std::vector<FlatSpan>& spans = p.spans();
  ASSERT_EQ(spans.size(), size_t{kThreads * kTurns * 2});
  std::map<std::string, std::set<int64_t>> turns;
  for (const FlatSpan& s : spans) {
    if (s.name == "turn")
      turns[s.str("gen_ai.conversation.id")].insert(s.integer("gen_ai.conversation.turn"));
  }
  ASSERT_EQ(turns.size(), size_t{kThreads});
  for (const auto& [conv, seen] : turns) {
    EXPECT_EQ(seen.size(), size_t{kTurns}) << conv;
    EXPECT_EQ(*seen.begin(), 1) << conv;
    EXPECT_EQ(*seen.rbegin(), kTurns) << conv;
  }
}

}  // namespace
}  // namespace convtrace::testing
