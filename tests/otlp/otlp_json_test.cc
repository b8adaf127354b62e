#include "otlp/otlp_json.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>

#include "convtrace/diagnostics.h"
#include "otlp/sample_spans.h"

namespace convtrace::otlp {
namespace {

using convtrace::testing::expect_span_eq;
using convtrace::testing::pointers;
using convtrace::testing::sample_spans;

std::string json_string(std::string_view s) {
  std::string out;
  append_json_string(s, out);
  return out;
}

TEST(OtlpJson, RoundTripsEveryField) {
  auto spans = sample_spans();
  auto ptrs = pointers(spans);
  std::string body = encode_trace_request_json(SpanBatch(ptrs.data(), ptrs.size()));
  DecodeStats stats;
  auto decoded = decode_trace_request_json(body, {}, &stats);
  ASSERT_TRUE(decoded) << decoded.error().message << "\n" << body;
  ASSERT_EQ(decoded->size(), spans.size());
  for (size_t i = 0; i < spans.size(); ++i) expect_span_eq(spans[i], (*decoded)[i]);
  EXPECT_EQ(stats.dropped_values, 0u);
}

TEST(OtlpJson, UsesOtlpJsonConventions) {
  auto spans = sample_spans();
  std::string out;
  append_span_json(spans[1], out);
  // Hex ids, not base64.
  EXPECT_NE(out.find("\"traceId\":\"" + spans[1].trace_id.hex() + "\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"parentSpanId\":\"" + spans[1].parent_span_id.hex() + "\""),
            std::string::npos);
  // fixed64 as decimal strings, enums and uint32 as numbers.
  EXPECT_NE(out.find("\"startTimeUnixNano\":\"1\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"kind\":1"), std::string::npos);
  EXPECT_NE(out.find("\"status\":{\"message\":"), std::string::npos);
  EXPECT_NE(out.find("\"code\":2"), std::string::npos);
  EXPECT_NE(out.find("\"flags\":771"), std::string::npos);  // 0x03 | HAS_IS_REMOTE | IS_REMOTE
  EXPECT_NE(out.find("\"intValue\":\"1234\""), std::string::npos);
  EXPECT_NE(out.find("\"droppedEventsCount\":4"), std::string::npos);

  out.clear();
  append_span_json(spans[0], out);
  EXPECT_NE(out.find("\"endTimeUnixNano\":\"18446744073709551615\""), std::string::npos);
  EXPECT_NE(out.find("{\"key\":\"int.min\",\"value\":{\"intValue\":\"-9223372036854775808\"}}"),
            std::string::npos);
  EXPECT_NE(out.find("{\"key\":\"double\",\"value\":{\"doubleValue\":0.1}}"), std::string::npos);
  EXPECT_NE(out.find("\"arrayValue\":{\"values\":[{\"boolValue\":true},{\"boolValue\":false}"),
            std::string::npos);
  EXPECT_EQ(out.find("parentSpanId"), std::string::npos);  // root span
}

TEST(OtlpJson, NonFiniteDoubles) {
  SpanData s;
  s.attributes = {{"nan", std::numeric_limits<double>::quiet_NaN()},
                  {"inf", std::numeric_limits<double>::infinity()},
                  {"ninf", -std::numeric_limits<double>::infinity()}};
  std::string out;
  append_span_json(s, out);
  EXPECT_NE(out.find("{\"doubleValue\":\"NaN\"}"), std::string::npos) << out;
  EXPECT_NE(out.find("{\"doubleValue\":\"Infinity\"}"), std::string::npos);
  EXPECT_NE(out.find("{\"doubleValue\":\"-Infinity\"}"), std::string::npos);

  std::string body = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" + out + "]}]}]}";
  auto decoded = decode_trace_request_json(body);
  ASSERT_TRUE(decoded) << decoded.error().message;
  const auto& attrs = (*decoded)[0].attributes;
  EXPECT_TRUE(std::isnan(std::get<double>(attrs[0].value)));
  EXPECT_EQ(std::get<double>(attrs[1].value), std::numeric_limits<double>::infinity());
  EXPECT_EQ(std::get<double>(attrs[2].value), -std::numeric_limits<double>::infinity());
}

