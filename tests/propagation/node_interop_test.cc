// Interop with the OpenTelemetry JavaScript SDK: headers injected by convtrace
// are extracted by W3CTraceContextPropagator + W3CBaggagePropagator and the
// other way round (tests/node/w3c_interop.js). Needs node and
// `npm install --prefix tests/node`; skipped without them unless CI is set.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <sys/stat.h>
#include <unistd.h>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "convtrace/convtrace.h"
#include "support/test_sdk.h"
#include "trace/genai_state.h"

namespace convtrace {
namespace {

using Headers = std::map<std::string, std::string>;

const std::string kScript = std::string(CONVTRACE_SOURCE_DIR) + "/tests/node/w3c_interop.js";
const std::string kModules = std::string(CONVTRACE_SOURCE_DIR) + "/tests/node/node_modules";

// Values that need percent-encoding, or look like delimiters, or are not ASCII.
const std::string kConversation = "conv 1, caf\xC3\xA9; x=y %41 \xE2\x9C\x93";
const std::string kUser = "\xC3\xBCn\xC3\xAF user; role=admin";
const std::string kTenant = "acme, inc. = 100% \"EU\"";

bool exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Why the interop tests cannot run here, or empty.
std::string missing_node() {
  std::string node = CONVTRACE_NODE;
  if (node.empty()) return "node was not found when configuring";
  if (!exists(kModules + "/@opentelemetry/core")) {
    return "tests/node/node_modules is missing: run `npm install --prefix tests/node`";
  }
  return {};
}

#define REQUIRE_NODE()                                      \
  do {                                                      \
    std::string why = missing_node();                       \
    if (!why.empty()) {                                     \
      if (std::getenv("CI")) FAIL() << why;                 \
      GTEST_SKIP() << why << " (set CI to make this fail)"; \
    }                                                       \
  } while (0)

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c == '"' || c == '\\') {
      out += '\\';
      out += ch;
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += ch;
    }
  }
  return out + "\"";
}

std::string json_object(const Headers& m) {
  std::string out = "{";
  for (const auto& [k, v] : m) {
    if (out.size() > 1) out += ",";
    out += json_string(k) + ":" + json_string(v);
  }
  return out + "}";
}

// What the JavaScript SDK saw.
struct JsView {
  bool valid = false;
  std::string trace_id, span_id, trace_state;
  int64_t flags = -1;
  bool remote = false;
  std::map<std::string, std::pair<std::string, std::string>> baggage;  // value, metadata
  Headers headers;                                                     // what it injected
};

