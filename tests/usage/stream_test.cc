// StreamAccumulator on hand-written streams: framing, merging rules, and
// streams that never report usage.
#include <gtest/gtest.h>

#include <string>
#include <thread>

#include "convtrace/usage.h"

namespace convtrace {
namespace {

Expected<Usage> run(std::string_view stream, std::string_view hint = {}) {
  StreamAccumulator acc(hint);
  acc.feed(stream);
  return acc.finish();
}

TEST(StreamAccumulator, OpenAiChatFinalUsageChunk) {
  const auto u = run(
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\","
      "\"choices\":[{\"delta\":{\"content\":\"Hi\"},\"finish_reason\":null}],\"usage\":null}\n\n"
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\","
      "\"choices\":[{\"delta\":{},\"finish_reason\":\"stop\"}],\"usage\":null}\n\n"
      "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o\","
      "\"choices\":[],\"usage\":{\"prompt_tokens\":9,\"completion_tokens\":2,"
      "\"prompt_tokens_details\":{\"cached_tokens\":0}}}\n\n"
      "data: [DONE]\n\n");
  ASSERT_TRUE(u.has_value()) << u.error().message;
  EXPECT_EQ(u->provider, provider::kOpenAi);
  EXPECT_EQ(u->model, "gpt-4o");
  EXPECT_EQ(u->response_id, "c1");
  EXPECT_EQ(u->input_tokens, 9);
  EXPECT_EQ(u->output_tokens, 2);
  EXPECT_EQ(u->cache_read_tokens, 0);
  EXPECT_EQ(u->finish_reasons, std::vector<std::string>{"stop"});
}

TEST(StreamAccumulator, OpenAiChatWithoutUsageIsNotFound) {
  // include_usage was not requested: the stream ends without numbers, and the
  // accumulator must not invent any.
  const auto u = run(
      "data: {\"object\":\"chat.completion.chunk\",\"choices\":[{\"delta\":{\"content\":\"Hi\"}}]}"
      "\n\ndata: [DONE]\n\n");
  ASSERT_FALSE(u.has_value());
  EXPECT_EQ(u.error().code, Error::not_found);
}

TEST(StreamAccumulator, EmptyStreamIsNotFound) {
  StreamAccumulator acc;
  EXPECT_FALSE(acc.time_to_first_chunk().has_value());
  const auto u = acc.finish();
  ASSERT_FALSE(u.has_value());
  EXPECT_EQ(u.error().code, Error::not_found);
}

TEST(StreamAccumulator, AnthropicLastValueWinsAndInputRestated) {
  const auto u =
      run("event: message_start\r\n"
          "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"model\":\"claude-x\","
          "\"usage\":{\"input_tokens\":100,\"cache_read_input_tokens\":50,"
          "\"cache_creation_input_tokens\":25,\"output_tokens\":1}}}\r\n\r\n"
          "event: message_delta\r\n"
          "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\"},"
          "\"usage\":{\"output_tokens\":40}}\r\n\r\n"
          "event: message_delta\r\n"
          "data: {\"type\":\"message_delta\",\"delta\":{},\"usage\":{\"input_tokens\":120,"
          "\"output_tokens\":77}}\r\n\r\n");
  ASSERT_TRUE(u.has_value()) << u.error().message;
  EXPECT_EQ(u->provider, provider::kAnthropic);
  EXPECT_EQ(u->response_id, "msg_1");
  EXPECT_EQ(u->input_tokens, 120 + 50 + 25);
  EXPECT_EQ(u->cache_read_tokens, 50);
  EXPECT_EQ(u->cache_write_tokens, 25);
  EXPECT_EQ(u->output_tokens, 77);
  EXPECT_EQ(u->finish_reasons, std::vector<std::string>{"tool_use"});
}

TEST(StreamAccumulator, AnthropicDeltaOnlyNeedsStartForShape) {
  // The message_delta alone carries input_tokens without cache fields; the
  // message_start before it fixes the shape as Anthropic.
  const auto u =
      run("data: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":3,"
          "\"output_tokens\":1}}}\n"
          "data: {\"type\":\"message_delta\",\"usage\":{\"output_tokens\":9}}\n");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->provider, provider::kAnthropic);
  EXPECT_EQ(u->output_tokens, 9);
}

TEST(StreamAccumulator, SkipsUnknownAndCountsBadChunks) {
  StreamAccumulator acc;
  acc.feed(
      "...\n"
      ": keep-alive comment\n"
      "id: 7\nretry: 100\n"
      "data: {\"broken\": \n"
      "{\"also broken\"\n"
      "data: {\"usage\": {\"prompt_tokens\": -1}}\n"
      "data: {\"object\":\"chat.completion.chunk\",\"usage\":{\"prompt_tokens\":4,"
      "\"completion_tokens\":5}}\n");
  const auto u = acc.finish();
  ASSERT_TRUE(u.has_value()) << u.error().message;
  EXPECT_EQ(u->input_tokens, 4);
  EXPECT_EQ(acc.bad_chunks(), 3u);
}

TEST(StreamAccumulator, LastLineWithoutNewlineIsUsed) {
  const auto u =
      run("{\"model\":\"llama3.2\",\"done\":false}\n"
          "{\"model\":\"llama3.2\",\"done\":true,\"done_reason\":\"stop\","
          "\"prompt_eval_count\":26,\"eval_count\":282}");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->provider, provider::kOllama);
  EXPECT_EQ(u->input_tokens, 26);
  EXPECT_EQ(u->output_tokens, 282);
}

