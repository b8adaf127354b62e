#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>

#include "support/test_sdk.h"

namespace convtrace {
namespace {

using testing::int_attr;
using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

struct QuotaExceeded : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST(Observe, ExceptionMarksTheSpanAndIsRethrownUnchanged) {
  TestSdk t(sync_config());
  try {
    observe({"flaky", Kind::llm}, []() -> int { throw QuotaExceeded("429 from provider"); });
    FAIL() << "must rethrow";
  } catch (const QuotaExceeded& e) {
    EXPECT_STREQ(e.what(), "429 from provider");
  }
  auto spans = t.spans();
  const SpanData* s = only(spans, "flaky");
  ASSERT_NE(s, nullptr) << "a throwing callable never loses its span";
  EXPECT_EQ(s->status.code, StatusCode::error);
  EXPECT_EQ(s->status.description, "429 from provider");
  EXPECT_EQ(str_attr(*s, attr::kErrorType), "convtrace::(anonymous namespace)::QuotaExceeded");
  ASSERT_EQ(s->events.size(), 1u);
  EXPECT_EQ(s->events[0].name, "exception");
  EXPECT_EQ(*find_string(s->events[0].attributes, attr::kExceptionMessage), "429 from provider");
}

TEST(Observe, NonStandardExceptionIsAlsoRecorded) {
  TestSdk t(sync_config());
  EXPECT_THROW(observe({"weird", Kind::tool}, [] { throw 42; }), int);
  const SpanData* s = only(t.spans(), "execute_tool weird");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(s->status.code, StatusCode::error);
  EXPECT_EQ(str_attr(*s, attr::kErrorType), "unknown");
}

TEST(Observe, VoidValueAndMoveOnlyResults) {
  TestSdk t(sync_config());
  int side = 0;
  observe({"void", Kind::chain}, [&] { side = 1; });
  EXPECT_EQ(side, 1);
  std::unique_ptr<int> p =
      observe({"move-only", Kind::chain}, [] { return std::make_unique<int>(5); });
  ASSERT_TRUE(p);
  EXPECT_EQ(*p, 5);
  int x = 3;
  int& ref = observe({"ref", Kind::chain}, [&]() -> int& { return x; });
  EXPECT_EQ(&ref, &x);
  auto spans = t.spans();
  EXPECT_EQ(spans.size(), 3u);
  EXPECT_EQ(only(spans, "void")->status.code, StatusCode::unset);
}

TEST(Observe, DecoratorStyle) {
  TestSdk t(sync_config());
  auto search = observed({"search", Kind::tool}, [](const std::string& q) { return q.size(); });
  EXPECT_EQ(search(std::string("abc")), 3u);
  EXPECT_EQ(search(std::string("abcd")), 4u);
  auto with_span = observed({"gen", Kind::llm, "gpt-4o"}, [](Span& s, int n) {
    Usage u;
    u.input_tokens = n;
    u.output_tokens = 0;
    s.record_usage(u);
    return n * 2;
  });
  EXPECT_EQ(with_span(10), 20);
  auto spans = t.spans();
  EXPECT_EQ(spans.size(), 3u);
  EXPECT_EQ(int_attr(*only(spans, "chat gpt-4o"), attr::kInputTokens), 10);
}

TEST(Observe, SpanNamesFollowTheConventions) {
  TestSdk t(sync_config());
  const std::string long_model = "ft:" + std::string(120, 'm');  // longer than any stack buffer
  observe({"ignored", Kind::llm, long_model}, [] {});
  observe({"", Kind::embedding, "text-embedding-3-small"}, [] {});
  observe({"lookup", Kind::tool}, [] {});
  observe({"", Kind::tool}, [] {});
  observe({"", Kind::chain}, [] {});
  // The model known only once the call is under way.
  observe({"", Kind::llm}, [](Span& span) { span.set_model("gpt-4o-mini"); });
  observe({"planner", Kind::agent}, [](Span& span) { span.set_model("gpt-4o"); });
  ObserveOptions search{"vector_search", Kind::retriever};
  search.data_source_id = "kb-main";
  observe(search, [] {});
  observe({"vector_search", Kind::retriever}, [] {});
  observe({"rerank", Kind::reranker}, [] {});
  observe({"nightly", Kind::workflow}, [] {});
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 11u);
  EXPECT_EQ(spans[0].name, "chat " + long_model);
  EXPECT_EQ(spans[1].name, "embeddings text-embedding-3-small");
  EXPECT_EQ(spans[2].name, "execute_tool lookup");
  EXPECT_EQ(spans[3].name, "execute_tool");
  EXPECT_EQ(spans[4].name, "chain");
  EXPECT_EQ(spans[5].name, "chat gpt-4o-mini");
  EXPECT_EQ(spans[6].name, "invoke_agent planner");  // a model does not rename an agent
  EXPECT_EQ(spans[7].name, "retrieval kb-main");
  EXPECT_EQ(spans[8].name, "retrieval vector_search");
  EXPECT_EQ(spans[9].name, "rerank");
  EXPECT_EQ(spans[10].name, "invoke_workflow nightly");
  const char* operations[] = {"chat",      "embeddings", "execute_tool",   "execute_tool",
                              nullptr,     "chat",       "invoke_agent",   "retrieval",
                              "retrieval", nullptr,      "invoke_workflow"};
  for (size_t i = 0; i < spans.size(); ++i) {
    const std::string* op = find_string(spans[i].attributes, attr::kOperationName);
    if (operations[i]) {
      ASSERT_NE(op, nullptr) << spans[i].name;
      EXPECT_EQ(*op, operations[i]) << spans[i].name;
    } else {
      EXPECT_EQ(op, nullptr) << spans[i].name;
    }
  }
  EXPECT_EQ(str_attr(spans[7], attr::kDataSourceId), "kb-main");
  EXPECT_EQ(str_attr(spans[10], attr::kWorkflowName), "nightly");
}

TEST(Observe, AgentAndToolIdentity) {
  TestSdk t(sync_config());
  ObserveOptions agent{"support agent", Kind::agent};
  agent.agent = {"asst_5j66UpCpwteGg4YSxUnt7lPY", "Support", "2.1.0", "Answers billing questions"};
  observe(agent, [] {
    ObserveOptions tool{"get_invoice", Kind::tool};
    tool.tool_call_id = "call_VSPygqKTWdrhaFErNvMV18Yl";
    tool.tool_type = "function";
    observe(tool, [] {});
  });
  auto spans = t.spans();
  const SpanData* a = only(spans, "invoke_agent Support");
  const SpanData* tool = only(spans, "execute_tool get_invoice");
  ASSERT_TRUE(a && tool);
  EXPECT_EQ(str_attr(*a, attr::kAgentId), "asst_5j66UpCpwteGg4YSxUnt7lPY");
  EXPECT_EQ(str_attr(*a, attr::kAgentName), "Support");
  EXPECT_EQ(str_attr(*a, attr::kAgentVersion), "2.1.0");
  EXPECT_EQ(str_attr(*a, attr::kAgentDescription), "Answers billing questions");
  EXPECT_EQ(str_attr(*a, attr::kOperationName), "invoke_agent");
  EXPECT_EQ(str_attr(*tool, attr::kToolName), "get_invoice");
  EXPECT_EQ(str_attr(*tool, attr::kToolCallId), "call_VSPygqKTWdrhaFErNvMV18Yl");
  EXPECT_EQ(str_attr(*tool, attr::kToolType), "function");
  EXPECT_EQ(tool->parent_span_id, a->span_id);
}

TEST(Observe, AnAgentSpanThatCallsAModelIsAChatCall) {
  // Backends read usage on invoke_agent spans as the sum of the agent's calls
  // and skip it; an agent span that is itself the model call goes as chat.
  TestSdk t(sync_config());
  observe({"plan", Kind::agent, "gpt-4o"}, [](Span& span) {
    Usage u;
    u.input_tokens = 100;
    u.output_tokens = 10;
    span.record_usage(u);
  });
  observe({"delegate", Kind::agent}, [] {});
  auto spans = t.spans();
  const SpanData* plan = only(spans, "invoke_agent plan");
  ASSERT_NE(plan, nullptr);
  EXPECT_EQ(str_attr(*plan, attr::kOperationName), "chat");
  EXPECT_EQ(str_attr(*plan, attr::kAgentName), "plan");
  EXPECT_EQ(str_attr(*plan, attr::kSpanKind), "agent");
  EXPECT_EQ(int_attr(*plan, attr::kCostPicoUsd), 100 * 2'500'000 + 10 * 10'000'000);
  EXPECT_EQ(str_attr(*only(spans, "invoke_agent delegate"), attr::kOperationName), "invoke_agent");
}

TEST(Observe, ContentCaptureIsOffByDefault) {
  TestSdk t(sync_config());
  ObserveOptions o{"chat", Kind::llm};
  o.input = "my secret prompt";
  std::string out = observe(o, [] { return std::string("completion text"); });
  const SpanData* s = only(t.spans(), "chat");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kInputMessages), nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kOutputMessages), nullptr);
}

