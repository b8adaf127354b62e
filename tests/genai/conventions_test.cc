// What spans say in the current GenAI conventions: request parameters and the
// server from request bodies, content in the JSON message schema (valid at
// every size limit), workflow spans, and the attribute profiles for backends.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "genai/content.h"
#include "support/test_sdk.h"

namespace convtrace {
namespace {

using nlohmann::json;
using testing::int_attr;
using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

std::string fixture(const std::string& name) {
  std::ifstream in(std::string(CONVTRACE_TEST_FIXTURES) + "/provider-responses/" + name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* kChatRequest = R"({"model": "gpt-4o", "temperature": 0.2, "max_tokens": 256,
    "top_p": 0.9, "seed": 11, "stream": false, "stop": ["END"],
    "messages": [{"role": "system", "content": "You are a billing assistant."},
                 {"role": "user", "content": "Why is my invoice higher?"}]})";

Config capture_config(size_t max_length = 4096) {
  Config c = sync_config();
  c.content.enabled = true;
  c.content.max_length = max_length;
  return c;
}

TEST(Conventions, RecordRequestSetsParametersModelAndServer) {
  TestSdk t(sync_config());
  observe({"", Kind::llm}, [](Span& span) {
    EXPECT_TRUE(
        span.record_request(kChatRequest, {}, "https://api.openai.com/v1/chat/completions"));
  });
  const SpanData* s = only(t.spans(), "chat gpt-4o");  // named after the body's model
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(str_attr(*s, attr::kRequestModel), "gpt-4o");
  EXPECT_EQ(str_attr(*s, attr::kProviderName), "openai");
  EXPECT_EQ(*find_double(s->attributes, attr::kRequestTemperature), 0.2);
  EXPECT_EQ(*find_double(s->attributes, attr::kRequestTopP), 0.9);
  EXPECT_EQ(int_attr(*s, attr::kRequestMaxTokens), 256);
  EXPECT_EQ(int_attr(*s, attr::kRequestSeed), 11);
  EXPECT_EQ(*find_attribute(s->attributes, attr::kRequestStream), AttributeValue(false));
  EXPECT_EQ(*find_attribute(s->attributes, attr::kRequestStopSequences),
            AttributeValue(std::vector<std::string>{"END"}));
  EXPECT_EQ(str_attr(*s, attr::kServerAddress), "api.openai.com");
  EXPECT_EQ(int_attr(*s, attr::kServerPort), 443);
  // Content capture is off: no messages.
  EXPECT_EQ(find_attribute(s->attributes, attr::kInputMessages), nullptr);
}

TEST(Conventions, AProviderSetInCodeIsKept) {
  TestSdk t(sync_config());
  observe({"chat", Kind::llm, "gpt-4o", "azure.ai.openai"},
          [](Span& span) { span.record_request(kChatRequest, {}, "https://api.openai.com/v1"); });
  EXPECT_EQ(str_attr(*only(t.spans(), "chat gpt-4o"), attr::kProviderName), "azure.ai.openai");
}

TEST(Conventions, BadRequestBodiesAreCountedNotThrown) {
  TestSdk t(sync_config());
  uint64_t before = warning_count("request_parse");
  observe({"chat", Kind::llm}, [](Span& span) { EXPECT_FALSE(span.record_request("{oops")); });
  EXPECT_EQ(warning_count("request_parse"), before + 1);
  EXPECT_FALSE(Span().record_request(kChatRequest));  // a no-op span
}

TEST(Conventions, CapturedMessagesFollowTheSchema) {
  TestSdk t(capture_config());
  std::string reply = observe({"chat", Kind::llm, "gpt-5.4", "openai"}, [](Span& span) {
    span.record_request(kChatRequest);
    span.record_response(fixture("openai_chat_completion.json"));
    return std::string("the app's own summary of the reply");
  });
  const SpanData* s = only(t.spans(), "chat gpt-4o");
  ASSERT_NE(s, nullptr);
  json input = json::parse(str_attr(*s, attr::kInputMessages));
  ASSERT_EQ(input.size(), 2u);
  EXPECT_EQ(input[0]["role"], "system");  // part of the history: an input message
  EXPECT_EQ(input[1]["role"], "user");
  EXPECT_EQ(input[1]["parts"][0],
            json({{"type", "text"}, {"content", "Why is my invoice higher?"}}));
  json output = json::parse(str_attr(*s, attr::kOutputMessages));
  ASSERT_EQ(output.size(), 1u);
  EXPECT_EQ(output[0]["role"], "assistant");
  EXPECT_EQ(output[0]["finish_reason"], "stop");
  // The response body's messages, not observe's return value.
  EXPECT_EQ(output[0]["parts"][0]["content"], "Hello! How can I assist you today?");
  EXPECT_EQ(find_attribute(s->attributes, attr::kContentTruncated), nullptr);
}

TEST(Conventions, SystemInstructionsSentApartAreTheirOwnAttribute) {
  TestSdk t(capture_config());
  observe({"generate", Kind::llm, "claude-sonnet", "anthropic"}, [](Span& span) {
    span.record_request(R"({"model":"claude-sonnet","max_tokens":64,"system":"Be terse.",
        "messages":[{"role":"user","content":"Hi"}]})");
    span.record_response(fixture("anthropic_messages.json"), "anthropic");
  });
  const SpanData* s = only(t.spans(), "chat claude-sonnet");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(json::parse(str_attr(*s, attr::kSystemInstructions)),
            json::parse(R"([{"type":"text","content":"Be terse."}])"));
  EXPECT_EQ(json::parse(str_attr(*s, attr::kInputMessages)).size(), 1u);
  EXPECT_EQ(json::parse(str_attr(*s, attr::kOutputMessages))[0]["finish_reason"], "end_turn");
}

TEST(Conventions, ToolSpansCaptureArgumentsAndResult) {
  TestSdk t(capture_config());
  ObserveOptions o{"get_invoice", Kind::tool};
  o.input = R"({"invoice": "INV-2291"})";
  observe(o, [] { return std::string("paid on 2024-03-02"); });
  const SpanData* s = only(t.spans(), "execute_tool get_invoice");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(str_attr(*s, attr::kToolCallArguments), R"({"invoice": "INV-2291"})");  // JSON as is
  EXPECT_EQ(str_attr(*s, attr::kToolCallResult), R"("paid on 2024-03-02")");        // text quoted
  EXPECT_EQ(find_attribute(s->attributes, attr::kInputMessages), nullptr);
}

TEST(Conventions, MessagesInTheSchemaAreKeptAsMessages) {
  TestSdk t(capture_config());
  ObserveOptions o{"chat", Kind::llm};
  o.input = R"([{"role":"user","parts":[{"type":"text","content":"hi"}]}])";
  observe(o, [] {});
  EXPECT_EQ(str_attr(*only(t.spans(), "chat"), attr::kInputMessages),
            R"([{"role":"user","parts":[{"type":"text","content":"hi"}]}])");
}

TEST(Conventions, RedactionSeesEachTextNotTheJson) {
  Config c = capture_config();
  std::vector<std::string> seen;
  c.content.redact = [&](std::string_view key, std::string_view value) {
    seen.push_back(std::string(key) + "=" + std::string(value));
    return std::string(value) == "Why is my invoice higher?" ? std::string("[redacted]")
                                                             : std::string(value);
  };
  TestSdk t(std::move(c));
  observe({"chat", Kind::llm}, [](Span& span) { span.record_request(kChatRequest); });
  const SpanData* s = only(t.spans(), "chat");  // a given name stays
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(json::parse(str_attr(*s, attr::kInputMessages))[1]["parts"][0]["content"],
            "[redacted]");
  EXPECT_EQ(seen, (std::vector<std::string>{"gen_ai.input.messages=You are a billing assistant.",
                                            "gen_ai.input.messages=Why is my invoice higher?"}));
}

TEST(Conventions, AThrowingRedactionRecordsNothing) {
  Config c = capture_config();
  c.content.redact = [](std::string_view, std::string_view) -> std::string {
    throw std::runtime_error("no");
  };
  TestSdk t(std::move(c));
  uint64_t before = warning_count("redaction_failed");
  ObserveOptions o{"chat", Kind::llm};
  o.input = "secret";
  observe(o, [](Span& span) { span.record_request(kChatRequest); });
  const SpanData* s = only(t.spans(), "chat");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kInputMessages), nullptr);
  EXPECT_EQ(warning_count("redaction_failed"), before + 2);
}

