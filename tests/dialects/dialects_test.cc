// Reading each SDK's GenAI attributes: spans shaped as each dialect sends them,
// and the normalized usage, cost, ids and kind expected from them.
#include "dialects/dialects.h"

#include <gtest/gtest.h>

#include <limits>

#include "convtrace/attributes.h"

namespace convtrace::dialects {
namespace {

using Attrs = std::vector<Attribute>;

Attribute at(std::string_view key, AttributeValue value) {
  return Attribute{std::string(key), std::move(value)};
}
Attribute at(std::string_view key, const char* value) {
  return Attribute{std::string(key), std::string(value)};
}
Attribute at(std::string_view key, int value) {
  return Attribute{std::string(key), static_cast<int64_t>(value)};
}
Attribute at(std::string_view key, int64_t value) { return Attribute{std::string(key), value}; }
Attribute at(std::string_view key, double value) { return Attribute{std::string(key), value}; }

std::string problems(const SpanReading& r) {
  std::string out;
  for (const Problem& p : r.problems) out += p.key + ": " + p.message + "\n";
  return out;
}

TEST(Dialects, CurrentGenAiConventions) {
  SpanReading r =
      read_span({at(attr::kOperationName, "chat"), at(attr::kProviderName, "openai"),
                 at(attr::kRequestModel, "gpt-4o"), at(attr::kResponseModel, "gpt-4o-2024-08-06"),
                 at(attr::kInputTokens, 1000), at(attr::kCacheReadInputTokens, 400),
                 at(attr::kOutputTokens, 300), at(attr::kReasoningOutputTokens, 100),
                 at(attr::kConversationId, "conv_1"), at(attr::kUserId, "u1")});
  EXPECT_TRUE(r.problems.empty()) << problems(r);
  EXPECT_TRUE(r.has_tokens);
  EXPECT_EQ(r.usage.input_tokens, 1000);  // cache reads are part of the input
  EXPECT_EQ(r.usage.cache_read_tokens, 400);
  EXPECT_EQ(r.usage.output_tokens, 300);
  EXPECT_EQ(r.usage.reasoning_tokens, 100);
  EXPECT_EQ(r.usage.model, "gpt-4o-2024-08-06");  // the response model wins
  EXPECT_EQ(r.usage.provider, "openai");
  EXPECT_EQ(r.conversation_id, "conv_1");
  EXPECT_EQ(r.user_id, "u1");
  EXPECT_EQ(r.kind, Kind::llm);
  EXPECT_EQ(r.dialects, kOtelGenAi);
  EXPECT_FALSE(r.sent_cost_pico);
}

TEST(Dialects, DeprecatedGenAiKeys) {
  SpanReading r =
      read_span({at(attr::kSystemDeprecated, "az.ai.openai"), at(attr::kRequestModel, "gpt-4o"),
                 at(attr::kPromptTokensDeprecated, 19), at(attr::kCompletionTokensDeprecated, 10)});
  EXPECT_EQ(r.usage.input_tokens, 19);
  EXPECT_EQ(r.usage.output_tokens, 10);
  EXPECT_EQ(r.usage.provider, "azure.ai.openai");
  EXPECT_EQ(r.dialects, kOtelGenAi | kOtelGenAiDeprecated);
}

TEST(Dialects, CurrentKeysWinOverDeprecatedAndOtherDialects) {
  SpanReading r = read_span({at(attr::kPromptTokensDeprecated, 1), at(attr::kOiPromptTokens, 2),
                             at(attr::kInputTokens, 3), at(attr::kAiInputTokens, 4)});
  EXPECT_EQ(r.usage.input_tokens, 3);
  EXPECT_EQ(r.dialects, kOtelGenAi | kOtelGenAiDeprecated | kOpenInference | kVercelAi);
}

TEST(Dialects, OpenLlmetry) {
  // Traceloop: association properties carry the session and user; its cache
  // keys are part of the input count.
  SpanReading r = read_span(
      {at(attr::kSystemDeprecated, "Anthropic"), at(attr::kRequestModel, "claude-sonnet-4-5"),
       at(attr::kLlmRequestType, "chat"), at(attr::kPromptTokensDeprecated, 1500),
       at(attr::kTraceloopCacheReadTokens, 1000), at(attr::kTraceloopCacheCreationTokens, 200),
       at(attr::kCompletionTokensDeprecated, 80), at("llm.usage.total_tokens", 1580),
       at(attr::kTraceloopSessionId, "sess_9"), at(attr::kTraceloopUserId, "u9")});
  EXPECT_TRUE(r.problems.empty()) << problems(r);
  EXPECT_EQ(r.usage.input_tokens, 1500);
  EXPECT_EQ(r.usage.cache_read_tokens, 1000);
  EXPECT_EQ(r.usage.cache_write_tokens, 200);
  EXPECT_EQ(r.usage.provider, "anthropic");
  EXPECT_EQ(r.conversation_id, "sess_9");
  EXPECT_EQ(r.user_id, "u9");
  EXPECT_EQ(r.kind, Kind::llm);
  EXPECT_TRUE(r.dialects & kOpenLlmetry);
}

TEST(Dialects, OpenLlmetryOldUsageKeysAndSpanKind) {
  SpanReading r =
      read_span({at(attr::kLlmUsagePromptTokens, 12), at(attr::kLlmUsageCompletionTokens, 3),
                 at(attr::kTraceloopSpanKind, "task"), at(attr::kTraceloopConversationId, "c2")});
  EXPECT_EQ(r.usage.input_tokens, 12);
  EXPECT_EQ(r.usage.output_tokens, 3);
  EXPECT_EQ(r.kind, Kind::chain);
  EXPECT_EQ(r.conversation_id, "c2");
  EXPECT_EQ(r.dialects, kOpenLlmetry);
}

TEST(Dialects, OpenInference) {
  SpanReading r = read_span({at(attr::kOpenInferenceSpanKind, "LLM"),
                             at(attr::kOiModelName, "claude-sonnet-4-5-20250929"),
                             at(attr::kOiProvider, "anthropic"), at(attr::kOiSystem, "anthropic"),
                             at(attr::kOiPromptTokens, 1200), at(attr::kOiCacheReadTokens, 1000),
                             at(attr::kOiCacheWriteTokens, 100), at(attr::kOiCompletionTokens, 300),
                             at(attr::kOiReasoningTokens, 20), at(attr::kOiTotalTokens, 1500),
                             at(attr::kOiCostTotal, 0.0042), at(attr::kSessionId, "session-7"),
                             at(attr::kUserId, "user-7")});
  EXPECT_TRUE(r.problems.empty()) << problems(r);
  EXPECT_EQ(r.usage.input_tokens, 1200);
  EXPECT_EQ(r.usage.cache_read_tokens, 1000);
  EXPECT_EQ(r.usage.cache_write_tokens, 100);
  EXPECT_EQ(r.usage.output_tokens, 300);
  EXPECT_EQ(r.usage.reasoning_tokens, 20);
  EXPECT_EQ(r.usage.model, "claude-sonnet-4-5-20250929");
  EXPECT_EQ(r.usage.provider, "anthropic");
  EXPECT_EQ(r.sent_cost_pico, 4'200'000'000);
  EXPECT_EQ(r.conversation_id, "session-7");
  EXPECT_EQ(r.user_id, "user-7");
  EXPECT_EQ(r.kind, Kind::llm);
  EXPECT_EQ(r.dialects, kOpenInference);
}

TEST(Dialects, OpenInferenceKindsAndProviders) {
  EXPECT_EQ(read_span({at(attr::kOpenInferenceSpanKind, "RETRIEVER")}).kind, Kind::retriever);
  EXPECT_EQ(read_span({at(attr::kOpenInferenceSpanKind, "RERANKER")}).kind, Kind::reranker);
  EXPECT_EQ(read_span({at(attr::kOpenInferenceSpanKind, "GUARDRAIL")}).kind, Kind::none);
  EXPECT_EQ(read_span({at(attr::kOiProvider, "google")}).usage.provider, "gcp.gemini");
  EXPECT_EQ(read_span({at(attr::kOiProvider, "aws")}).usage.provider, "aws.bedrock");
  EXPECT_EQ(read_span({at(attr::kOiEmbeddingModelName, "text-embedding-3-small")}).usage.model,
            "text-embedding-3-small");
}

TEST(Dialects, OpenLit) {
  SpanReading r =
      read_span({at(attr::kSystemDeprecated, "openai"), at(attr::kOperationName, "chat"),
                 at(attr::kRequestModel, "gpt-4o-mini"), at(attr::kInputTokens, 50),
                 at(attr::kOutputTokens, 20), at(attr::kTraceloopReasoningTokens, 5),
                 at("gen_ai.usage.total_tokens", 70), at(attr::kCostGeneric, 0.0000195)});
  EXPECT_TRUE(r.problems.empty()) << problems(r);
  EXPECT_EQ(r.usage.reasoning_tokens, 5);
  EXPECT_EQ(r.sent_cost_pico, 19'500'000);
  EXPECT_TRUE(r.dialects & kOpenLit);
}

TEST(Dialects, LangfuseUsageDetailsLeaveThePartsOut) {
  SpanReading r = read_span(
      {at(attr::kLangfuseObservationType, "generation"), at(attr::kLangfuseModel, "gpt-4o"),
       at(attr::kLangfuseUsageDetails,
          R"({"input": 10, "input_cached_tokens": 30, "output": 5, "output_reasoning_tokens": 2,
              "total": 47})"),
       at(attr::kLangfuseCostDetails, R"({"input": 0.001, "output": 0.002})"),
       at(attr::kLangfuseSessionId, "lf_session"), at(attr::kLangfuseUserId, "lf_user")});
  EXPECT_TRUE(r.problems.empty()) << problems(r);
  EXPECT_EQ(r.usage.input_tokens, 40);
  EXPECT_EQ(r.usage.cache_read_tokens, 30);
  EXPECT_EQ(r.usage.output_tokens, 7);
  EXPECT_EQ(r.usage.reasoning_tokens, 2);
  EXPECT_EQ(r.usage.model, "gpt-4o");
  EXPECT_EQ(r.sent_cost_pico, 3'000'000'000);
  EXPECT_EQ(r.conversation_id, "lf_session");
  EXPECT_EQ(r.user_id, "lf_user");
  EXPECT_EQ(r.kind, Kind::llm);
  EXPECT_EQ(r.dialects, kLangfuse);
}

TEST(Dialects, LangfuseOpenAiShapedUsageAndTotalCost) {
  SpanReading r = read_span({at(attr::kLangfuseUsageDetails,
                                R"({"prompt_tokens": 100, "completion_tokens": 20,
              "prompt_tokens_details": {"cached_tokens": 60}})"),
                             at(attr::kLangfuseCostDetails, R"({"input": 1, "total": 0.5})")});
  EXPECT_EQ(r.usage.input_tokens, 100);  // OpenAI's counts include their parts
  EXPECT_EQ(r.usage.cache_read_tokens, 60);
  EXPECT_EQ(r.usage.output_tokens, 20);
  EXPECT_EQ(r.sent_cost_pico, 500'000'000'000);
}

TEST(Dialects, LangfuseUsageThatIsNotJsonIsAProblem) {
  SpanReading r = read_span({at(attr::kLangfuseUsageDetails, "input=3")});
  EXPECT_FALSE(r.has_tokens);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].key, attr::kLangfuseUsageDetails);
}

TEST(Dialects, VercelAiCallSpan) {
  SpanReading r =
      read_span({at(attr::kAiOperationId, "ai.generateText.doGenerate"),
                 at(attr::kAiModelId, "gpt-4o"), at(attr::kAiModelProvider, "openai.chat"),
                 at(attr::kAiInputTokens, 100), at(attr::kAiCachedInputTokens, 60),
                 at(attr::kAiOutputTokens, 20), at(attr::kAiReasoningTokens, 5),
                 at(attr::kAiSessionId, "v_sess"), at(attr::kAiUserId, "v_user")});
  EXPECT_TRUE(r.problems.empty()) << problems(r);
  EXPECT_TRUE(r.has_tokens);
  EXPECT_EQ(r.usage.input_tokens, 100);  // cachedInputTokens is a part of inputTokens
  EXPECT_EQ(r.usage.cache_read_tokens, 60);
  EXPECT_EQ(r.usage.provider, "openai");
  EXPECT_EQ(r.usage.model, "gpt-4o");
  EXPECT_EQ(r.kind, Kind::llm);
  EXPECT_EQ(r.conversation_id, "v_sess");
  EXPECT_EQ(r.user_id, "v_user");
  EXPECT_EQ(r.dialects, kVercelAi);
}

TEST(Dialects, VercelAiV4KeysAndEmbeddings) {
  SpanReading r =
      read_span({at(attr::kAiOperationId, "ai.embed.doEmbed"),
                 at(attr::kAiModelProvider, "amazon-bedrock"), at(attr::kAiPromptTokens, 8)});
  EXPECT_EQ(r.usage.input_tokens, 8);
  EXPECT_EQ(r.kind, Kind::embedding);
  EXPECT_EQ(r.usage.provider, "aws.bedrock");
}

TEST(Dialects, VercelAiOuterSpansSumTheirCalls) {
  // ai.generateText carries the total of its doGenerate children: not a call.
  SpanReading r =
      read_span({at(attr::kAiOperationId, "ai.generateText"), at(attr::kAiModelId, "gpt-4o"),
                 at(attr::kAiPromptTokens, 200), at(attr::kAiCompletionTokens, 40)});
  EXPECT_FALSE(r.has_tokens);
  EXPECT_TRUE(r.aggregate_usage);
  EXPECT_FALSE(r.usage.input_tokens);
  EXPECT_EQ(r.usage.model, "gpt-4o");
}

TEST(Dialects, AgentAndWorkflowUsageOfOtherSdksIsAnAggregate) {
  for (const char* op : {"invoke_agent", "agent_step", "invoke_workflow"}) {
    SpanReading r = read_span({at(attr::kOperationName, op), at(attr::kInputTokens, 500),
                               at(attr::kOutputTokens, 50), at(attr::kCostGeneric, 0.01)});
    EXPECT_TRUE(r.aggregate_usage) << op;
    EXPECT_FALSE(r.has_tokens) << op;
    EXPECT_FALSE(r.sent_cost_pico) << op;
  }
  // convtrace never puts aggregates on gen_ai.usage.*: its agent spans are calls.
  SpanReading mine =
      read_span({at(attr::kOperationName, "invoke_agent"), at(attr::kSpanKind, "agent"),
                 at(attr::kInputTokens, 500), at(attr::kOutputTokens, 50),
                 at(attr::kCostPicoUsd, int64_t{1'750'000'000})});
  EXPECT_FALSE(mine.aggregate_usage);
  EXPECT_TRUE(mine.has_tokens);
  EXPECT_EQ(mine.kind, Kind::agent);
  EXPECT_EQ(mine.sent_cost_pico, 1'750'000'000);
}

TEST(Dialects, ConvtraceSpansPreferTheExactCost) {
  SpanReading r = read_span(
      {at(attr::kSpanKind, "llm"), at(attr::kInputTokens, 19), at(attr::kOutputTokens, 10),
       at(attr::kCostUsd, 0.0001975), at(attr::kCostGeneric, 0.0001975),
       at(attr::kCostPicoUsd, int64_t{197'500'001}), at(attr::kPricedAs, "gpt-4o")});
  EXPECT_EQ(r.sent_cost_pico, 197'500'001);
  EXPECT_TRUE(r.priced_by_convtrace);
  EXPECT_EQ(r.dialects, kConvtrace | kOtelGenAi);  // gen_ai.usage.cost is not taken for OpenLIT
}

TEST(Dialects, SentCostInUsdIsRoundedToThePico) {
  EXPECT_EQ(read_span({at(attr::kCostUsd, 0.0075)}).sent_cost_pico, 7'500'000'000);
  EXPECT_EQ(read_span({at(attr::kCostGeneric, "0.25")}).sent_cost_pico, 250'000'000'000);
  EXPECT_EQ(read_span({at(attr::kCostGeneric, int64_t{2})}).sent_cost_pico, 2'000'000'000'000);
}

TEST(Dialects, BadCostsAreProblemsNotZero) {
  for (AttributeValue bad : {AttributeValue(std::string("free")), AttributeValue(-0.5),
                             AttributeValue(std::numeric_limits<double>::infinity())}) {
    SpanReading r = read_span({at(attr::kCostGeneric, bad)});
    EXPECT_FALSE(r.sent_cost_pico);
    EXPECT_EQ(r.problems.size(), 1u);
  }
  for (AttributeValue bad : {AttributeValue(1.5), AttributeValue(int64_t{-2})}) {
    SpanReading r = read_span({at(attr::kCostPicoUsd, bad)});
    EXPECT_FALSE(r.sent_cost_pico);
    EXPECT_FALSE(r.priced_by_convtrace);
    EXPECT_EQ(r.problems.size(), 1u);
  }
  EXPECT_FALSE(read_span({at(attr::kCostUsd, 0.5)}).priced_by_convtrace);
}

TEST(Dialects, TokenCountsFromJsonSpeakingSdks) {
  SpanReading r = read_span({at(attr::kInputTokens, 12.0), at(attr::kOutputTokens, "7")});
  EXPECT_TRUE(r.problems.empty()) << problems(r);
  EXPECT_EQ(r.usage.input_tokens, 12);
  EXPECT_EQ(r.usage.output_tokens, 7);
}

TEST(Dialects, BadTokenCountsAreProblems) {
  struct Case {
    AttributeValue value;
    std::string message;
  };
  const Case cases[] = {
      {int64_t{-3}, "negative token count -3"},
      {12.5, "token count is not an integer: 12.5"},
      {std::string("lots"), "token count is not a number: 'lots'"},
      {true, "token count is not a number: true"},
      {std::vector<int64_t>{1, 2}, "token count is not a number: an array"},
  };
  for (const Case& c : cases) {
    SpanReading r = read_span({at(attr::kInputTokens, c.value), at(attr::kOutputTokens, 4)});
    ASSERT_EQ(r.problems.size(), 1u) << c.message;
    EXPECT_EQ(r.problems[0].key, attr::kInputTokens);
    EXPECT_EQ(r.problems[0].message, c.message);
    EXPECT_FALSE(r.usage.input_tokens);
    EXPECT_EQ(r.usage.output_tokens, 4);  // the rest of the span is still read
    EXPECT_TRUE(r.problems[0].unread_count);
  }
}

TEST(Dialects, CountsAsTextAreProblemsWhenOnlyNumbersAreExpected) {
  SpanReading r =
      read_span({at(attr::kInputTokens, "7"), at(attr::kOutputTokens, 4)}, Counts::numbers_only);
  ASSERT_EQ(r.problems.size(), 1u);
  EXPECT_EQ(r.problems[0].message, "token count is text: '7'");
  EXPECT_TRUE(r.problems[0].unread_count);
  EXPECT_FALSE(r.usage.input_tokens);
  // A problem that is corrected, not a count left out, does not say so.
  SpanReading parts = read_span({at(attr::kInputTokens, 10), at(attr::kCacheReadInputTokens, 20),
                                 at(attr::kOutputTokens, 1)});
  ASSERT_EQ(parts.problems.size(), 1u);
  EXPECT_FALSE(parts.problems[0].unread_count);
}

TEST(Dialects, PartsLargerThanTheTotalWereCountedBesideIt) {
  // Anthropic's own counting passed through unchanged: input excludes the cache.
  SpanReading r = read_span({at(attr::kInputTokens, 20), at(attr::kCacheReadInputTokens, 1000),
                             at(attr::kCacheCreationInputTokens, 200), at(attr::kOutputTokens, 10),
                             at(attr::kReasoningOutputTokens, 30)});
  EXPECT_EQ(r.usage.input_tokens, 1220);
  EXPECT_EQ(r.usage.output_tokens, 40);
  EXPECT_EQ(r.problems.size(), 2u);
  EXPECT_FALSE(validate(r.usage));
}

TEST(Dialects, TheFirstOfARepeatedKeyWins) {
  SpanReading r = read_span({at(attr::kInputTokens, 5), at(attr::kInputTokens, 9)});
  EXPECT_EQ(r.usage.input_tokens, 5);
}

TEST(Dialects, UnknownDialectIsNoticed) {
  SpanReading r = read_span({at("acme.llm.prompt_tokens", 12), at("http.method", "POST")});
  EXPECT_FALSE(r.has_tokens);
  EXPECT_EQ(r.unknown_usage_key, "acme.llm.prompt_tokens");
  EXPECT_EQ(r.dialects, 0u);
  // A span of a known dialect with extra token-like keys is not unknown.
  EXPECT_EQ(read_span({at("acme.tokens", 1), at(attr::kInputTokens, 3)}).unknown_usage_key, "");
  EXPECT_EQ(read_span({at("http.method", "POST")}).unknown_usage_key, "");
  // Totals and cost parts of known dialects are not usage in an unknown one.
  for (std::string_view total :
       {attr::kWorkflowTotalCostUsd, attr::kWorkflowInputTokens, attr::kConversationTotalCostUsd,
        attr::kInputCostUsd, attr::kOiTotalTokens, attr::kTotalTokens,
        attr::kLlmUsageTotalTokens}) {
    SpanReading r = read_span({at(total, 12.5)});
    EXPECT_EQ(r.unknown_usage_key, "") << total;
    EXPECT_FALSE(r.has_tokens) << total;
  }
}

TEST(Dialects, KnownKeys) {
  for (std::string_view key : {attr::kInputTokens,
                               attr::kOutputTokens,
                               attr::kCacheReadInputTokens,
                               attr::kCacheCreationInputTokens,
                               attr::kReasoningOutputTokens,
                               attr::kRequestModel,
                               attr::kResponseModel,
                               attr::kProviderName,
                               attr::kConversationId,
                               attr::kUserId,
                               attr::kOperationName,
                               attr::kSpanKind,
                               attr::kCostUsd,
                               attr::kCostGeneric,
                               attr::kCostPicoUsd,
                               attr::kSystemDeprecated,
                               attr::kPromptTokensDeprecated,
                               attr::kCompletionTokensDeprecated,
                               attr::kTraceloopCacheReadTokens,
                               attr::kTraceloopCacheCreationTokens,
                               attr::kTraceloopReasoningTokens,
                               attr::kLlmUsagePromptTokens,
                               attr::kLlmUsageCompletionTokens,
                               attr::kLlmRequestType,
                               attr::kTraceloopSpanKind,
                               attr::kTraceloopSessionId,
                               attr::kTraceloopConversationId,
                               attr::kTraceloopUserId,
                               attr::kOpenInferenceSpanKind,
                               attr::kOiPromptTokens,
                               attr::kOiCompletionTokens,
                               attr::kOiCacheReadTokens,
                               attr::kOiCacheWriteTokens,
                               attr::kOiReasoningTokens,
                               attr::kOiModelName,
                               attr::kOiEmbeddingModelName,
                               attr::kOiProvider,
                               attr::kOiSystem,
                               attr::kOiCostTotal,
                               attr::kSessionId,
                               attr::kLangfuseSessionId,
                               attr::kLangfuseUserId,
                               attr::kLangfuseUsageDetails,
                               attr::kLangfuseCostDetails,
                               attr::kLangfuseModel,
                               attr::kLangfuseObservationType,
                               attr::kAiPromptTokens,
                               attr::kAiCompletionTokens,
                               attr::kAiInputTokens,
                               attr::kAiOutputTokens,
                               attr::kAiReasoningTokens,
                               attr::kAiCachedInputTokens,
                               attr::kAiModelId,
                               attr::kAiModelProvider,
                               attr::kAiResponseModel,
                               attr::kAiOperationId,
                               attr::kAiSessionId,
                               attr::kAiUserId,
                               attr::kPricedAs,
                               attr::kUnpricedModel}) {
    EXPECT_TRUE(is_known_key(key)) << key;
  }
  for (std::string_view key : {"", "g", "gen_ai.usage.input_tokenz", "gen_ai.usage.input_token",
                               "Gen_ai.usage.input_tokens", "http.method", "service.name",
                               "gen_ai.request.temperature", "session.idx"}) {
    EXPECT_FALSE(is_known_key(key)) << key;
  }
}

TEST(Dialects, Names) {
  EXPECT_EQ(dialect_names(kOpenInference | kOtelGenAi | kConvtrace),
            "otel_genai,openinference,convtrace");
  EXPECT_EQ(dialect_names(0), "");
  EXPECT_EQ(dialect_name(kVercelAi), "vercel_ai");
}

}  // namespace
}  // namespace convtrace::dialects
