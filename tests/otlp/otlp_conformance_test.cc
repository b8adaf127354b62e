// Checks our OTLP encoders against the official opentelemetry-proto schema:
// bodies we encode are decoded by the protobufjs code generated from the
// upstream .proto files (tests/node/decode_otlp.js), and every field is
// compared with the spans we started from.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"
#include "otlp/sample_spans.h"
#include "support/node.h"
#include "support/test_sdk.h"

namespace convtrace::otlp {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kNodeDir = fs::path(CONVTRACE_SOURCE_DIR) / "tests" / "node";

bool in_ci() { return testing::running_in_ci(); }

int run(const std::string& cmd, std::string* out) { return testing::run_command(cmd, out); }

// Empty when the reference decoder can run; otherwise why not.
std::string node_unavailable() {
  std::string version;
  if (run("node --version 2>/dev/null", &version) != 0) return "node is not installed";
  if (!fs::exists(kNodeDir / "node_modules" / "@opentelemetry" / "otlp-transformer")) {
    return "tests/node/node_modules is missing (run: npm ci --prefix tests/node)";
  }
  return {};
}

#define REQUIRE_NODE()                                                                           \
  do {                                                                                           \
    std::string why = node_unavailable();                                                        \
    if (!why.empty()) {                                                                          \
      if (in_ci()) FAIL() << "CI is set but the OTLP reference decoder is unavailable: " << why; \
      GTEST_SKIP() << why;                                                                       \
    }                                                                                            \
  } while (0)

// Runs the reference decoder on `body`; its exit status, its output in *out.
int run_reference(const std::string& body, bool is_json, std::string* out, bool quiet = false) {
  fs::path file =
      fs::path(::testing::TempDir()) / (std::string("convtrace_otlp_body_") +
                                        std::to_string(::getpid()) + (is_json ? ".json" : ".bin"));
  {
    std::ofstream f(file, std::ios::binary);
    f.write(body.data(), static_cast<std::streamsize>(body.size()));
  }
  std::string cmd = "node '" + (kNodeDir / "decode_otlp.js").string() + "' " +
                    (is_json ? "--json " : "") + "'" + file.string() + "'" +
                    (quiet ? " 2>/dev/null" : "");
  int rc = run(cmd, out);
  fs::remove(file);
  return rc;
}

json decode_with_reference(const std::string& body, bool is_json) {
  std::string out;
  int rc = run_reference(body, is_json, &out);
  EXPECT_EQ(rc, 0) << "reference decoder failed (see stderr above)";
  if (rc != 0) return json();
  return json::parse(out, nullptr, /*allow_exceptions=*/false);
}

// The protobuf-JSON form the reference decoder prints for an AnyValue.
json scalar_json(bool v) { return {{"boolValue", v}}; }
json scalar_json(int64_t v) { return {{"intValue", std::to_string(v)}}; }
json scalar_json(double v) {
  if (std::isnan(v)) return {{"doubleValue", "NaN"}};
  if (std::isinf(v)) return {{"doubleValue", v > 0 ? "Infinity" : "-Infinity"}};
  return {{"doubleValue", v}};
}
json scalar_json(const std::string& v) { return {{"stringValue", v}}; }

json any_value_json(const AttributeValue& value) {
  return std::visit(
      [](const auto& x) -> json {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> ||
                      std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          return scalar_json(x);
        } else {
          using E = typename T::value_type;
          json values = json::array();
          for (const auto& e : x) {
            const E& v = e;
            values.push_back(scalar_json(v));
          }
          return {{"arrayValue", {{"values", values}}}};
        }
      },
      value);
}

void expect_attributes(const std::vector<Attribute>& expected, const json& actual,
                       const std::string& where) {
  json list = actual.is_null() ? json::array() : actual;
  ASSERT_EQ(list.size(), expected.size()) << where;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(list[i].value("key", std::string()), expected[i].key) << where;
    EXPECT_EQ(list[i]["value"], any_value_json(expected[i].value))
        << where << " attribute '" << expected[i].key << "'";
  }
}

// A fixed64 as printed by the reference decoder. protobufjs's generated
// fromObject reads fixed64 into a signed Long, so values above INT64_MAX come
// back negative from the JSON path: compare the 64 bits, not the text.
uint64_t u64(const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : "invalid";
  if (!s.empty() && s[0] == '-') return static_cast<uint64_t>(std::stoll(s));
  return std::stoull(s);
}