TEST(CapturedContent, ValidJsonInTheSchemaAtEveryLimit) {
  // Every size from nothing to the whole: valid JSON, within the limit, each
  // message with role and parts (and output ones with finish_reason), and a
  // cut text ends with the mark.
  using usage_internal::Message;
  using usage_internal::Part;
  Part text{"text", "Quoted \"é\" and\nnewline ✓ 日本語 text that goes on", "", "", "", ""};
  Part call{"tool_call", "", "call_1", "lookup", R"({"q":"x"})", ""};
  Part result{"tool_call_response", "", "call_1", "", R"("ok")", ""};
  Part reasoning{"reasoning", "thinking about it", "", "", "", ""};
  const std::vector<Message> messages = {{"user", {text}, ""},
                                         {"assistant", {reasoning, call}, "tool_calls"},
                                         {"tool", {result}, ""},
                                         {"assistant", {text, text}, ""}};
  for (bool output : {false, true}) {
    ContentCapture whole;
    whole.max_length = 100000;
    const std::string full = messages_json(messages, output, whole, "k").json;
    ASSERT_TRUE(json::accept(full)) << full;
    bool cut_with_mark = false;
    for (size_t max = 0; max <= full.size() + 1; ++max) {
      ContentCapture capture;
      capture.max_length = max;
      Captured c = messages_json(messages, output, capture, "k");
      ASSERT_TRUE(json::accept(c.json)) << "max=" << max << ": " << c.json;
      if (max >= 2) {
        EXPECT_LE(c.json.size(), max) << c.json;
      }
      EXPECT_EQ(c.truncated, max < full.size()) << max;
      json doc = json::parse(c.json);
      for (const json& m : doc) {
        ASSERT_TRUE(m.contains("role") && m.contains("parts")) << c.json;
        if (output) {
          EXPECT_TRUE(m.contains("finish_reason")) << c.json;
        }
      }
      cut_with_mark =
          cut_with_mark || c.json.find(std::string(kTruncationMarker)) != std::string::npos;
    }
    EXPECT_TRUE(cut_with_mark);
  }
}