TEST(OtlpJson, EscapesStrings) {
  struct Case {
    std::string in;
    std::string out;
  };
  std::vector<Case> cases = {
      {"plain", "\"plain\""},
      {"a\"b\\c", "\"a\\\"b\\\\c\""},
      {"\n\r\t\b\f", "\"\\n\\r\\t\\b\\f\""},
      {std::string("\x00\x01\x1f", 3), "\"\\u0000\\u0001\\u001f\""},
      {"\x7f", "\"\x7f\""},
      {"caf\xC3\xA9", "\"caf\xC3\xA9\""},
      {"\xF0\x9F\x98\x80", "\"\xF0\x9F\x98\x80\""},
      // Invalid UTF-8: each maximal invalid subpart becomes one U+FFFD.
      {"a\xFF"
       "b",
       "\"a\xEF\xBF\xBD"
       "b\""},
      {"\xC3", "\"\xEF\xBF\xBD\""},                                  // truncated at the end
      {"\xE2\x82", "\"\xEF\xBF\xBD\""},                              // truncated 3-byte sequence
      {"\xC0\xAF", "\"\xEF\xBF\xBD\xEF\xBF\xBD\""},                  // overlong
      {"\xED\xA0\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  // surrogate
      {"\xF4\x90\x80\x80", "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\""},  // > U+10FFFF
      {"\xE2\x82x", "\"\xEF\xBF\xBDx\""},
  };
  for (const auto& c : cases) EXPECT_EQ(json_string(c.in), c.out) << c.in;
}

TEST(OtlpJson, InvalidUtf8StillYieldsValidJson) {
  SpanData s;
  s.name = "bad \xFF\xFE name";
  s.attributes = {{"k\xC3", std::string("v\xE2\x82")}};
  const SpanData* p = &s;
  std::string body = encode_trace_request_json(SpanBatch(&p, 1));
  auto decoded = decode_trace_request_json(body);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ((*decoded)[0].name, "bad \xEF\xBF\xBD\xEF\xBF\xBD name");
}

TEST(OtlpJson, DecoderRepairsInvalidUtf8AndLoneSurrogates) {
  // JSON text must be UTF-8, and a \u escape of a lone surrogate names no
  // character (JavaScript writes one for a string cut inside a pair): the
  // request is read with each replaced by U+FFFD instead of refused.
  TEST_reset_warnings();
  const std::string R = "\xEF\xBF\xBD";
  auto body = [](const std::string& name, const std::string& value) {
    return R"({"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"01000000000000000000000000000000",)"
           R"("spanId":"0100000000000000","name":")" +
           name + R"(","attributes":[{"key":"k","value":{"stringValue":")" + value +
           R"("}}]}]}]}]})";
  };
  struct Case {
    std::string name, value, want_name, want_value;
  };
  const std::vector<Case> cases = {
      {"raw \xFF\xFE", "ok", "raw " + R + R, "ok"},
      {"lone \\ud800 high", "\\udc00", "lone " + R + " high", R},
      {"pair \\ud83d\\ude00", "\\ud83d", "pair \xF0\x9F\x98\x80", R},
      {"both \xC3 \\udbff", "\\\\ud800", "both " + R + " " + R, "\\ud800"},  // "\\" is a backslash
  };
  for (const Case& c : cases) {
    DecodeStats stats;
    auto decoded = decode_trace_request_json(body(c.name, c.value), {}, &stats);
    ASSERT_TRUE(decoded) << c.name << ": " << decoded.error().message;
    EXPECT_EQ((*decoded)[0].name, c.want_name);
    EXPECT_EQ((*decoded)[0].attributes.at(0).value, AttributeValue(c.want_value)) << c.name;
    EXPECT_GT(stats.repaired_strings, 0u) << c.name;
  }
  EXPECT_EQ(warning_count("invalid_utf8"), cases.size());
  // Still malformed after the repair: an error, not a loop.
  EXPECT_FALSE(decode_trace_request_json("{\"resourceSpans\": [\"\xFF\", \"\\ud800\"]"));
}

