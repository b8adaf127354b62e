#include "otlp/otlp_proto.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

#include "convtrace/diagnostics.h"
#include "otlp/sample_spans.h"

namespace convtrace::otlp {
namespace {

using convtrace::testing::expect_span_eq;
using convtrace::testing::pointers;
using convtrace::testing::sample_spans;

std::vector<SpanData> round_trip(const std::vector<SpanData>& spans, DecodeStats* stats = nullptr) {
  auto ptrs = pointers(spans);
  std::string body = encode_trace_request(SpanBatch(ptrs.data(), ptrs.size()));
  auto decoded = decode_trace_request(body, {}, stats);
  EXPECT_TRUE(decoded) << (decoded ? "" : decoded.error().message);
  return decoded ? *decoded : std::vector<SpanData>{};
}

TEST(OtlpProto, RoundTripsEveryField) {
  auto spans = sample_spans();
  DecodeStats stats;
  auto decoded = round_trip(spans, &stats);
  ASSERT_EQ(decoded.size(), spans.size());
  for (size_t i = 0; i < spans.size(); ++i) expect_span_eq(spans[i], decoded[i]);
  EXPECT_EQ(stats.dropped_values, 0u);
}

TEST(OtlpProto, EmptyBatchIsEmptyMessage) {
  std::string body = encode_trace_request(SpanBatch(nullptr, 0));
  EXPECT_TRUE(body.empty());
  auto decoded = decode_trace_request(body);
  ASSERT_TRUE(decoded);
  EXPECT_TRUE(decoded->empty());
}

TEST(OtlpProto, GroupsByResourceAndScope) {
  auto spans = sample_spans();
  // Interleave: resource 1 / scope 1 spans separated by spans of other groups,
  // and a resource equal in content but held in a different object.
  std::vector<SpanData> batch = {spans[0], spans[2], spans[1], spans[0]};
  batch[3].resource = std::make_shared<Resource>(*spans[0].resource);
  batch[3].name = "copy";
  auto decoded = round_trip(batch);
  ASSERT_EQ(decoded.size(), 4u);
  // Wire order is resource by resource, scope by scope, batch order within a group.
  EXPECT_EQ(decoded[0].name, spans[0].name);
  EXPECT_EQ(decoded[1].name, "copy");
  EXPECT_EQ(decoded[2].name, spans[1].name);
  EXPECT_EQ(decoded[3].name, spans[2].name);
  // One Resource object per ResourceSpans, one scope object per ScopeSpans.
  EXPECT_EQ(decoded[0].resource, decoded[1].resource);
  EXPECT_EQ(decoded[0].resource, decoded[2].resource);
  EXPECT_NE(decoded[0].resource, decoded[3].resource);
  EXPECT_EQ(decoded[0].scope, decoded[1].scope);
  EXPECT_NE(decoded[0].scope, decoded[2].scope);
}

TEST(OtlpProto, SpansWithoutResourceOrScopeDecodeWithEmptyOnes) {
  SpanData s;
  s.trace_id = convtrace::testing::trace_id_from(5);
  s.span_id = convtrace::testing::span_id_from(5);
  s.name = "bare";
  auto decoded = round_trip({s});
  ASSERT_EQ(decoded.size(), 1u);
  ASSERT_TRUE(decoded[0].resource);
  ASSERT_TRUE(decoded[0].scope);
  EXPECT_TRUE(decoded[0].resource->attributes.empty());
  EXPECT_EQ(decoded[0].scope->name, "");
}

TEST(OtlpProto, KnownBytesForAMinimalSpan) {
  // Checked by hand against trace.proto: a span with ids, name "x", kind 1.
  SpanData s;
  s.trace_id.bytes.fill(0x11);
  s.span_id.bytes.fill(0x22);
  s.name = "x";
  s.flags = 1;
  const SpanData* p = &s;
  std::string body = encode_trace_request(SpanBatch(&p, 1));
  std::string span = std::string("\x0a\x10", 2) + std::string(16, '\x11') +
                     std::string("\x12\x08", 2) + std::string(8, '\x22') + "\x2a\x01x" +
                     std::string("\x30\x01", 2) + std::string("\x85\x01\x01\x01\x00\x00", 6);
  std::string scope_spans = "\x12" + std::string(1, static_cast<char>(span.size())) + span;
  std::string resource_spans =
      "\x12" + std::string(1, static_cast<char>(scope_spans.size())) + scope_spans;
  std::string expected =
      "\x0a" + std::string(1, static_cast<char>(resource_spans.size())) + resource_spans;
  EXPECT_EQ(body, expected);
}

TEST(OtlpProto, EncoderReusesBuffersAcrossBatches) {
  auto spans = sample_spans();
  auto ptrs = pointers(spans);
  TraceRequestEncoder encoder;
  std::string first, second;
  encoder.encode(SpanBatch(ptrs.data(), ptrs.size()), first);
  encoder.encode(SpanBatch(ptrs.data(), 1), second);
  encoder.encode(SpanBatch(ptrs.data(), ptrs.size()), second);
  EXPECT_EQ(first, second);
}

TEST(OtlpProto, LargeValuesUseMultiByteLengths) {
  SpanData s;
  s.trace_id = convtrace::testing::trace_id_from(1);
  s.span_id = convtrace::testing::span_id_from(1);
  s.name = std::string(300000, 'n');
  for (int i = 0; i < 200; ++i) {
    s.attributes.push_back({"k" + std::to_string(i), std::string(i * 50, 'v')});
  }
  auto decoded = round_trip({s});
  ASSERT_EQ(decoded.size(), 1u);
  expect_span_eq(s, decoded[0]);
}

// Hand-built messages for the decoder's error paths.
std::string varint(uint64_t v) {
  std::string out;
  while (v >= 0x80) {
    out.push_back(static_cast<char>(v | 0x80));
    v >>= 7;
  }
  out.push_back(static_cast<char>(v));
  return out;
}
std::string len_field(uint32_t field, const std::string& payload) {
  return varint((field << 3) | 2) + varint(payload.size()) + payload;
}
std::string wrap_span(const std::string& span_payload) {
  return len_field(1, len_field(2, len_field(2, span_payload)));
}

TEST(OtlpProto, UnknownFieldsAreSkipped) {
  std::string span = len_field(5, "named") + varint((99 << 3) | 0) + varint(123456) +
                     varint((100 << 3) | 1) + std::string(8, '\0') + varint((101 << 3) | 5) +
                     std::string(4, '\0') + len_field(102, "whatever");
  auto decoded = decode_trace_request(wrap_span(span) + len_field(77, "top-level"));
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0].name, "named");
}