TEST(CapturedContent, InvalidUtf8BecomesAReplacementCharacter) {
  using usage_internal::Message;
  using usage_internal::Part;
  ContentCapture capture;
  capture.max_length = 1000;
  Captured c = messages_json({{"user",
                               {Part{"text",
                                     "a\xFF"
                                     "b\xC3",
                                     "", "", "", ""}},
                               ""}},
                             false, capture, "k");
  ASSERT_TRUE(json::accept(c.json)) << c.json;
  EXPECT_EQ(json::parse(c.json)[0]["parts"][0]["content"],
            "a\xEF\xBF\xBD"
            "b\xEF\xBF\xBD");
}

TEST(Conventions, WorkflowSpanIsAnInvokeWorkflow) {
  TestSdk t(sync_config());
  { auto wf = workflow("rag_1", "rag_v2"); }
  const SpanData* s = only(t.spans(), "invoke_workflow rag_v2");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(str_attr(*s, attr::kOperationName), "invoke_workflow");
  EXPECT_EQ(str_attr(*s, attr::kWorkflowName), "rag_v2");
  EXPECT_EQ(str_attr(*s, attr::kWorkflowType), "rag_v2");  // the seed's keys stay
  EXPECT_EQ(str_attr(*s, attr::kWorkflowId), "rag_1");
}

Usage some_usage() {
  Usage u;
  u.input_tokens = 1000;
  u.cache_read_tokens = 400;
  u.output_tokens = 100;
  return u;
}