void expect_span(const SpanData& e, const json& a) {
  const std::string where = "span '" + e.name + "'";
  EXPECT_EQ(a.value("traceId", ""), e.trace_id.hex()) << where;
  EXPECT_EQ(a.value("spanId", ""), e.span_id.hex()) << where;
  EXPECT_EQ(a.value("parentSpanId", ""), e.parent_span_id.valid() ? e.parent_span_id.hex() : "")
      << where;
  EXPECT_EQ(a.value("traceState", ""), e.trace_state) << where;
  uint32_t flags = (e.flags & 0xFF) | 0x100 | (e.parent_is_remote ? 0x200 : 0);
  EXPECT_EQ(a.value("flags", 0u), flags) << where;
  EXPECT_EQ(a.value("name", ""), e.name) << where;
  EXPECT_EQ(a.value("kind", 0), static_cast<int>(e.kind)) << where;
  EXPECT_EQ(u64(a.value("startTimeUnixNano", json("0"))), e.start_unix_nano) << where;
  EXPECT_EQ(u64(a.value("endTimeUnixNano", json("0"))), e.end_unix_nano) << where;
  expect_attributes(e.attributes, a.value("attributes", json()), where);
  EXPECT_EQ(a.value("droppedAttributesCount", 0u), e.dropped_attributes_count) << where;
  EXPECT_EQ(a.value("droppedEventsCount", 0u), e.dropped_events_count) << where;
  EXPECT_EQ(a.value("droppedLinksCount", 0u), e.dropped_links_count) << where;

  json events = a.value("events", json::array());
  ASSERT_EQ(events.size(), e.events.size()) << where;
  for (size_t i = 0; i < e.events.size(); ++i) {
    EXPECT_EQ(events[i].value("name", ""), e.events[i].name) << where;
    EXPECT_EQ(u64(events[i].value("timeUnixNano", json("0"))), e.events[i].time_unix_nano) << where;
    EXPECT_EQ(events[i].value("droppedAttributesCount", 0u), e.events[i].dropped_attributes_count);
    expect_attributes(e.events[i].attributes, events[i].value("attributes", json()),
                      where + " event");
  }
  json links = a.value("links", json::array());
  ASSERT_EQ(links.size(), e.links.size()) << where;
  for (size_t i = 0; i < e.links.size(); ++i) {
    EXPECT_EQ(links[i].value("traceId", ""), e.links[i].trace_id.hex()) << where;
    EXPECT_EQ(links[i].value("spanId", ""), e.links[i].span_id.hex()) << where;
    EXPECT_EQ(links[i].value("traceState", ""), e.links[i].trace_state) << where;
    EXPECT_EQ(links[i].value("flags", 0u), e.links[i].flags) << where;
    EXPECT_EQ(links[i].value("droppedAttributesCount", 0u), e.links[i].dropped_attributes_count);
    expect_attributes(e.links[i].attributes, links[i].value("attributes", json()), where + " link");
  }
  json status = a.value("status", json::object());
  EXPECT_EQ(status.value("code", 0), static_cast<int>(e.status.code)) << where;
  EXPECT_EQ(status.value("message", ""), e.status.description) << where;
}

// Flattens the decoded request, checking resource and scope of each span.
void expect_request(const std::vector<SpanData>& spans, const json& request) {
  ASSERT_TRUE(request.is_object()) << request.dump();
  size_t next = 0;
  size_t resource_groups = 0;
  for (const json& rs : request.value("resourceSpans", json::array())) {
    ++resource_groups;
    for (const json& ss : rs.value("scopeSpans", json::array())) {
      for (const json& span : ss.value("spans", json::array())) {
        ASSERT_LT(next, spans.size());
        const SpanData& e = spans[next++];
        expect_span(e, span);
        expect_attributes(e.resource->attributes,
                          rs.value("resource", json::object()).value("attributes", json()),
                          "resource of '" + e.name + "'");
        json scope = ss.value("scope", json::object());
        EXPECT_EQ(scope.value("name", ""), e.scope->name);
        EXPECT_EQ(scope.value("version", ""), e.scope->version);
      }
    }
  }
  EXPECT_EQ(next, spans.size());
  EXPECT_EQ(resource_groups, 2u);
}