TEST(OtlpJson, DecoderAcceptsTheFormsReceiversMust) {
  std::string body = R"({"resourceSpans":[{
    "resource":{"attributes":[{"key":"service.name","value":{"stringValue":"svc"}}]},
    "scopeSpans":[{"scope":{"name":"lib","version":"2"},"spans":[{
      "traceId":"0102030405060708090A0B0C0D0E0F10","spanId":"AABBCCDDEEFF0011",
      "parentSpanId":"","name":"s","kind":"SPAN_KIND_SERVER",
      "startTimeUnixNano":1700000000000000000,"endTimeUnixNano":"1700000000000000001",
      "attributes":[
        {"key":"i.num","value":{"intValue":42}},
        {"key":"i.str","value":{"intValue":"-7"}},
        {"key":"d.int","value":{"doubleValue":3}},
        {"key":"d.str","value":{"doubleValue":"2.5"}},
        {"key":"kv","value":{"kvlistValue":{"values":[]}}},
        {"key":"b64","value":{"bytesValue":"AQI="}}],
      "droppedAttributesCount":"1",
      "status":{"code":"STATUS_CODE_ERROR","message":"m"},
      "unknownField":{"nested":[1,2,3]}
    }]}]}], "alsoUnknown": true})";
  DecodeStats stats;
  auto decoded = decode_trace_request_json(body, {}, &stats);
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 1u);
  const SpanData& s = (*decoded)[0];
  EXPECT_EQ(s.trace_id.hex(), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(s.span_id.hex(), "aabbccddeeff0011");
  EXPECT_FALSE(s.parent_span_id.valid());
  EXPECT_EQ(s.kind, SpanKind::server);
  EXPECT_EQ(s.start_unix_nano, 1700000000000000000ull);
  EXPECT_EQ(s.end_unix_nano, 1700000000000000001ull);
  ASSERT_EQ(s.attributes.size(), 4u);
  EXPECT_EQ(std::get<int64_t>(s.attributes[0].value), 42);
  EXPECT_EQ(std::get<int64_t>(s.attributes[1].value), -7);
  EXPECT_EQ(std::get<double>(s.attributes[2].value), 3.0);
  EXPECT_EQ(std::get<double>(s.attributes[3].value), 2.5);
  EXPECT_EQ(s.dropped_attributes_count, 3u);  // 1 declared + 2 unsupported values
  EXPECT_EQ(stats.dropped_values, 2u);
  EXPECT_EQ(s.status.code, StatusCode::error);
  EXPECT_EQ(s.scope->name, "lib");
  EXPECT_EQ(s.resource->attributes.size(), 1u);
}

