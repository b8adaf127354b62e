// extract_usage and validate: shapes beyond the recorded fixtures, metadata,
// provider detection, and every error path.
#include <gtest/gtest.h>

#include <string>

#include "convtrace/diagnostics.h"
#include "convtrace/usage.h"

namespace convtrace {
namespace {

Usage must(const Expected<Usage>& got) {
  EXPECT_TRUE(got.has_value()) << (got ? "" : got.error().message);
  return got ? *got : Usage{};
}

TEST(ExtractUsage, OpenAiChatMetadata) {
  const Usage u = must(extract_usage(R"({
    "id": "chatcmpl-1", "object": "chat.completion", "model": "gpt-4o-2024-08-06",
    "choices": [{"index": 0, "finish_reason": "stop"}, {"index": 1, "finish_reason": "length"}],
    "usage": {"prompt_tokens": 100, "completion_tokens": 50, "total_tokens": 150,
              "prompt_tokens_details": {"cached_tokens": 40},
              "completion_tokens_details": {"reasoning_tokens": 10}}})"));
  EXPECT_EQ(u.provider, provider::kOpenAi);
  EXPECT_EQ(u.model, "gpt-4o-2024-08-06");
  EXPECT_EQ(u.response_id, "chatcmpl-1");
  EXPECT_EQ(u.finish_reasons, (std::vector<std::string>{"stop", "length"}));
  EXPECT_EQ(u.input_tokens, 100);
  EXPECT_EQ(u.output_tokens, 50);
  EXPECT_EQ(u.cache_read_tokens, 40);
  EXPECT_EQ(u.cache_write_tokens, std::nullopt);
  EXPECT_EQ(u.reasoning_tokens, 10);
}

TEST(ExtractUsage, DetectsAzureMistralAndLlamaCpp) {
  EXPECT_EQ(must(extract_usage(R"({"prompt_filter_results": [], "model": "gpt-4o",
      "usage": {"prompt_tokens": 1, "completion_tokens": 2}})"))
                .provider,
            provider::kAzureOpenAi);
  EXPECT_EQ(must(extract_usage(R"({"model": "mistral-small-latest",
      "usage": {"prompt_tokens": 1, "completion_tokens": 2}})"))
                .provider,
            provider::kMistral);
  EXPECT_EQ(must(extract_usage(R"({"model": "qwen", "timings": {"prompt_n": 3},
      "usage": {"prompt_tokens": 1, "completion_tokens": 2}})"))
                .provider,
            provider::kLlamaCpp);
}

TEST(ExtractUsage, HintNamesTheProvider) {
  const Usage u = must(extract_usage(R"({"usage": {"prompt_tokens": 1, "completion_tokens": 2}})",
                                     provider::kMistral));
  EXPECT_EQ(u.provider, provider::kMistral);
  EXPECT_EQ(u.input_tokens, 1);
}

TEST(ExtractUsage, HintResolvesAnthropicVersusResponses) {
  // No cache field: only the hint says which counting rule applies.
  const std::string body = R"({"usage": {"input_tokens": 10, "output_tokens": 3}})";
  EXPECT_EQ(must(extract_usage(body)).provider, provider::kOpenAi);
  const Usage u = must(extract_usage(body, provider::kAnthropic));
  EXPECT_EQ(u.provider, provider::kAnthropic);
  EXPECT_EQ(u.input_tokens, 10);
}

TEST(ExtractUsage, AnthropicOneHourCacheWrites) {
  const Usage u = must(extract_usage(R"({"type": "message", "id": "msg_1",
      "model": "claude-sonnet-4-5", "stop_reason": "max_tokens",
      "usage": {"input_tokens": 100, "cache_read_input_tokens": 1000,
                "cache_creation_input_tokens": 500,
                "cache_creation": {"ephemeral_5m_input_tokens": 200,
                                   "ephemeral_1h_input_tokens": 300},
                "output_tokens": 20}})"));
  EXPECT_EQ(u.provider, provider::kAnthropic);
  EXPECT_EQ(u.input_tokens, 1600);
  EXPECT_EQ(u.cache_read_tokens, 1000);
  EXPECT_EQ(u.cache_write_tokens, 500);
  EXPECT_EQ(u.cache_write_1h_tokens, 300);
  EXPECT_EQ(u.reasoning_tokens, std::nullopt);
  EXPECT_EQ(u.finish_reasons, std::vector<std::string>{"max_tokens"});
}

TEST(ExtractUsage, AnthropicBreakdownWithoutTotal) {
  const Usage u = must(extract_usage(R"({"type": "message",
      "usage": {"input_tokens": 5, "cache_creation": {"ephemeral_5m_input_tokens": 7,
                "ephemeral_1h_input_tokens": 11}, "output_tokens": 1}})"));
  EXPECT_EQ(u.cache_write_tokens, 18);
  EXPECT_EQ(u.cache_write_1h_tokens, 11);
  EXPECT_EQ(u.input_tokens, 23);
}

TEST(ExtractUsage, CohereBilledUnitsKeptApart) {
  const Usage u = must(extract_usage(R"({"id": "c1", "finish_reason": "COMPLETE",
      "message": {"role": "assistant", "content": []},
      "usage": {"billed_units": {"input_tokens": 12, "output_tokens": 7},
                "tokens": {"input_tokens": 507, "output_tokens": 10}, "cached_tokens": 448}})"));
  EXPECT_EQ(u.provider, provider::kCohere);
  EXPECT_EQ(u.input_tokens, 507);
  EXPECT_EQ(u.output_tokens, 10);
  EXPECT_EQ(u.billed_input_tokens, 12);
  EXPECT_EQ(u.billed_output_tokens, 7);
  EXPECT_EQ(u.finish_reasons, std::vector<std::string>{"COMPLETE"});
}

TEST(ExtractUsage, GeminiMetadata) {
  const Usage u = must(extract_usage(R"({"candidates": [{"finishReason": "MAX_TOKENS"}],
      "usageMetadata": {"promptTokenCount": 10, "candidatesTokenCount": 5,
                        "thoughtsTokenCount": 7, "cachedContentTokenCount": 4},
      "modelVersion": "gemini-2.5-pro", "responseId": "r1"})"));
  EXPECT_EQ(u.provider, provider::kGemini);
  EXPECT_EQ(u.model, "gemini-2.5-pro");
  EXPECT_EQ(u.response_id, "r1");
  EXPECT_EQ(u.input_tokens, 10);
  EXPECT_EQ(u.output_tokens, 12);
  EXPECT_EQ(u.reasoning_tokens, 7);
  EXPECT_EQ(u.cache_read_tokens, 4);
  EXPECT_EQ(u.finish_reasons, std::vector<std::string>{"MAX_TOKENS"});
}

TEST(ExtractUsage, BedrockAddsCacheToInput) {
  const Usage u = must(extract_usage(R"({"stopReason": "end_turn",
      "usage": {"inputTokens": 10, "outputTokens": 5, "cacheReadInputTokens": 100,
                "cacheWriteInputTokens": 20, "totalTokens": 135}})"));
  EXPECT_EQ(u.provider, provider::kBedrock);
  EXPECT_EQ(u.input_tokens, 130);
  EXPECT_EQ(u.cache_read_tokens, 100);
  EXPECT_EQ(u.cache_write_tokens, 20);
  EXPECT_EQ(u.finish_reasons, std::vector<std::string>{"end_turn"});
}

TEST(ExtractUsage, OllamaGenerate) {
  const Usage u = must(extract_usage(R"({"model": "llama3.2", "response": "hi", "done": true,
      "done_reason": "stop", "prompt_eval_count": 12, "eval_count": 34})"));
  EXPECT_EQ(u.provider, provider::kOllama);
  EXPECT_EQ(u.input_tokens, 12);
  EXPECT_EQ(u.output_tokens, 34);
  EXPECT_EQ(u.finish_reasons, std::vector<std::string>{"stop"});
}

TEST(ExtractUsage, LlamaCppNativeCompletion) {
  const Usage u = must(extract_usage(R"({"content": "x", "model": "local.gguf",
      "tokens_predicted": 16, "tokens_evaluated": 40, "stop_type": "limit",
      "timings": {"prompt_n": 30, "cache_n": 10, "predicted_n": 16, "prompt_ms": 1.5}})"));
  EXPECT_EQ(u.provider, provider::kLlamaCpp);
  EXPECT_EQ(u.input_tokens, 40);
  EXPECT_EQ(u.output_tokens, 16);
  EXPECT_EQ(u.cache_read_tokens, 10);
  EXPECT_EQ(u.finish_reasons, std::vector<std::string>{"limit"});
}

TEST(ExtractUsage, CohereEmbedMeta) {
  const Usage u = must(extract_usage(
      R"({"id": "e", "embeddings": {"float": [[0.1]]}, "meta": {"billed_units": {"input_tokens": 10}}})"));
  EXPECT_EQ(u.provider, provider::kCohere);
  EXPECT_EQ(u.input_tokens, 10);
  EXPECT_EQ(u.output_tokens, std::nullopt);
  EXPECT_EQ(u.billed_input_tokens, 10);
}

TEST(ExtractUsage, UserMetadataDoesNotBreakExtraction) {
  const Usage u = must(extract_usage(R"({"object": "response", "metadata": {"usage": "free-text"},
      "usage": {"input_tokens": 3, "output_tokens": 4}})"));
  EXPECT_EQ(u.input_tokens, 3);
}

TEST(ExtractUsage, IntegralDoublesAccepted) {
  EXPECT_EQ(must(extract_usage(R"({"usage": {"prompt_tokens": 12.0, "completion_tokens": 1}})"))
                .input_tokens,
            12);
}

struct BadCase {
  const char* name;
  const char* body;
  Error::Code code;
  const char* message_part;
};

class ExtractUsageErrors : public ::testing::TestWithParam<BadCase> {};

TEST_P(ExtractUsageErrors, ReturnsErrorValue) {
  const BadCase& c = GetParam();
  const auto got = extract_usage(c.body);
  ASSERT_FALSE(got.has_value()) << c.name;
  EXPECT_EQ(got.error().code, c.code) << got.error().message;
  EXPECT_NE(got.error().message.find(c.message_part), std::string::npos) << got.error().message;
}

INSTANTIATE_TEST_SUITE_P(
    Bodies, ExtractUsageErrors,
    ::testing::Values(
        BadCase{"empty", "", Error::parse_error, "malformed JSON"},
        BadCase{"truncated", R"({"usage": {"prompt_tokens": 12, "completion_tok)",
                Error::parse_error, "malformed JSON at byte"},
        BadCase{"truncated_after_value", R"({"usage": {"prompt_tokens": 12,)", Error::parse_error,
                "malformed JSON at byte"},
        BadCase{"bad_token", R"({"usage": {"prompt_tokens": 12x, "completion_tokens": 1}})",
                Error::parse_error, "malformed JSON"},
        BadCase{"trailing", R"({"usage": {"prompt_tokens": 1}} {"x": 1})", Error::parse_error,
                "at byte 32: trailing content"},
        BadCase{"string_count", R"({"usage": {"prompt_tokens": "12"}})", Error::invalid_argument,
                "usage.prompt_tokens: expected an integer"},
        BadCase{"fraction", R"({"usage": {"prompt_tokens": 1.5}})", Error::invalid_argument,
                "usage.prompt_tokens"},
        BadCase{"negative", R"({"usage": {"prompt_tokens": -3, "completion_tokens": 1}})",
                Error::invalid_argument, "negative token count -3"},
        BadCase{"huge", R"({"usage": {"prompt_tokens": 1000000000001}})", Error::invalid_argument,
                "out of range"},
        BadCase{"huge_unsigned", R"({"usage": {"prompt_tokens": 18446744073709551615}})",
                Error::invalid_argument, "out of range"},
        BadCase{"huge_double", R"({"usage": {"prompt_tokens": 1e300}})", Error::invalid_argument,
                "usage.prompt_tokens"},
        BadCase{
            "nested_wrong_type",
            R"({"usage": {"prompt_tokens": 1, "prompt_tokens_details": {"cached_tokens": true}}})",
            Error::invalid_argument, "usage.prompt_tokens_details.cached_tokens"},
        BadCase{"usage_not_object", R"({"usage": 5})", Error::invalid_argument,
                "usage: expected an object"},
        BadCase{"gemini_negative", R"({"usageMetadata": {"promptTokenCount": -1}})",
                Error::invalid_argument, "usageMetadata.promptTokenCount"},
        BadCase{"array", R"([{"usage": {"prompt_tokens": 1}}])", Error::invalid_argument,
                "JSON object"},
        BadCase{"no_usage", R"({"id": "x", "choices": []})", Error::not_found, "no token usage"},
        BadCase{"null_usage", R"({"usage": null})", Error::not_found, "no token usage"},
        BadCase{
            "parts_exceed_total",
            R"({"usage": {"prompt_tokens": 10, "prompt_tokens_details": {"cached_tokens": 11}}})",
            Error::invalid_argument, "cache_read_tokens (11) exceeds input_tokens (10)"}),
    [](const ::testing::TestParamInfo<BadCase>& info) { return std::string(info.param.name); });

TEST(Extract, InvalidUtf8IsRepairedAndTheUsageKept) {
  // JSON must be UTF-8, but a provider may cut a completion inside a
  // character: the usage is still read, and the strings taken are valid.
  TEST_reset_warnings();
  auto u = extract_usage(
      "{\"id\": \"chatcmpl-\xC3\", \"model\": \"\xff\xfe\", \"choices\": [{\"message\": "
      "{\"content\": \"cut \xE2\x82\"}, \"finish_reason\": \"stop\"}], \"usage\": "
      "{\"prompt_tokens\": 7, \"completion_tokens\": 3}}");
  ASSERT_TRUE(u) << u.error().message;
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(u->model, R + R);
  EXPECT_EQ(u->response_id, "chatcmpl-" + R);
  EXPECT_EQ(*u->input_tokens, 7);
  EXPECT_EQ(*u->output_tokens, 3);
  EXPECT_EQ(warning_count("invalid_utf8"), 1u);

  StreamAccumulator stream;
  stream.feed(
      "data: {\"model\": \"m\xFF\", \"usage\": {\"prompt_tokens\": 1, "
      "\"completion_tokens\": 2}}\n\n");
  auto streamed = stream.finish();
  ASSERT_TRUE(streamed) << streamed.error().message;
  EXPECT_EQ(streamed->model, "m" + R);
  EXPECT_EQ(stream.bad_chunks(), 0u);
}

TEST(Validate, AcceptsConsistentUsage) {
  Usage u;
  u.input_tokens = 100;
  u.cache_read_tokens = 60;
  u.cache_write_tokens = 40;
  u.cache_write_1h_tokens = 40;
  u.output_tokens = 10;
  u.reasoning_tokens = 10;
  EXPECT_FALSE(validate(u));
  EXPECT_FALSE(validate(Usage{}));
}

TEST(Validate, NamesTheBrokenField) {
  Usage u;
  u.output_tokens = -1;
  EXPECT_EQ(validate(u).code, Error::invalid_argument);
  EXPECT_NE(validate(u).message.find("output_tokens is negative"), std::string::npos);

  Usage parts;
  parts.input_tokens = 100;
  parts.cache_read_tokens = 60;
  parts.cache_write_tokens = 41;
  EXPECT_NE(validate(parts).message.find("cache_read_tokens + cache_write_tokens (101)"),
            std::string::npos);

  Usage reasoning;
  reasoning.output_tokens = 5;
  reasoning.reasoning_tokens = 6;
  EXPECT_NE(validate(reasoning).message.find("reasoning_tokens (6) exceeds output_tokens (5)"),
            std::string::npos);

  Usage hour;
  hour.cache_write_tokens = 5;
  hour.cache_write_1h_tokens = 6;
  EXPECT_EQ(validate(hour).code, Error::invalid_argument);

  Usage overflow;
  overflow.cache_read_tokens = INT64_MAX;
  overflow.cache_write_tokens = 1;
  EXPECT_EQ(validate(overflow).code, Error::invalid_argument);
}

}  // namespace
}  // namespace convtrace