TEST(OtlpProto, FieldsMayComeInAnyOrder) {
  // Scope after spans, resource after scope_spans: still attached.
  std::string scope_spans = len_field(2, len_field(5, "s")) + len_field(1, len_field(1, "lib"));
  std::string resource =
      len_field(1, len_field(1, len_field(1, "service.name") + len_field(2, len_field(1, "svc"))));
  std::string body = len_field(1, len_field(2, scope_spans) + resource);
  auto decoded = decode_trace_request(body);
  ASSERT_TRUE(decoded) << decoded.error().message;
  ASSERT_EQ(decoded->size(), 1u);
  EXPECT_EQ((*decoded)[0].scope->name, "lib");
  ASSERT_EQ((*decoded)[0].resource->attributes.size(), 1u);
  EXPECT_EQ((*decoded)[0].resource->attributes[0].key, "service.name");
}

TEST(OtlpProto, UnsupportedValuesAreDroppedAndCounted) {
  auto kv = [](const std::string& key, const std::string& any_value) {
    return len_field(9, len_field(1, key) + len_field(2, any_value));
  };
  std::string span = len_field(5, "s") + kv("kvlist", len_field(6, "")) +
                     kv("bytes", len_field(7, "\x01\x02")) + kv("empty", "") +
                     kv("mixed", len_field(5, len_field(1, len_field(1, "a")) +
                                                  len_field(1, varint(3 << 3) + varint(1)))) +
                     kv("nested", len_field(5, len_field(1, len_field(5, "")))) +
                     kv("ok", len_field(1, "fine")) + kv("empty.array", len_field(5, ""));
  DecodeStats stats;
  auto decoded = decode_trace_request(wrap_span(span), {}, &stats);
  ASSERT_TRUE(decoded) << decoded.error().message;
  const SpanData& s = (*decoded)[0];
  ASSERT_EQ(s.attributes.size(), 2u);
  EXPECT_EQ(s.attributes[0].key, "ok");
  EXPECT_EQ(s.attributes[1].key, "empty.array");
  EXPECT_EQ(std::get<std::vector<std::string>>(s.attributes[1].value).size(), 0u);
  EXPECT_EQ(s.dropped_attributes_count, 5u);
  EXPECT_EQ(stats.dropped_values, 5u);
}