TEST(OtlpJson, RejectsMalformedInput) {
  auto wrap = [](const std::string& span) {
    return "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" + span + "]}]}]}";
  };
  struct Case {
    const char* what;
    std::string body;
    const char* expected_in_message;
  };
  std::vector<Case> cases = {
      {"not json", "{\"resourceSpans\":[", "otlp json"},
      {"not an object", "[1,2]", "expected an object"},
      {"resourceSpans not array", "{\"resourceSpans\":{}}", "resourceSpans: expected an array"},
      {"base64 id", wrap("{\"traceId\":\"AQIDBAUGBwgJCgsMDQ4PEA==\"}"),
       "resourceSpans[0].scopeSpans[0].spans[0].traceId: expected 32 hex digits"},
      {"bad hex", wrap("{\"spanId\":\"zz02030405060708\"}"), "spanId"},
      {"name not string", wrap("{\"name\":5}"), "name: expected a string"},
      {"negative time", wrap("{\"startTimeUnixNano\":-1}"), "startTimeUnixNano"},
      {"fractional int", wrap("{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":1.5}}]}"),
       "intValue"},
      {"int string garbage",
       wrap("{\"attributes\":[{\"key\":\"k\",\"value\":{\"intValue\":\"12x\"}}]}"), "intValue"},
      {"uint32 overflow", wrap("{\"droppedLinksCount\":4294967296}"), "out of range"},
      {"bool as string", wrap("{\"attributes\":[{\"key\":\"k\",\"value\":{\"boolValue\":\"t\"}}]}"),
       "boolValue"},
      {"bad enum name", wrap("{\"kind\":\"SPAN_KIND_NOPE\"}"), "kind"},
      {"deep nesting", std::string(10000, '[') + std::string(10000, ']'), "otlp json"},
  };
  for (const auto& c : cases) {
    auto decoded = decode_trace_request_json(c.body);
    ASSERT_FALSE(decoded) << c.what;
    EXPECT_EQ(decoded.error().code, Error::parse_error);
    EXPECT_NE(decoded.error().message.find(c.expected_in_message), std::string::npos)
        << c.what << ": " << decoded.error().message;
  }
}

TEST(OtlpJson, EnforcesMemoryLimit) {
  std::string spans;
  for (int i = 0; i < 20000; ++i) spans += i ? ",{}" : "{}";
  std::string body = "{\"resourceSpans\":[{\"scopeSpans\":[{\"spans\":[" + spans + "]}]}]}";
  DecodeLimits limits;
  limits.max_decoded_bytes = 1 << 20;
  auto decoded = decode_trace_request_json(body, limits);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("exceeds the limit"), std::string::npos);
  EXPECT_TRUE(decode_trace_request_json(body));
}

TEST(OtlpJson, RandomMutationsNeverCrash) {
  auto spans = sample_spans();
  auto ptrs = pointers(spans);
  std::string valid = encode_trace_request_json(SpanBatch(ptrs.data(), ptrs.size()));
  std::mt19937 rng(777);
  const char alphabet[] = "{}[]\",:0123456789-.eE tfnul\\\"abAB";
  for (int iter = 0; iter < 5000; ++iter) {
    std::string body = valid;
    for (int m = 0; m < 1 + static_cast<int>(rng() % 4); ++m) {
      body[rng() % body.size()] = alphabet[rng() % (sizeof alphabet - 1)];
    }
    if (rng() % 4 == 0) body.resize(rng() % body.size());
    (void)decode_trace_request_json(body);
  }
}

TEST(OtlpJson, ResponseRoundTrip) {
  EXPECT_EQ(encode_trace_response_json({}), "{}");
  auto ok = decode_trace_response_json("");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->rejected_spans, 0);
  std::string body = encode_trace_response_json({3, "three bad"});
  EXPECT_EQ(body, "{\"partialSuccess\":{\"rejectedSpans\":\"3\",\"errorMessage\":\"three bad\"}}");
  auto decoded = decode_trace_response_json(body);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->rejected_spans, 3);
  EXPECT_EQ(decoded->error_message, "three bad");
  auto numeric = decode_trace_response_json("{\"partialSuccess\":{\"rejectedSpans\":5}}");
  ASSERT_TRUE(numeric);
  EXPECT_EQ(numeric->rejected_spans, 5);
  EXPECT_FALSE(decode_trace_response_json("{\"partialSuccess\":[]}"));
}

TEST(OtlpJson, StatusMessage) {
  EXPECT_EQ(decode_status_message_json(R"({"code":3,"message":"bad span","details":[]})"),
            "bad span");
  EXPECT_EQ(decode_status_message_json("<html>"), "");
  EXPECT_EQ(decode_status_message_json("{\"message\":5}"), "");
}

}  // namespace
}  // namespace convtrace::otlp
