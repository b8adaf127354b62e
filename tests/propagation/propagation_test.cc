// inject/extract with carriers, the conversation in baggage, and a client →
// server hop inside one process.
#include <gtest/gtest.h>

#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "convtrace/convtrace.h"
#include "support/test_sdk.h"
#include "trace/genai_state.h"

namespace convtrace {
namespace {

using testing::int_attr;
using testing::only;
using testing::str_attr;
using testing::TestSdk;

constexpr const char* kParent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

std::map<std::string, std::string> baggage_map(std::string_view header) {
  std::map<std::string, std::string> m;
  for (const BaggageEntry& e : parse_baggage(header)) m[e.key] = e.value;
  return m;
}

TEST(Carriers, MapsAreCaseInsensitiveAndSetReplaces) {
  std::map<std::string, std::string> headers = {{"TraceParent", "x"}, {"Content-Type", "json"}};
  HeaderCarrier<std::map<std::string, std::string>> carrier(headers);
  EXPECT_EQ(carrier.get("traceparent"), "x");
  EXPECT_EQ(carrier.get("TRACEPARENT"), "x");
  EXPECT_EQ(carrier.get("baggage"), "");
  carrier.set("traceparent", "y");
  EXPECT_EQ(headers.size(), 2u);
  EXPECT_EQ(headers.at("traceparent"), "y");

  std::unordered_map<std::string, std::string> u = {{"BAGGAGE", "a=1"}};
  HeaderCarrier<std::unordered_map<std::string, std::string>> uc(u);
  EXPECT_EQ(uc.get("baggage"), "a=1");
  uc.set("Baggage", "b=2");
  ASSERT_EQ(u.size(), 1u);
  EXPECT_EQ(u.begin()->second, "b=2");

  std::vector<std::pair<std::string, std::string>> v = {{"Tracestate", "a=1"}, {"x", "y"}};
  HeaderCarrier<std::vector<std::pair<std::string, std::string>>> vc(v);
  EXPECT_EQ(vc.get("tracestate"), "a=1");
  vc.set("tracestate", "b=2");
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v.back(), (std::pair<std::string, std::string>{"tracestate", "b=2"}));