TEST(Observe, ContentCaptureTruncatesAndRedacts) {
  Config c = sync_config();
  c.content.enabled = true;
  c.content.max_length = 89;
  std::vector<std::string> seen;
  c.content.redact = [&](std::string_view key, std::string_view value) {
    seen.push_back(std::string(key));
    std::string v(value);
    auto pos = v.find("4111");
    if (pos != std::string::npos) v.replace(pos, 4, "****");
    return v;
  };
  TestSdk t(std::move(c));
  ObserveOptions o{"chat", Kind::llm};
  o.input = "card 4111 please, and the address is 12 Main Street";
  observe(o, [] { return std::string("short"); });
  const SpanData* s = only(t.spans(), "chat");
  ASSERT_NE(s, nullptr);
  // Text becomes one message of one part; each text is redacted, then cut
  // with a mark, and the whole stays valid JSON in the message schema.
  const std::string input = str_attr(*s, attr::kInputMessages);
  EXPECT_LE(input.size(), 89u);
  EXPECT_EQ(input, R"([{"role":"user","parts":[{"type":"text","content":"card **** please, a)"
                   "\xE2\x80\xA6[truncated]"
                   R"("}]}])");
  EXPECT_EQ(str_attr(*s, attr::kOutputMessages),
            R"([{"role":"assistant","parts":[{"type":"text","content":"short"}],)"
            R"("finish_reason":"stop"}])");
  EXPECT_TRUE(find_attribute(s->attributes, attr::kContentTruncated));
  EXPECT_EQ(seen, (std::vector<std::string>{"gen_ai.input.messages", "gen_ai.output.messages"}));
}

TEST(Observe, InvalidUsageIsRejectedWithAWarning) {
  TestSdk t(sync_config());
  uint64_t before = warning_count("invalid_usage");
  observe({"bad", Kind::llm, "gpt-4o"}, [](Span& s) {
    Usage u;
    u.input_tokens = -5;
    u.output_tokens = 3;
    EXPECT_FALSE(s.record_usage(u));
  });
  EXPECT_EQ(warning_count("invalid_usage"), before + 1);
  const SpanData* s = only(t.spans(), "chat gpt-4o");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(find_attribute(s->attributes, attr::kInputTokens), nullptr);
}

TEST(Observe, WithoutSdkRunsTheCallableAnyway) {
  install(nullptr);
  int r = observe({"x", Kind::llm}, [](Span& s) {
    EXPECT_FALSE(s.recording());
    return 9;
  });
  EXPECT_EQ(r, 9);
  auto conv = conversation("no-sdk");
  auto wf = workflow("w", "t");
  EXPECT_EQ(observe({"y", Kind::tool}, [] { return 1; }), 1);
}

}  // namespace
}  // namespace convtrace