TEST(Profiles, StandardCostKeys) {
  TestSdk t(sync_config());
  observe({"chat", Kind::llm, "gpt-4o"}, [](Span& span) { span.record_usage(some_usage()); });
  const SpanData* s = only(t.spans(), "chat gpt-4o");
  ASSERT_NE(s, nullptr);
  // 600 × 2.5 + 400 × 1.25 + 100 × 10 micro-USD per token.
  EXPECT_EQ(int_attr(*s, attr::kCostPicoUsd),
            600 * 2'500'000LL + 400 * 1'250'000LL + 100 * 10'000'000LL);
  EXPECT_NE(find_double(s->attributes, attr::kCostUsd), nullptr);
  EXPECT_NE(find_double(s->attributes, attr::kCostGeneric), nullptr);
  EXPECT_NE(find_double(s->attributes, attr::kInputCostUsd), nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kOiCostTotal), nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kOiPromptTokens), nullptr);
  // No float under gen_ai.usage.* but the two cost keys backends read.
  for (const Attribute& a : s->attributes) {
    if (a.key.rfind("gen_ai.usage.", 0) == 0 && a.key != attr::kCostUsd &&
        a.key != attr::kCostGeneric) {
      EXPECT_TRUE(std::holds_alternative<int64_t>(a.value)) << a.key;
    }
  }
}

TEST(Profiles, LangfuseDropsTheCostKeyItMisreads) {
  Config c = sync_config();
  c.attribute_profile = AttributeProfile::langfuse;
  TestSdk t(std::move(c));
  observe({"chat", Kind::llm, "gpt-4o"}, [](Span& span) { span.record_usage(some_usage()); });
  const SpanData* s = only(t.spans(), "chat gpt-4o");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kCostUsd), nullptr);
  EXPECT_NE(find_double(s->attributes, attr::kCostGeneric), nullptr);
  EXPECT_NE(find_attribute(s->attributes, attr::kCostPicoUsd), nullptr);
}

TEST(Profiles, ExplicitCostKeysWinOverTheProfile) {
  Config c = sync_config();
  c.attribute_profile = AttributeProfile::langfuse;
  c.cost_keys.cost_usd = true;
  c.cost_keys.cost_generic = false;
  c.cost_keys.cost_parts = false;
  TestSdk t(std::move(c));
  observe({"chat", Kind::llm, "gpt-4o"}, [](Span& span) { span.record_usage(some_usage()); });
  const SpanData* s = only(t.spans(), "chat gpt-4o");
  ASSERT_NE(s, nullptr);
  EXPECT_NE(find_attribute(s->attributes, attr::kCostUsd), nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kCostGeneric), nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kInputCostUsd), nullptr);
}

TEST(Profiles, OpenInferenceAddsItsKeys) {
  Config c = capture_config();
  c.attribute_profile = AttributeProfile::openinference;
  TestSdk t(std::move(c));
  {
    auto conv = conversation("sess_1", {"u1"});
    auto wf = workflow("wf_1", "rag");
    ObserveOptions o{"chat", Kind::llm, "gpt-4o", "openai"};
    o.input = "hello";
    observe(o, [](Span& span) {
      span.record_usage(some_usage());
      return std::string("hi there");
    });
  }
  auto spans = t.spans();
  const SpanData* s = only(spans, "chat gpt-4o");
  const SpanData* wf = only(spans, "invoke_workflow rag");
  ASSERT_TRUE(s && wf);
  EXPECT_EQ(str_attr(*s, attr::kOpenInferenceSpanKind), "LLM");
  EXPECT_EQ(str_attr(*wf, attr::kOpenInferenceSpanKind), "CHAIN");
  EXPECT_EQ(str_attr(*s, attr::kSessionId), "sess_1");
  EXPECT_EQ(str_attr(*s, attr::kUserId), "u1");
  EXPECT_EQ(int_attr(*s, attr::kOiPromptTokens), 1000);
  EXPECT_EQ(int_attr(*s, attr::kOiCompletionTokens), 100);
  EXPECT_EQ(int_attr(*s, attr::kOiTotalTokens), 1100);
  EXPECT_EQ(int_attr(*s, attr::kOiCacheReadTokens), 400);
  EXPECT_EQ(str_attr(*s, attr::kOiModelName), "gpt-4o");
  EXPECT_NE(find_double(s->attributes, attr::kOiCostTotal), nullptr);
  EXPECT_EQ(str_attr(*s, attr::kOiInputValue), "hello");
  EXPECT_EQ(str_attr(*s, attr::kOiOutputValue), "hi there");
  // The conventions' keys are still there.
  EXPECT_EQ(int_attr(*s, attr::kInputTokens), 1000);
  EXPECT_NE(find_attribute(s->attributes, attr::kInputMessages), nullptr);
}

}  // namespace
}  // namespace convtrace