std::vector<SpanData> conformance_spans() {
  auto spans = convtrace::testing::sample_spans();
  spans[2].attributes = {
      {"nan", std::nan("")}, {"inf", HUGE_VAL}, {"arr.empty", std::vector<std::string>{}}};
  return spans;
}

TEST(OtlpConformance, ProtobufDecodesWithOfficialSchema) {
  REQUIRE_NODE();
  auto spans = conformance_spans();
  auto ptrs = convtrace::testing::pointers(spans);
  std::string body = encode_trace_request(SpanBatch(ptrs.data(), ptrs.size()));
  expect_request(spans, decode_with_reference(body, /*is_json=*/false));
}

TEST(OtlpConformance, JsonDecodesWithOfficialSchema) {
  REQUIRE_NODE();
  auto spans = conformance_spans();
  auto ptrs = convtrace::testing::pointers(spans);
  std::string body = encode_trace_request_json(SpanBatch(ptrs.data(), ptrs.size()));
  expect_request(spans, decode_with_reference(body, /*is_json=*/true));
}

TEST(OtlpConformance, ReferenceDecoderRejectsCorruptBodies) {
  // Guards the test itself: a broken body must not pass as an empty request.
  REQUIRE_NODE();
  std::string out;
  fs::path file = fs::path(::testing::TempDir()) / "convtrace_otlp_corrupt.bin";
  {
    std::ofstream f(file, std::ios::binary);
    f << std::string("\x0a\x7f\x12", 3);
  }
  int rc = run(
      "node '" + (kNodeDir / "decode_otlp.js").string() + "' '" + file.string() + "' 2>/dev/null",
      &out);
  fs::remove(file);
  EXPECT_NE(rc, 0);
}

TEST(OtlpConformance, ReferenceDecoderRejectsInvalidUtf8) {
  // Guards the strictness the next test relies on: strings that are not
  // UTF-8 fail the reference decoder, as they fail strict receivers.
  REQUIRE_NODE();
  SpanData raw;
  raw.trace_id.bytes[0] = 1;
  raw.span_id.bytes[0] = 1;
  raw.name = "bad \xFF name";  // straight into the encoder, which copies bytes
  const SpanData* p = &raw;
  std::string out;
  EXPECT_NE(run_reference(encode_trace_request(SpanBatch(&p, 1)), false, &out, true), 0);
  raw.name = "fine";
  EXPECT_EQ(run_reference(encode_trace_request(SpanBatch(&p, 1)), false, &out, true), 0);
  std::string json_body =
      R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01000000000000000000000000000000",)"
      R"("spanId":"0100000000000000","name":"bad \xFF"}]}]}]})";
  EXPECT_NE(run_reference(json_body, true, &out, true), 0);
}

TEST(OtlpConformance, SpansRecordedFromInvalidTextDecodeStrictly) {
  REQUIRE_NODE();
  std::vector<SpanData> spans;
  {
    convtrace::testing::TestSdk t(convtrace::testing::sync_config());
    auto conv = conversation("conv-\xff\xfe-x", {"user\xC3"});
    Span s = start_span("name \xE2\x82");
    s.set_attribute("key\xFF", "value \xF0\x9F\x98");
    s.set_attribute_value("list", std::vector<std::string>{"\xC0\xAF"});
    s.add_event("event\xFF", {{"k", std::string("\xED\xA0\x80")}});
    s.set_status(StatusCode::error, "\xF4\x90\x80\x80");
    s.end();
    spans = t.spans();
  }
  ASSERT_EQ(spans.size(), 1u);
  auto ptrs = convtrace::testing::pointers(spans);
  for (bool is_json : {false, true}) {
    std::string body = is_json ? encode_trace_request_json(SpanBatch(ptrs.data(), ptrs.size()))
                               : encode_trace_request(SpanBatch(ptrs.data(), ptrs.size()));
    json decoded = decode_with_reference(body, is_json);
    const json& span = decoded["resourceSpans"][0]["scopeSpans"][0]["spans"][0];
    EXPECT_EQ(span.value("name", ""), "name \xEF\xBF\xBD") << is_json;
    EXPECT_EQ(span["status"].value("message", ""),
              "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // F4 90 80 80: four
  }
}

}  // namespace
}  // namespace convtrace::otlp