  const std::map<std::string, std::string> frozen = {{"a", "1"}};
  HeaderCarrier<std::map<std::string, std::string>> ro(frozen);
  ro.set("a", "2");  // read-only: ignored
  EXPECT_EQ(frozen.at("a"), "1");
}

TEST(Carriers, CallbacksFitAnyHttpLibrary) {
  std::map<std::string, std::string> store;
  CallbackCarrier carrier(
      [&](std::string_view key) {
        auto it = store.find(std::string(key));
        return it == store.end() ? std::string() : it->second;
      },
      [&](std::string_view key, std::string_view value) {
        store[std::string(key)] = std::string(value);
      });
  TestSdk t;
  auto conv = conversation("c-cb", {"u"});
  Span span = start_span("client");
  auto active = span.activate();
  inject(carrier);
  EXPECT_EQ(store.count("traceparent"), 1u);
  Context got = extract(carrier);
  EXPECT_EQ(got.span_context().span_id, span.context().span_id);
  EXPECT_EQ(got.conversation_id(), "c-cb");

  CallbackCarrier empty(nullptr, nullptr);  // both callbacks may be missing
  inject(empty);
  EXPECT_FALSE(extract(empty).span_context().valid());
}

TEST(Carriers, ThrowingCallbacksNeverEscape) {
  CallbackCarrier carrier([](std::string_view) -> std::string { throw std::runtime_error("x"); },
                          [](std::string_view, std::string_view) { throw 42; });
  TestSdk t;
  Span span = start_span("s");
  auto active = span.activate();
  inject(carrier);                                     // no throw
  Context got = extract(carrier, Context::current());  // no throw: the base comes back
  EXPECT_EQ(got.span_context().span_id, span.context().span_id);
}

TEST(Inject, NothingToSayWritesNothing) {
  std::map<std::string, std::string> headers;
  inject(headers, Context());
  EXPECT_TRUE(headers.empty());
}

TEST(Inject, WritesTraceparentTracestateAndConversationBaggage) {
  TestSdk t;
  std::map<std::string, std::string> incoming = {
      {"traceparent", kParent}, {"tracestate", "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"}};
  auto attached = attach(extract(incoming));
  auto conv = conversation("support 789", {"user,123"});
  auto wf = workflow("rag_1", "rag");
  Span span = start_span("call");
  auto active = span.activate();

  std::map<std::string, std::string> out;
  inject(out);
  EXPECT_EQ(out.at("traceparent"), format_traceparent(span.context()));
  EXPECT_EQ(out.at("traceparent").substr(0, 36), std::string(kParent).substr(0, 36));
  EXPECT_EQ(out.at("tracestate"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  auto bag = baggage_map(out.at("baggage"));
  EXPECT_EQ(bag.at(std::string(baggage::kConversationId)), "support 789");
  EXPECT_EQ(bag.at(std::string(baggage::kUserId)), "user,123");
  EXPECT_EQ(bag.at(std::string(baggage::kConversationTurn)), "1");
  EXPECT_EQ(bag.at(std::string(baggage::kWorkflowId)), "rag_1");
  EXPECT_EQ(bag.at(std::string(baggage::kWorkflowType)), "rag");
}

TEST(Inject, UnsampledSpansStillPropagate) {
  Config c = testing::sync_config();
  c.sampler = always_off_sampler();
  TestSdk t(std::move(c));
  Span span = start_span("dropped");
  EXPECT_FALSE(span.recording());
  std::map<std::string, std::string> out;
  inject(out, span.child_context());
  ASSERT_EQ(out.count("traceparent"), 1u);
  EXPECT_EQ(out.at("traceparent").substr(53), "00");
  Context back = extract(out);
  EXPECT_EQ(back.span_context().span_id, span.context().span_id);
  EXPECT_FALSE(back.span_context().sampled());
}

TEST(Inject, PropagatedCustomAttributesKeepTheirTypes) {
  TestSdk t;
  ConversationOptions options("u1");
  options.attributes = {{"tenant", std::string("acme, inc; \"EU\"")},
                        {"plan.seats", int64_t{42}},
                        {"score", 0.5},
                        {"beta", true},
                        {"secret", std::string("not sent")},
                        {"tags", std::vector<std::string>{"a", "b"}}};
  options.propagate = {"tenant", "plan.seats", "score", "beta", "tags"};
  auto conv = conversation("c-attr", options);
  std::map<std::string, std::string> out;
  inject(out);
  auto entries = parse_baggage(out.at("baggage"));
  std::map<std::string, BaggageEntry> by_key;
  for (auto& e : entries) by_key[e.key] = e;
  EXPECT_EQ(by_key.count("secret"), 0u);  // not listed in propagate
  EXPECT_EQ(by_key.count("tags"), 0u);    // arrays do not travel
  EXPECT_EQ(by_key.at("tenant").properties, "convtrace.attr");
  EXPECT_EQ(by_key.at("plan.seats").properties, "convtrace.attr=int");

  Context server = extract(out);
  const auto& attrs = server.genai()->attributes;
  EXPECT_EQ(*find_string(attrs, "tenant"), "acme, inc; \"EU\"");
  EXPECT_EQ(*find_int(attrs, "plan.seats"), 42);
  EXPECT_EQ(*find_double(attrs, "score"), 0.5);
  ASSERT_NE(find_attribute(attrs, "beta"), nullptr);
  EXPECT_EQ(std::get<bool>(*find_attribute(attrs, "beta")), true);
  EXPECT_EQ(find_attribute(attrs, "secret"), nullptr);
}

TEST(Extract, InvalidTraceparentStartsANewTraceButKeepsTheConversation) {
  TestSdk t(testing::sync_config());
  std::map<std::string, std::string> headers = {
      {"traceparent", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"},
      {"tracestate", "rojo=1"},
      {"baggage", "gen_ai.conversation.id=c-1,gen_ai.conversation.turn=3"}};
  Context ctx = extract(headers);
  EXPECT_FALSE(ctx.span_context().valid());
  EXPECT_EQ(ctx.span_context().trace_state, "");
  EXPECT_EQ(ctx.conversation_id(), "c-1");
  EXPECT_EQ(ctx.turn(), 3);
  {
    auto attached = attach(ctx);
    Span s = start_span("server");
    s.end();
  }
  const auto& spans = t.spans();
  const SpanData* s = only(spans, "server");
  ASSERT_NE(s, nullptr);
  EXPECT_FALSE(s->parent_span_id.valid());
  EXPECT_NE(s->trace_id.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(int_attr(*s, attr::kConversationTurn), 3);
}

TEST(Extract, NoHeadersGiveTheBaseBack) {
  std::map<std::string, std::string> none;
  SpanContext sc;
  ASSERT_TRUE(parse_traceparent(kParent, &sc));
  Context base = Context().with_span_context(sc);
  Context got = extract(none, base);
  EXPECT_EQ(got.span_context().span_id, sc.span_id);
  EXPECT_EQ(got.genai(), nullptr);
}

TEST(Extract, BadTurnIsIgnoredWithAWarning) {
  TEST_reset_warnings();
  for (const char* turn : {"0", "-2", "two", "1.5", "99999999999999999999"}) {
    SCOPED_TRACE(turn);
    std::map<std::string, std::string> h = {
        {"baggage", std::string("gen_ai.conversation.id=c,gen_ai.conversation.turn=") + turn}};
    Context ctx = extract(h);
    EXPECT_EQ(ctx.conversation_id(), "c");
    EXPECT_EQ(ctx.turn(), 0);
  }
  EXPECT_EQ(warning_count("bad_baggage"), 5u);
}

TEST(Extract, ForeignBaggageIsPassedOnUnchanged) {
  // A proxy: extract, attach, inject — without spans of its own.
  std::map<std::string, std::string> in = {
      {"traceparent", kParent},
      {"baggage",
       "userId=alice,gen_ai.conversation.id=c%2C9, serverNode = DF%2028 ;region=eu;flag,"
       "gen_ai.conversation.turn=4,name=caf%C3%A9"}};
  auto attached = attach(extract(in));
  std::map<std::string, std::string> out;
  inject(out);
  EXPECT_EQ(out.at("traceparent"), kParent);  // no span here: the same parent goes on
  auto entries = parse_baggage(out.at("baggage"));
  std::map<std::string, BaggageEntry> by_key;
  for (auto& e : entries) by_key[e.key] = e;
  ASSERT_EQ(by_key.size(), 5u) << out.at("baggage");
  EXPECT_EQ(by_key.at("userId").value, "alice");
  EXPECT_EQ(by_key.at("serverNode").value, "DF 28");
  EXPECT_EQ(by_key.at("serverNode").properties, "region=eu;flag");
  EXPECT_EQ(by_key.at("name").value, "caf\xC3\xA9");
  EXPECT_EQ(by_key.at("gen_ai.conversation.id").value, "c,9");
  EXPECT_EQ(by_key.at("gen_ai.conversation.turn").value, "4");
}

TEST(Extract, AnInvalidConversationIdSurvivesTheHopUnchanged) {
  // The id is repaired once, when the scope is entered: the caller's spans,
  // the baggage and the receiving side all carry the same text, so the
  // downstream spans join this conversation (and get its sampling decision).
  TEST_reset_warnings();
  TestSdk t(testing::sync_config());
  std::map<std::string, std::string> headers;
  std::string local;
  {
    auto conv = conversation("conv-\xff\xfe-x", {"user-\xC3"});
    local = std::string(Context::current().conversation_id());
    Span call = start_span("client");
    auto active = call.activate();
    inject(headers);
  }
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(local, "conv-" + R + R + "-x");
  for (const auto& [name, value] : headers) {
    for (char c : value) EXPECT_LT(static_cast<unsigned char>(c), 0x80) << name << ": " << value;
  }
  Context remote = extract(headers, Context());
  EXPECT_EQ(remote.conversation_id(), local);
  {
    auto attached = attach(remote);
    Span server = start_span("server");
  }
  auto spans = t.spans();
  const SpanData* client = only(spans, "client");
  const SpanData* server = only(spans, "server");
  ASSERT_TRUE(client && server);
  EXPECT_EQ(str_attr(*server, attr::kConversationId), str_attr(*client, attr::kConversationId));
  EXPECT_EQ(str_attr(*server, attr::kUserId), "user-" + R);
  EXPECT_EQ(warning_count("invalid_utf8"), 2u) << "counted where the ids entered, not again";
}

TEST(Extract, InvalidUtf8InBaggageIsRepairedAndCounted) {
  TEST_reset_warnings();
  // Percent-encoded bytes that are not UTF-8, as another SDK may send them,
  // and raw bytes outside the baggage octets.
  std::map<std::string, std::string> h = {
      {"baggage", "gen_ai.conversation.id=conv-%FF%FE-x,user.id=u\xC3,name=%E2%82%AC"}};
  Context ctx = extract(h);
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(ctx.conversation_id(), "conv-" + R + R + "-x");
  EXPECT_EQ(warning_count("invalid_utf8"), 2u);
  std::map<std::string, std::string> out;
  inject(out, ctx);
  EXPECT_EQ(baggage_map(out.at("baggage")).at("name"), "\xE2\x82\xAC");
  EXPECT_EQ(extract(out).conversation_id(), ctx.conversation_id());
}

TEST(Extract, AdvancesTheLocalRegistryToTheCallersTurn) {
  TestSdk t(testing::sync_config());
  std::map<std::string, std::string> h = {
      {"baggage", "gen_ai.conversation.id=c-reg,gen_ai.conversation.turn=7"}};
  {
    auto attached = attach(extract(h));
    Span s = start_span("request 1");
  }
  {
    // A later request of the same conversation that carries no turn counts on.
    auto conv = conversation("c-reg");
    Span s = start_span("request 2");
  }
  const auto& spans = t.spans();
  EXPECT_EQ(int_attr(*only(spans, "request 1"), attr::kConversationTurn), 7);
  EXPECT_EQ(int_attr(*only(spans, "request 2"), attr::kConversationTurn), 8);
}

TEST(Extract, ConversationWithoutTurnLetsTheServerClaimOne) {
  TestSdk t(testing::sync_config());
  std::map<std::string, std::string> h = {{"baggage", "gen_ai.conversation.id=c-noturn"}};
  for (int i = 0; i < 2; ++i) {
    auto attached = attach(extract(h));
    Span s = start_span("req");
  }
  auto reqs = testing::named(t.spans(), "req");
  ASSERT_EQ(reqs.size(), 2u);
  EXPECT_EQ(int_attr(*reqs[0], attr::kConversationTurn), 1);
  EXPECT_EQ(int_attr(*reqs[1], attr::kConversationTurn), 2);
}

TEST(Extract, ADisabledSdkStillPassesContextOn) {
  Config config = testing::sync_config();
  config.disabled = true;
  TestSdk t(std::move(config));
  std::map<std::string, std::string> in = {
      {"traceparent", kParent},
      {"baggage", "gen_ai.conversation.id=c-off,gen_ai.conversation.turn=2,other=1"}};
  auto attached = attach(extract(in));
  std::map<std::string, std::string> out;
  observe({"no-op", Kind::tool}, [&](Span& span) {
    EXPECT_FALSE(span.recording());
    inject(out);
  });
  EXPECT_EQ(out.at("traceparent"), kParent);
  auto bag = baggage_map(out.at("baggage"));
  EXPECT_EQ(bag.at("gen_ai.conversation.id"), "c-off");
  EXPECT_EQ(bag.at("gen_ai.conversation.turn"), "2");
  EXPECT_EQ(bag.at("other"), "1");
  EXPECT_EQ(t.sdk->stats().spans_started, 0u);  // (the disabled SDK dropped the test exporter)
}

// --- Client → server in one process ----------------------------------------------

TEST(ClientServer, ServerSpansContinueTheClientsTraceConversationTurnAndWorkflow) {
  TestSdk t(testing::sync_config());
  std::map<std::string, std::string> wire;
  SpanContext client_span;
  {
    ConversationOptions options("user_123");
    options.attributes = {{"tenant", std::string("acme")}};
    options.propagate = {"tenant"};
    auto conv = conversation("support_789", options);
    observe({"first question", Kind::llm}, [] {});  // turn 1
    auto wf = workflow("rag_42", "rag");            // turn 2
    observe({"call retriever service", Kind::tool}, [&](Span& span) {
      span.set_attribute("peer.service", "retriever");
      client_span = span.context();
      inject(wire);
      // The "server" handles the request on another thread, as a real server would.
      std::thread server([headers = wire] {
        auto attached = attach(extract(headers));
        StartOptions server_span;
        server_span.span_kind = SpanKind::server;
        Span handler = start_span("server handler", server_span);
        auto active = handler.activate();
        observe({"rerank", Kind::llm}, [] {});
      });
      server.join();
    });
  }
  const auto& spans = t.spans();
  const SpanData* handler = only(spans, "server handler");
  const SpanData* rerank = only(spans, "rerank");
  const SpanData* call = only(spans, "execute_tool call retriever service");
  ASSERT_TRUE(handler && rerank && call);

  EXPECT_EQ(handler->trace_id, call->trace_id);
  EXPECT_EQ(handler->parent_span_id, client_span.span_id);
  EXPECT_TRUE(handler->parent_is_remote);
  EXPECT_EQ(rerank->parent_span_id, handler->span_id);
  EXPECT_FALSE(rerank->parent_is_remote);
  for (const SpanData* s : {handler, rerank}) {
    SCOPED_TRACE(s->name);
    EXPECT_EQ(str_attr(*s, attr::kConversationId), "support_789");
    EXPECT_EQ(str_attr(*s, attr::kUserId), "user_123");
    EXPECT_EQ(int_attr(*s, attr::kConversationTurn), 2);  // the client's turn, not a new one
    EXPECT_EQ(str_attr(*s, attr::kWorkflowId), "rag_42");
    EXPECT_EQ(str_attr(*s, attr::kWorkflowType), "rag");
    EXPECT_EQ(str_attr(*s, "tenant"), "acme");
  }
  EXPECT_EQ(int_attr(*call, attr::kConversationTurn), 2);
}

}  // namespace
}  // namespace convtrace
