#include <gtest/gtest.h>

#include "genai/registry.h"
#include "support/test_sdk.h"
#include "trace/sdk_state.h"

namespace convtrace {
namespace {

using testing::int_attr;
using testing::named;
using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

Usage usage_of(int64_t in, int64_t out, std::string model = "gpt-4o") {
  Usage u;
  u.input_tokens = in;
  u.output_tokens = out;
  u.model = std::move(model);
  return u;
}

std::string chat(const std::string& text) {
  return observe({"chat", Kind::llm, "gpt-4o", "openai"}, [&](Span& span) {
    span.record_usage(usage_of(1234, 567));
    return "echo: " + text;
  });
}

TEST(Conversation, ThreeTurnChatStampsEverySpan) {
  TestSdk t(sync_config());
  {
    auto conv = conversation("user_123_session_456", {"user_123"});
    EXPECT_EQ(chat("hi"), "echo: hi");
    chat("how are you");
    chat("bye");
  }
  auto spans = t.spans();
  auto calls = named(spans, "chat gpt-4o");
  ASSERT_EQ(calls.size(), 3u);
  for (int i = 0; i < 3; ++i) {
    const SpanData& s = *calls[i];
    EXPECT_EQ(str_attr(s, attr::kConversationId), "user_123_session_456");
    EXPECT_EQ(str_attr(s, attr::kUserId), "user_123");
    EXPECT_EQ(int_attr(s, attr::kConversationTurn), i + 1);
    EXPECT_EQ(str_attr(s, attr::kSpanKind), "llm");
    EXPECT_EQ(str_attr(s, attr::kOperationName), "chat");
    EXPECT_EQ(str_attr(s, attr::kRequestModel), "gpt-4o");
    EXPECT_EQ(str_attr(s, attr::kProviderName), "openai");
    EXPECT_EQ(s.kind, SpanKind::client);
    EXPECT_EQ(int_attr(s, attr::kInputTokens), 1234);
    EXPECT_EQ(int_attr(s, attr::kOutputTokens), 567);
    EXPECT_EQ(int_attr(s, attr::kCostPicoUsd), 8755000000);
    EXPECT_DOUBLE_EQ(*find_double(s.attributes, attr::kCostUsd), 0.008755);
    EXPECT_DOUBLE_EQ(*find_double(s.attributes, attr::kCostGeneric), 0.008755);
    // Each turn is its own root: it carries the running total after it.
    EXPECT_DOUBLE_EQ(*find_double(s.attributes, attr::kConversationTotalCostUsd),
                     0.008755 * (i + 1));
    EXPECT_FALSE(s.parent_span_id.valid());
  }
}

TEST(Conversation, TurnsContinueWhenTheSameIdComesBack) {
  TestSdk t(sync_config());
  {
    auto conv = conversation("returning");
    chat("first request");
  }
  start_span("unrelated").end();
  {
    auto conv = conversation("returning");  // the next HTTP request
    chat("second request");
    chat("third");
  }
  auto calls = named(t.spans(), "chat gpt-4o");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(int_attr(*calls[0], attr::kConversationTurn), 1);
  EXPECT_EQ(int_attr(*calls[1], attr::kConversationTurn), 2);
  EXPECT_EQ(int_attr(*calls[2], attr::kConversationTurn), 3);
  EXPECT_DOUBLE_EQ(*find_double(calls[2]->attributes, attr::kConversationTotalCostUsd),
                   0.008755 * 3);
  EXPECT_EQ(str_attr(*only(t.spans(), "unrelated"), attr::kConversationId), "<absent>");
}

TEST(Conversation, ExplicitTurnWinsAndRegistryContinuesFromIt) {
  TestSdk t(sync_config());
  {
    ConversationOptions o;
    o.turn = 7;
    auto conv = conversation("multi-instance", o);
    chat("a");
  }
  {
    auto conv = conversation("multi-instance");
    chat("b");
  }
  auto calls = named(t.spans(), "chat gpt-4o");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(int_attr(*calls[0], attr::kConversationTurn), 7);
  EXPECT_EQ(int_attr(*calls[1], attr::kConversationTurn), 8);
}

TEST(Conversation, NestedSpansShareTheTurn) {
  TestSdk t(sync_config());
  {
    auto conv = conversation("nested");
    observe({"agent", Kind::agent}, [] {
      observe({"search", Kind::tool}, [] {});
      chat("inner");
    });
    chat("next turn");
  }
  auto spans = t.spans();
  EXPECT_EQ(int_attr(*only(spans, "invoke_agent agent"), attr::kConversationTurn), 1);
  EXPECT_EQ(int_attr(*only(spans, "execute_tool search"), attr::kConversationTurn), 1);
  auto calls = named(spans, "chat gpt-4o");
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(int_attr(*calls[0], attr::kConversationTurn), 1);
  EXPECT_EQ(int_attr(*calls[1], attr::kConversationTurn), 2);
  EXPECT_EQ(only(spans, "execute_tool search")->parent_span_id,
            only(spans, "invoke_agent agent")->span_id);
  EXPECT_EQ(str_attr(*only(spans, "execute_tool search"), attr::kToolName), "search");
  EXPECT_EQ(str_attr(*only(spans, "execute_tool search"), attr::kOperationName), "execute_tool");
  // The agent's turn total is the inner call; only the root carries it.
  EXPECT_DOUBLE_EQ(
      *find_double(only(spans, "invoke_agent agent")->attributes, attr::kConversationTotalCostUsd),
      0.008755);
  EXPECT_EQ(find_double(calls[0]->attributes, attr::kConversationTotalCostUsd), nullptr);
}

TEST(Conversation, NestedScopesMergeAttributesAndRestore) {
  TestSdk t(sync_config());
  {
    ConversationOptions outer;
    outer.user_id = "u1";
    outer.attributes = {{"tenant", std::string("acme")}, {"plan", std::string("free")}};
    auto conv = conversation("merge", outer);
    {
      ConversationOptions inner;
      inner.attributes = {{"plan", std::string("pro")}, {"feature", std::string("search")}};
      auto again = conversation("merge", inner);
      start_span("inner").end();
    }
    start_span("outer-after").end();
  }
  start_span("outside").end();
  auto spans = t.spans();
  const SpanData& in = *only(spans, "inner");
  EXPECT_EQ(str_attr(in, "tenant"), "acme");
  EXPECT_EQ(str_attr(in, "plan"), "pro");
  EXPECT_EQ(str_attr(in, "feature"), "search");
  EXPECT_EQ(str_attr(in, attr::kUserId), "u1");
  const SpanData& after = *only(spans, "outer-after");
  EXPECT_EQ(str_attr(after, "plan"), "free");
  EXPECT_EQ(str_attr(after, "feature"), "<absent>");
  const SpanData& outside = *only(spans, "outside");
  EXPECT_EQ(str_attr(outside, attr::kConversationId), "<absent>");
  EXPECT_EQ(str_attr(outside, "tenant"), "<absent>");
}

TEST(Conversation, EmptyIdIsRefusedWithACountedWarning) {
  TestSdk t(sync_config());
  uint64_t before = warning_count("empty_conversation_id");
  {
    auto conv = conversation("");
    EXPECT_FALSE(conv.active());
    start_span("plain").end();
  }
  EXPECT_EQ(warning_count("empty_conversation_id"), before + 1);
  EXPECT_EQ(str_attr(*only(t.spans(), "plain"), attr::kConversationId), "<absent>");
}

TEST(Conversation, RegistryIsBoundedBySize) {
  Config c = sync_config();
  c.conversations.max_conversations = 32;
  TestSdk t(std::move(c));
  for (int i = 0; i < 5000; ++i) {
    auto conv = conversation("churn-" + std::to_string(i));
    start_span("s");
  }
  const ConversationRegistry& registry = *t.sdk->TEST_state()->registry;
  EXPECT_LE(registry.size(), 32u);
  EXPECT_GE(registry.evictions(), 5000u - 32u);
}

}  // namespace
}  // namespace convtrace