TEST(StreamAccumulator, OverlongLineIsDroppedNotBuffered) {
  StreamAccumulator acc;
  const std::string chunk(1 << 20, 'x');
  acc.feed("data: {\"v\":\"");
  for (int i = 0; i < 20; ++i) acc.feed(chunk);
  acc.feed("\"}\n");
  acc.feed("data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n");
  const auto u = acc.finish();
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->input_tokens, 1);
  EXPECT_EQ(acc.bad_chunks(), 1u);
}

TEST(StreamAccumulator, GeminiCumulativeChunks) {
  const auto u =
      run("data: {\"candidates\":[{\"content\":{}}],\"usageMetadata\":{\"promptTokenCount\":9,"
          "\"candidatesTokenCount\":3,\"thoughtsTokenCount\":100}}\n\n"
          "data: {\"candidates\":[{\"finishReason\":\"STOP\"}],\"usageMetadata\":"
          "{\"promptTokenCount\":9,\"candidatesTokenCount\":30,\"thoughtsTokenCount\":120}}\n\n");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->provider, provider::kGemini);
  EXPECT_EQ(u->output_tokens, 150);
  EXPECT_EQ(u->reasoning_tokens, 120);
  EXPECT_EQ(u->finish_reasons, std::vector<std::string>{"STOP"});
}

TEST(StreamAccumulator, HintOverridesProviderName) {
  const auto u = run("data: {\"usage\":{\"prompt_tokens\":1,\"completion_tokens\":1}}\n",
                     provider::kAzureOpenAi);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->provider, provider::kAzureOpenAi);
}

TEST(StreamAccumulator, TimeToFirstChunkIsMeasured) {
  StreamAccumulator acc;
  std::this_thread::sleep_for(std::chrono::milliseconds(5));
  acc.feed("event: ping\n");  // not a chunk
  EXPECT_FALSE(acc.time_to_first_chunk().has_value());
  acc.feed("data: {\"type\":\"ping\"}\n");
  ASSERT_TRUE(acc.time_to_first_chunk().has_value());
  EXPECT_GE(*acc.time_to_first_chunk(), std::chrono::milliseconds(5));
}

TEST(StreamAccumulator, MovableAndFinishIsRepeatable) {
  StreamAccumulator a;
  a.feed("data: {\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3}}\n");
  StreamAccumulator b(std::move(a));
  const auto first = b.finish();
  b.feed("data: {\"usage\":{\"prompt_tokens\":50}}\n");  // after finish: ignored
  const auto second = b.finish();
  ASSERT_TRUE(first.has_value());
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->input_tokens, 2);
  StreamAccumulator c;
  c = std::move(b);
  EXPECT_EQ(c.finish()->output_tokens, 3);
}

TEST(StreamAccumulator, InconsistentFinalUsageIsAnError) {
  const auto u =
      run("data: {\"usage\":{\"prompt_tokens\":2,\"completion_tokens\":3,"
          "\"completion_tokens_details\":{\"reasoning_tokens\":4}}}\n");
  ASSERT_FALSE(u.has_value());
  EXPECT_EQ(u.error().code, Error::invalid_argument);
}

}  // namespace
}  // namespace convtrace
