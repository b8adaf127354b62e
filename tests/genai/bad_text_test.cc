// Text that enters through the GenAI layer — conversation, user and workflow
// ids, scope attributes, observed calls, usage and captured content — is made
// valid UTF-8 once, with a counted invalid_utf8 warning.
#include <gtest/gtest.h>

#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "support/test_sdk.h"

namespace convtrace {
namespace {

using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

const std::string R(utf8::kReplacement);

TEST(BadGenAiText, ScopeIdsAndAttributes) {
  TEST_reset_warnings();
  TestSdk t(sync_config());
  {
    ConversationOptions options("user-\xFF");
    options.attributes = {{"tenant\xFF", std::string("acme\xC0")}};
    auto conv = conversation("conv-\xff\xfe-x", options);
    EXPECT_EQ(Context::current().conversation_id(), "conv-" + R + R + "-x");
    auto wf = workflow("wf-\xE2\x82", "rag\xF5");
    Span s = start_span("inner");
  }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 2u);
  for (const SpanData& s : spans) {
    EXPECT_TRUE(utf8::valid(s));
    EXPECT_EQ(str_attr(s, attr::kConversationId), "conv-" + R + R + "-x");
    EXPECT_EQ(str_attr(s, attr::kUserId), "user-" + R);
    EXPECT_EQ(str_attr(s, attr::kWorkflowId), "wf-" + R);
    EXPECT_EQ(str_attr(s, attr::kWorkflowType), "rag" + R);
    EXPECT_EQ(str_attr(s, "tenant" + R), "acme" + R);
  }
  EXPECT_GE(warning_count(utf8::kWarning), 6u);
}

TEST(BadGenAiText, ALongInvalidIdIsRepairedThenCutAtACharacter) {
  TestSdk t(sync_config());
  {
    auto conv = conversation(std::string(kMaxIdLength, '\xFF'));
    std::string_view id = Context::current().conversation_id();
    EXPECT_TRUE(utf8::valid(id));
    EXPECT_LE(id.size(), kMaxIdLength);
    EXPECT_EQ(id.size() % 3, 0u);  // whole U+FFFD characters only
  }
}

TEST(BadGenAiText, ObservedCallsUsageAndContent) {
  TEST_reset_warnings();
  Config config = sync_config();
  config.content.enabled = true;
  config.content.max_length = 8;
  TestSdk t(std::move(config));
  ObserveOptions options("chat", Kind::llm, "gpt-4o\xFF", "openai\xFF");
  options.input = "\xFF\xFF\xFF\xFF";  // repaired (12 bytes), then cut to 8
  observe(options, [](Span& span) {
    Usage u;
    u.input_tokens = 10;
    u.output_tokens = 2;
    u.model = "gpt-4o-\xC3";
    u.response_id = "resp\xFF";
    u.finish_reasons = {"stop\xFF"};
    span.record_usage(u);
    span.set_model("gpt-4o\xE0\x80");
  });
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  const SpanData& s = spans[0];
  EXPECT_TRUE(utf8::valid(s));
  EXPECT_EQ(s.name, "chat gpt-4o" + R + R);
  EXPECT_EQ(str_attr(s, attr::kRequestModel), "gpt-4o" + R + R);
  EXPECT_EQ(str_attr(s, attr::kResponseModel), "gpt-4o-" + R);
  EXPECT_EQ(str_attr(s, attr::kResponseId), "resp" + R);
  EXPECT_EQ(str_attr(s, attr::kProviderName), "openai" + R);
  EXPECT_EQ(*find_attribute(s.attributes, attr::kResponseFinishReasons),
            AttributeValue(std::vector<std::string>{"stop" + R}));
  const std::string input = str_attr(s, attr::kInputMessages);
  EXPECT_TRUE(utf8::valid(input));
  EXPECT_LE(input.size(), 8u);
  EXPECT_GE(warning_count(utf8::kWarning), 7u);
}

}  // namespace
}  // namespace convtrace
