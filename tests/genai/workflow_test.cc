#include <gtest/gtest.h>

#include <thread>

#include "support/test_sdk.h"

namespace convtrace {
namespace {

using testing::int_attr;
using testing::named;
using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

Usage usage_of(int64_t in, int64_t out, std::string model) {
  Usage u;
  u.input_tokens = in;
  u.output_tokens = out;
  u.model = std::move(model);
  return u;
}

// The seed's RAG pipeline: embedding, rerank, generate.
void rag(const std::string& id) {
  auto wf = workflow(id, "rag");
  observe({"embed", Kind::embedding, "gpt-4o"},
          [](Span& s) { s.record_usage(usage_of(100, 0, "gpt-4o")); });
  observe({"retrieve", Kind::tool}, [] {});
  observe({"rerank", Kind::llm, "claude-sonnet"},
          [](Span& s) { s.record_usage(usage_of(2000, 50, "claude-sonnet")); });
  observe({"generate", Kind::llm, "gpt-4o"},
          [](Span& s) { s.record_usage(usage_of(1234, 567, "gpt-4o")); });
}

// gpt-4o $2.50/$10 per 1M, claude-sonnet $3/$15 per 1M, in pico-USD:
//   embed    100 × 2.5e6                     =   250,000,000
//   rerank  2000 × 3e6   +  50 × 15e6        = 6,750,000,000
//   generate 1234 × 2.5e6 + 567 × 10e6       = 8,755,000,000
constexpr int64_t kRagPico = 250000000LL + 6750000000LL + 8755000000LL;

TEST(Workflow, RagTotalsAreExact) {
  TestSdk t(sync_config());
  rag("rag_12345");
  auto spans = t.spans();
  const SpanData* wf = only(spans, "invoke_workflow rag");
  ASSERT_NE(wf, nullptr);
  EXPECT_EQ(int_attr(*wf, attr::kWorkflowTotalCostPico), kRagPico);
  EXPECT_DOUBLE_EQ(*find_double(wf->attributes, attr::kWorkflowTotalCostUsd), 0.015755);
  EXPECT_EQ(int_attr(*wf, attr::kWorkflowInputTokens), 100 + 2000 + 1234);
  EXPECT_EQ(int_attr(*wf, attr::kWorkflowOutputTokens), 50 + 567);
  EXPECT_EQ(int_attr(*wf, attr::kWorkflowLlmCalls), 3);
  EXPECT_EQ(int_attr(*wf, attr::kWorkflowToolCalls), 1);
  EXPECT_EQ(str_attr(*wf, attr::kSpanKind), "workflow");
  EXPECT_EQ(str_attr(*wf, attr::kWorkflowId), "rag_12345");
  EXPECT_EQ(find_double(wf->attributes, attr::kCostUsd), nullptr)
      << "the workflow span must not carry per-call cost, or sums would count twice";
  for (const char* step :
       {"embeddings gpt-4o", "execute_tool retrieve", "chat claude-sonnet", "chat gpt-4o"}) {
    const SpanData* s = only(spans, step);
    ASSERT_NE(s, nullptr) << step;
    EXPECT_EQ(s->parent_span_id, wf->span_id) << step;
    EXPECT_EQ(str_attr(*s, attr::kWorkflowId), "rag_12345") << step;
    EXPECT_EQ(str_attr(*s, attr::kWorkflowType), "rag") << step;
  }
  // Summing the per-call key over all spans equals the workflow total.
  int64_t sum = 0;
  for (const SpanData& s : spans) sum += int_attr(s, attr::kCostPicoUsd, 0);
  EXPECT_EQ(sum, kRagPico);
}

TEST(Workflow, ConversationWhoseTurnsEachRunARag) {
  TestSdk t(sync_config());
  {
    auto conv = conversation("support_789", {"user_9"});
    rag("rag_turn_1");
    rag("rag_turn_2");
  }
  auto spans = t.spans();
  auto wfs = named(spans, "invoke_workflow rag");
  ASSERT_EQ(wfs.size(), 2u);
  EXPECT_EQ(int_attr(*wfs[0], attr::kConversationTurn), 1);
  EXPECT_EQ(int_attr(*wfs[1], attr::kConversationTurn), 2);
  EXPECT_DOUBLE_EQ(*find_double(wfs[0]->attributes, attr::kConversationTotalCostUsd), 0.015755);
  EXPECT_DOUBLE_EQ(*find_double(wfs[1]->attributes, attr::kConversationTotalCostUsd), 0.03151);
  for (const SpanData& s : spans) {
    EXPECT_EQ(str_attr(s, attr::kConversationId), "support_789") << s.name;
    EXPECT_EQ(str_attr(s, attr::kUserId), "user_9") << s.name;
    int64_t turn = int_attr(s, attr::kConversationTurn);
    std::string wf = str_attr(s, attr::kWorkflowId);
    EXPECT_EQ(wf, turn == 1 ? "rag_turn_1" : "rag_turn_2") << s.name;
  }
}

TEST(Workflow, NestedWorkflowsRollUp) {
  TestSdk t(sync_config());
  {
    auto outer = workflow("agent_1", "agent");
    observe({"plan", Kind::llm, "gpt-4o"},
            [](Span& s) { s.record_usage(usage_of(1000, 100, "gpt-4o")); });
    rag("inner_rag");
    EXPECT_EQ(outer.totals().cost_pico, 2500000000LL + 1000000000LL + kRagPico);
  }
  auto spans = t.spans();
  const SpanData* outer = only(spans, "invoke_workflow agent");
  const SpanData* inner = only(spans, "invoke_workflow rag");
  ASSERT_TRUE(outer && inner);
  EXPECT_EQ(int_attr(*inner, attr::kWorkflowTotalCostPico), kRagPico);
  EXPECT_EQ(int_attr(*outer, attr::kWorkflowTotalCostPico), 3500000000LL + kRagPico);
  EXPECT_EQ(int_attr(*outer, attr::kWorkflowLlmCalls), 4);
  EXPECT_EQ(inner->parent_span_id, outer->span_id);
  EXPECT_EQ(str_attr(*only(spans, "chat claude-sonnet"), attr::kWorkflowId), "inner_rag");
}

TEST(Workflow, CallsOnOtherThreadsCount) {
  TestSdk t(sync_config());
  {
    auto wf = workflow("parallel", "fanout");
    std::vector<std::thread> threads;
    for (int i = 0; i < 4; ++i) {
      threads.emplace_back(wrap([] {
        observe({"gen", Kind::llm, "gpt-4o"},
                [](Span& s) { s.record_usage(usage_of(1234, 567, "gpt-4o")); });
      }));
    }
    // The workflow's own thread adds at the same time as the others.
    for (int i = 0; i < 3; ++i) {
      observe({"gen", Kind::llm, "gpt-4o"},
              [](Span& s) { s.record_usage(usage_of(1234, 567, "gpt-4o")); });
    }
    for (auto& th : threads) th.join();
    EXPECT_EQ(wf.totals().cost_pico, 7 * 8755000000LL);
    EXPECT_EQ(wf.totals().input_tokens, 7 * 1234);
  }
  const SpanData* wf = only(t.spans(), "invoke_workflow fanout");
  ASSERT_NE(wf, nullptr);
  EXPECT_EQ(int_attr(*wf, attr::kWorkflowTotalCostPico), 7 * 8755000000LL);
  EXPECT_EQ(int_attr(*wf, attr::kWorkflowLlmCalls), 7);
}

TEST(Workflow, UnknownModelGetsNoCostAndAMarker) {
  TestSdk t(sync_config());
  uint64_t before = warning_count("unknown_model");
  {
    auto wf = workflow("w", "mystery");
    observe({"call", Kind::llm, "mystery-model-9"},
            [](Span& s) { EXPECT_TRUE(s.record_usage(usage_of(10, 10, "mystery-model-9"))); });
  }
  auto spans = t.spans();
  const SpanData* call = only(spans, "chat mystery-model-9");
  ASSERT_NE(call, nullptr);
  EXPECT_EQ(find_double(call->attributes, attr::kCostUsd), nullptr) << "never a silent 0";
  EXPECT_EQ(str_attr(*call, attr::kUnpricedModel), "mystery-model-9");
  EXPECT_EQ(int_attr(*call, attr::kInputTokens), 10);
  EXPECT_EQ(warning_count("unknown_model"), before + 1);
  EXPECT_EQ(int_attr(*only(spans, "invoke_workflow mystery"), attr::kWorkflowTotalCostPico), 0);
}

TEST(Workflow, RecordingUsageTwiceReplacesIt) {
  TestSdk t(sync_config());
  {
    auto wf = workflow("w", "retry");
    observe({"call", Kind::llm, "gpt-4o"}, [](Span& s) {
      s.record_usage(usage_of(999999, 999999, "gpt-4o"));
      s.record_usage(usage_of(1234, 567, "gpt-4o"));
    });
  }
  EXPECT_EQ(int_attr(*only(t.spans(), "invoke_workflow retry"), attr::kWorkflowTotalCostPico),
            8755000000LL);
}

TEST(Workflow, PerCallPriceOverridesTheCatalog) {
  TestSdk t(sync_config());
  ObserveOptions o{"custom", Kind::llm, "in-house-model"};
  o.price = ModelPrice::usd_per_million(1.0, 2.0);
  observe(o, [](Span& s) { s.record_usage(usage_of(1000000, 1000000, "")); });
  EXPECT_EQ(int_attr(*only(t.spans(), "chat in-house-model"), attr::kCostPicoUsd), 3000000000000LL);
}

}  // namespace
}  // namespace convtrace