TEST(OtlpProto, InvalidUtf8StringsAreRepairedAndCounted) {
  // Other SDKs may send bytes in `string` fields: the span is kept, its text
  // repaired (one U+FFFD per maximal subpart), and the repairs counted.
  TEST_reset_warnings();
  auto kv = [](const std::string& key, const std::string& any_value) {
    return len_field(9, len_field(1, key) + len_field(2, any_value));
  };
  std::string span = len_field(5, "name \xFF\xFE") + kv("k\xC3", len_field(1, "v\xE2\x82")) +
                     kv("ok", len_field(1, "caf\xC3\xA9")) + len_field(15, len_field(2, "\xF5"));
  DecodeStats stats;
  auto decoded = decode_trace_request(wrap_span(span), {}, &stats);
  ASSERT_TRUE(decoded) << decoded.error().message;
  const SpanData& s = (*decoded)[0];
  const std::string R = "\xEF\xBF\xBD";
  EXPECT_EQ(s.name, "name " + R + R);
  EXPECT_EQ(s.attributes.at(0).key, "k" + R);
  EXPECT_EQ(s.attributes.at(0).value, AttributeValue("v" + R));
  EXPECT_EQ(s.attributes.at(1).value, AttributeValue(std::string("caf\xC3\xA9")));
  EXPECT_EQ(s.status.description, R);
  EXPECT_EQ(stats.repaired_strings, 4u);
  EXPECT_EQ(warning_count("invalid_utf8"), 1u) << "one warning per request";
}

struct BadCase {
  const char* what;
  std::string body;
  const char* expected_in_message;
};

TEST(OtlpProto, RejectsMalformedInput) {
  std::string valid = wrap_span(len_field(1, std::string(16, 'a')) + len_field(5, "name"));
  std::vector<BadCase> cases = {
      {"truncated", valid.substr(0, valid.size() - 3), "bad length"},
      {"huge length", std::string("\x0a\xff\xff\xff\xff\x0f", 6), "bad length"},
      {"overlong varint", std::string("\x0a") + std::string(11, '\xff'), "bad length"},
      {"field number zero", std::string("\x02\x00", 2), "invalid field number"},
      {"group wire type", std::string("\x0b"), "wire type"},
      {"wire type 7", std::string("\x0f"), "wire type"},
      {"resource_spans as varint", std::string("\x08\x01", 2), "wire type"},
      {"span name as varint", wrap_span(varint(5 << 3) + varint(1)), "Span.name"},
      {"start time as varint", wrap_span(varint(7 << 3) + varint(1)), "Span.start_time_unix_nano"},
      {"flags as fixed64", wrap_span(varint((16 << 3) | 1) + std::string(8, '\0')), "Span.flags"},
      {"short trace id", wrap_span(len_field(1, "abc")), "Span.trace_id: length 3"},
      {"long span id", wrap_span(len_field(2, std::string(9, 'x'))), "Span.span_id"},
      {"truncated fixed64", wrap_span(varint((7 << 3) | 1) + "abc"), "truncated"},
      {"attribute as varint", wrap_span(varint(9 << 3) + varint(0)), "Span.attributes"},
      {"int value as string",
       wrap_span(len_field(9, len_field(1, "k") + len_field(2, len_field(3, "x")))),
       "AnyValue.int_value"},
  };
  for (const auto& c : cases) {
    auto decoded = decode_trace_request(c.body);
    ASSERT_FALSE(decoded) << c.what;
    EXPECT_EQ(decoded.error().code, Error::parse_error) << c.what;
    EXPECT_NE(decoded.error().message.find(c.expected_in_message), std::string::npos)
        << c.what << ": " << decoded.error().message;
  }
}