// Runs the script with `request` on stdin; fails the test on any error.
JsView run_node(const std::string& request) {
  JsView view;
  // One file per call: ctest runs test cases in parallel processes.
  std::string in = ::testing::TempDir() + "/w3c_interop_XXXXXX";
  int fd = mkstemp(in.data());
  EXPECT_GE(fd, 0);
  if (fd < 0) return view;
  close(fd);
  {
    std::ofstream f(in);
    f << request;
  }
  std::string command = std::string(CONVTRACE_NODE) + " '" + kScript + "' < '" + in + "'";
  FILE* pipe = popen(command.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  if (!pipe) return view;
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  int status = pclose(pipe);
  std::remove(in.c_str());
  EXPECT_EQ(status, 0) << "node failed for request " << request;

  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  auto error = parser.parse(out).get(doc);
  EXPECT_FALSE(error) << "bad JSON from node: " << out;
  if (error) return view;
  auto str = [](simdjson::dom::element e) {
    std::string_view s;
    return e.get(s) ? std::string() : std::string(s);
  };
  simdjson::dom::object obj = doc.get_object();
  for (auto [key, value] : obj) {
    if (key == "valid") {
      bool b = false;
      if (value.get(b) == simdjson::SUCCESS) view.valid = b;
    } else if (key == "traceId") {
      view.trace_id = str(value);
    } else if (key == "spanId") {
      view.span_id = str(value);
    } else if (key == "traceFlags") {
      int64_t f = -1;
      if (value.get(f) == simdjson::SUCCESS) view.flags = f;
    } else if (key == "isRemote") {
      bool b = false;
      if (value.get(b) == simdjson::SUCCESS) view.remote = b;
    } else if (key == "traceState") {
      view.trace_state = str(value);
    } else if (key == "baggage") {
      for (auto [k, entry] : value.get_object()) {
        view.baggage[std::string(k)] = {str(entry["value"]), str(entry["metadata"])};
      }
    } else if (key == "headers") {
      for (auto [k, v] : value.get_object()) view.headers[std::string(k)] = str(v);
    }
  }
  return view;
}

JsView js_extract(const Headers& headers) {
  return run_node("{\"mode\":\"extract\",\"headers\":" + json_object(headers) + "}");
}

// A client context: a remote parent with tracestate and a foreign baggage
// entry, then a conversation with a workflow, a propagated attribute, and a span.
struct ClientSide {
  Headers headers;
  SpanContext span;
};

ClientSide convtrace_client(bool sampled) {
  Config config = testing::sync_config();
  config.sampler = sampled ? always_on_sampler() : always_off_sampler();
  testing::TestSdk sdk(std::move(config));
  Headers upstream = {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                      {"tracestate", "congo=t61rcWkgMzE,tenant@vendor=x1"},
                      {"baggage", "upstream.flag=on;ttl=30"}};
  auto parent = attach(extract(upstream));
  ConversationOptions options(kUser);
  options.attributes = {{"tenant", kTenant}, {"seats", int64_t{12}}};
  options.propagate = {"tenant", "seats"};
  auto conv = conversation(kConversation, options);
  auto wf = workflow("wf;1", "rag v2");  // turn 1
  Span span = start_span("call peer");   // the sampler is not parent-based: it decides
  ClientSide out;
  out.span = span.context();
  inject(out.headers, span.child_context());
  return out;
}

TEST(NodeInterop, ConvtraceHeadersExtractInJavaScript) {
  REQUIRE_NODE();
  for (bool sampled : {true, false}) {
    SCOPED_TRACE(sampled ? "sampled" : "unsampled");
    ClientSide client = convtrace_client(sampled);
    JsView js = js_extract(client.headers);
    ASSERT_TRUE(js.valid) << client.headers["traceparent"];
    EXPECT_EQ(js.trace_id, client.span.trace_id.hex());
    EXPECT_EQ(js.trace_id, "0af7651916cd43dd8448eb211c80319c");
    EXPECT_EQ(js.span_id, client.span.span_id.hex());
    EXPECT_EQ(js.flags, sampled ? 1 : 0);
    EXPECT_TRUE(js.remote);
    EXPECT_EQ(js.trace_state, "congo=t61rcWkgMzE,tenant@vendor=x1");

    auto value = [&](std::string_view key) { return js.baggage[std::string(key)].first; };
    EXPECT_EQ(value(baggage::kConversationId), kConversation);
    EXPECT_EQ(value(baggage::kUserId), kUser);
    EXPECT_EQ(value(baggage::kConversationTurn), "1");
    EXPECT_EQ(value(baggage::kWorkflowId), "wf;1");
    EXPECT_EQ(value(baggage::kWorkflowType), "rag v2");
    EXPECT_EQ(value("tenant"), kTenant);
    EXPECT_EQ(js.baggage["tenant"].second, "convtrace.attr");
    EXPECT_EQ(value("seats"), "12");
    EXPECT_EQ(js.baggage["seats"].second, "convtrace.attr=int");
    EXPECT_EQ(value("upstream.flag"), "on");
    EXPECT_EQ(js.baggage["upstream.flag"].second, "ttl=30");
    EXPECT_EQ(js.baggage.size(), 8u);
  }
}

TEST(NodeInterop, JavaScriptHeadersExtractInConvtrace) {
  REQUIRE_NODE();
  for (int flags : {1, 0}) {
    SCOPED_TRACE(flags);
    std::string request =
        "{\"mode\":\"inject\",\"traceId\":\"4bf92f3577b34da6a3ce929d0e0e4736\","
        "\"spanId\":\"00f067aa0ba902b7\",\"traceFlags\":" +
        std::to_string(flags) +
        ",\"traceState\":\"rojo=00f067aa0ba902b7,tenant@vendor=x\","
        "\"baggage\":{" +
        json_string(baggage::kConversationId) + ":{\"value\":" + json_string(kConversation) + "}," +
        json_string(baggage::kUserId) + ":{\"value\":" + json_string(kUser) + "}," +
        json_string(baggage::kConversationTurn) + ":{\"value\":\"5\"}," +
        json_string(baggage::kWorkflowId) + ":{\"value\":\"wf 9\"}," +
        json_string(baggage::kWorkflowType) + ":{\"value\":\"agent\"}," +
        "\"tenant\":{\"value\":" + json_string(kTenant) +
        ",\"metadata\":\"convtrace.attr\"},"
        "\"seats\":{\"value\":\"7\",\"metadata\":\"convtrace.attr=int\"},"
        "\"js.only\":{\"value\":\"semi;colon, comma = 50%\",\"metadata\":\"p=1;q\"}}}";
    JsView js = run_node(request);
    ASSERT_EQ(js.headers.count("traceparent"), 1u);

    testing::TestSdk sdk(testing::sync_config());
    Context ctx = extract(js.headers);
    const SpanContext& sc = ctx.span_context();
    EXPECT_EQ(sc.trace_id.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(sc.span_id.hex(), "00f067aa0ba902b7");
    EXPECT_EQ(sc.flags, flags);
    EXPECT_TRUE(sc.remote);
    EXPECT_EQ(sc.trace_state, "rojo=00f067aa0ba902b7,tenant@vendor=x");
    EXPECT_EQ(ctx.conversation_id(), kConversation);
    EXPECT_EQ(ctx.turn(), 5);
    EXPECT_EQ(ctx.workflow_id(), "wf 9");
    ASSERT_NE(ctx.genai(), nullptr);
    EXPECT_EQ(ctx.genai()->user_id, kUser);
    EXPECT_EQ(ctx.genai()->workflow_type, "agent");
    EXPECT_EQ(*find_string(ctx.genai()->attributes, "tenant"), kTenant);
    EXPECT_EQ(*find_int(ctx.genai()->attributes, "seats"), 7);
    ASSERT_EQ(ctx.genai()->baggage.size(), 1u);
    EXPECT_EQ(ctx.genai()->baggage[0].key, "js.only");
    EXPECT_EQ(ctx.genai()->baggage[0].value, "semi;colon, comma = 50%");
    EXPECT_EQ(ctx.genai()->baggage[0].properties, "p=1;q");

    {
      auto attached = attach(ctx);
      Span server = start_span("server");
    }
    const auto& spans = sdk.spans();
    if (flags == 1) {
      const SpanData* s = testing::only(spans, "server");
      ASSERT_NE(s, nullptr);
      EXPECT_EQ(s->parent_span_id.hex(), "00f067aa0ba902b7");
      EXPECT_EQ(testing::str_attr(*s, attr::kConversationId), kConversation);
      EXPECT_EQ(testing::int_attr(*s, attr::kConversationTurn), 5);
      EXPECT_EQ(testing::str_attr(*s, "tenant"), kTenant);
    } else {
      EXPECT_TRUE(spans.empty());  // the caller's "not sampled" is followed
    }
  }
}

TEST(NodeInterop, RoundTripThroughAJavaScriptHop) {
  REQUIRE_NODE();
  ClientSide client = convtrace_client(true);
  JsView js = js_extract(client.headers);  // JS extracts and injects again
  Context direct = extract(client.headers);
  Context via_js = extract(js.headers);
  EXPECT_EQ(via_js.span_context().trace_id, direct.span_context().trace_id);
  EXPECT_EQ(via_js.span_context().span_id, direct.span_context().span_id);
  EXPECT_EQ(via_js.span_context().flags, direct.span_context().flags);
  EXPECT_EQ(via_js.span_context().trace_state, direct.span_context().trace_state);
  EXPECT_EQ(via_js.conversation_id(), kConversation);
  EXPECT_EQ(via_js.turn(), direct.turn());
  EXPECT_EQ(via_js.genai()->user_id, kUser);
  EXPECT_EQ(*find_string(via_js.genai()->attributes, "tenant"), kTenant);
  EXPECT_EQ(*find_int(via_js.genai()->attributes, "seats"), 12);
  ASSERT_EQ(via_js.genai()->baggage.size(), 1u);
  EXPECT_EQ(via_js.genai()->baggage[0].properties, "ttl=30");
}

TEST(NodeInterop, BothSidesAgreeOnWhichTraceparentsAreValid) {
  REQUIRE_NODE();
  const std::string t = "4bf92f3577b34da6a3ce929d0e0e4736", s = "00f067aa0ba902b7";
  const std::vector<std::string> headers = {
      "00-" + t + "-" + s + "-01",
      "00-" + t + "-" + s + "-00",
      "00-" + t + "-" + s + "-01-extra",
      "ff-" + t + "-" + s + "-01",
      "00-" + std::string(32, '0') + "-" + s + "-01",
      "00-" + t + "-" + std::string(16, '0') + "-01",
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-" + s + "-01",
      "00-" + t + "-" + s + "-1",
      "cc-" + t + "-" + s + "-01-future",
      "01-" + t + "-" + s + "-01",
      "garbage",
  };
  for (const std::string& h : headers) {
    SCOPED_TRACE(h);
    SpanContext ours;
    bool valid = parse_traceparent(h, &ours);
    JsView js = js_extract({{"traceparent", h}});
    EXPECT_EQ(js.valid, valid);
  }
}

}  // namespace
}  // namespace convtrace