TEST(OtlpProto, EnforcesInputAndMemoryLimits) {
  // 100k empty spans: 200 KB on the wire, far more in memory.
  std::string spans;
  for (int i = 0; i < 100000; ++i) spans += std::string("\x12\x00", 2);
  std::string body = len_field(1, len_field(2, spans));
  DecodeLimits limits;
  limits.max_decoded_bytes = 1 << 20;
  auto decoded = decode_trace_request(body, limits);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("exceeds the limit"), std::string::npos);

  limits = DecodeLimits{};
  limits.max_input_bytes = 100;
  decoded = decode_trace_request(body, limits);
  ASSERT_FALSE(decoded);
  EXPECT_NE(decoded.error().message.find("exceeds the limit"), std::string::npos);

  EXPECT_TRUE(decode_trace_request(body));  // within the default limits
}

TEST(OtlpProto, DeeplyNestedInputIsRejectedWithoutRecursion) {
  // Arrays inside arrays a million levels deep: the decoder only descends one level.
  std::string value = len_field(1, "leaf");
  for (int i = 0; i < 2000; ++i) value = len_field(5, len_field(1, value));
  DecodeStats stats;
  auto decoded = decode_trace_request(
      wrap_span(len_field(9, len_field(1, "deep") + len_field(2, value))), {}, &stats);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_TRUE((*decoded)[0].attributes.empty());
  EXPECT_EQ(stats.dropped_values, 1u);
}

TEST(OtlpProto, RandomBytesNeverCrash) {
  std::mt19937 rng(12345);
  auto spans = sample_spans();
  auto ptrs = pointers(spans);
  std::string valid = encode_trace_request(SpanBatch(ptrs.data(), ptrs.size()));
  size_t ok = 0;
  for (int iter = 0; iter < 20000; ++iter) {
    std::string body;
    if (iter % 2 == 0) {
      body.resize(rng() % 200);
      for (char& c : body) c = static_cast<char>(rng());
    } else {
      // Mutations of a valid body reach deeper code paths.
      body = valid;
      for (int m = 0; m < 1 + static_cast<int>(rng() % 4); ++m) {
        body[rng() % body.size()] = static_cast<char>(rng());
      }
      if (rng() % 3 == 0) body.resize(rng() % body.size());
    }
    auto decoded = decode_trace_request(body);
    if (decoded) ++ok;
  }
  SUCCEED() << ok << " of 20000 random inputs decoded";
}

TEST(OtlpProto, ResponseRoundTrip) {
  EXPECT_EQ(encode_trace_response({}), "");
  auto empty = decode_trace_response("");
  ASSERT_TRUE(empty);
  EXPECT_EQ(empty->rejected_spans, 0);

  PartialSuccess p{17, "17 spans had invalid ids"};
  std::string body = encode_trace_response(p);
  auto decoded = decode_trace_response(body);
  ASSERT_TRUE(decoded) << decoded.error().message;
  EXPECT_EQ(decoded->rejected_spans, 17);
  EXPECT_EQ(decoded->error_message, p.error_message);

  EXPECT_FALSE(decode_trace_response("\x0a\x05\x08"));
  EXPECT_FALSE(decode_trace_response(std::string("\x08\x01", 2)));
}

TEST(OtlpProto, StatusMessage) {
  // google.rpc.Status{code: 3, message: "bad span", details: [...]}
  std::string body = varint(1 << 3) + varint(3) + len_field(2, "bad span") + len_field(3, "xyz");
  EXPECT_EQ(decode_status_message(body), "bad span");
  EXPECT_EQ(decode_status_message(""), "");
  EXPECT_EQ(decode_status_message("\x12\x50"), "");  // truncated
}

}  // namespace
}  // namespace convtrace::otlp
