// Spans that exercise every field and attribute kind the OTLP encoders write,
// and a field-by-field comparison for round-trip tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "convtrace/span_data.h"

namespace convtrace::testing {

inline TraceId trace_id_from(uint8_t seed) {
  TraceId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(seed + i * 17);
  return id;
}

inline SpanId span_id_from(uint8_t seed) {
  SpanId id;
  for (size_t i = 0; i < id.bytes.size(); ++i) id.bytes[i] = static_cast<uint8_t>(seed * 3 + i + 1);
  return id;
}

// Three spans over two resources and three scopes: a root span with every
// attribute type, a child with events, links, status and remote parent, and a
// bare span with default values.
inline std::vector<SpanData> sample_spans() {
  auto resource = std::make_shared<Resource>();
  resource->attributes = {{"service.name", std::string("support-bot")},
                          {"telemetry.sdk.language", std::string("cpp")},
                          {"host.cores", int64_t{2}}};
  auto other_resource = std::make_shared<Resource>();
  other_resource->attributes = {{"service.name", std::string("retriever")}};
  auto scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"convtrace", "0.1.0"});
  auto scope2 = std::make_shared<InstrumentationScope>(InstrumentationScope{"app.rag", ""});

  std::vector<SpanData> spans(3);
  SpanData& a = spans[0];
  a.trace_id = trace_id_from(1);
  a.span_id = span_id_from(1);
  a.trace_state = "vendor=abc,other=1";
  a.flags = 1;
  a.name = "chat gpt-4o";
  a.kind = SpanKind::client;
  a.start_unix_nano = 1700000000123456789ull;
  a.end_unix_nano = 18446744073709551615ull;  // max fixed64
  a.attributes = {
      {"gen_ai.request.model", std::string("gpt-4o")},
      {"empty.string", std::string()},
      {"utf8", std::string("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80")},
      {"escapes", std::string("quote\" backslash\\ newline\n tab\t ctrl\x01")},
      {"bool.true", true},
      {"bool.false", false},
      {"int.zero", int64_t{0}},
      {"int.neg", int64_t{-42}},
      {"int.min", std::numeric_limits<int64_t>::min()},
      {"int.max", std::numeric_limits<int64_t>::max()},
      {"double", 0.1},
      {"double.neg", -2.5e-300},
      {"double.big", 1.7976931348623157e308},
      {"double.zero", 0.0},
      {"arr.bool", std::vector<bool>{true, false, true}},
      {"arr.int", std::vector<int64_t>{1, -1, 0, std::numeric_limits<int64_t>::max()}},
      {"arr.double", std::vector<double>{1.5, -0.25, 0.0}},
      {"arr.string", std::vector<std::string>{"a", "", "long string value"}},
      {"", std::string("empty key")},
  };
  a.dropped_attributes_count = 3;
  a.status = {StatusCode::ok, ""};
  a.resource = resource;
  a.scope = scope;

  SpanData& b = spans[1];
  b.trace_id = trace_id_from(1);
  b.span_id = span_id_from(2);
  b.parent_span_id = span_id_from(1);
  b.parent_is_remote = true;
  b.flags = 0x03;
  b.name = "tool search";
  b.kind = SpanKind::internal;
  b.start_unix_nano = 1;
  b.end_unix_nano = 2;
  b.attributes = {{"gen_ai.usage.input_tokens", int64_t{1234}}};
  b.events = {
      SpanEvent{"exception",
                1700000000000000001ull,
                {{"exception.type", std::string("std::runtime_error")},
                 {"exception.message", std::string("boom")}},
                2},
      SpanEvent{"no-attrs", 0, {}, 0},
  };
  b.dropped_events_count = 4;
  SpanLink link;
  link.trace_id = trace_id_from(9);
  link.span_id = span_id_from(9);
  link.trace_state = "k=v";
  link.flags = 0x301;
  link.attributes = {{"link.kind", std::string("follows")}, {"link.n", 7.25}};
  link.dropped_attributes_count = 1;
  b.links = {link, SpanLink{trace_id_from(10), span_id_from(10), "", 0, {}, 0}};
  b.dropped_links_count = 5;
  b.status = {StatusCode::error, "rate limited \xE2\x9C\x97"};
  b.dropped_attributes_count = 0;
  b.resource = resource;
  b.scope = scope2;

  SpanData& c = spans[2];
  c.trace_id = trace_id_from(2);
  c.span_id = span_id_from(3);
  c.name = "";
  c.kind = SpanKind::unspecified;
  c.resource = other_resource;
  c.scope = scope;
  return spans;
}

inline std::vector<const SpanData*> pointers(const std::vector<SpanData>& spans) {
  std::vector<const SpanData*> out;
  for (const SpanData& s : spans) out.push_back(&s);
  return out;
}

inline bool same_value(const AttributeValue& a, const AttributeValue& b) {
  // NaN compares unequal to itself; treat two NaNs as the same value.
  if (auto* da = std::get_if<double>(&a)) {
    auto* db = std::get_if<double>(&b);
    return db && ((std::isnan(*da) && std::isnan(*db)) ||
                  (*da == *db && std::signbit(*da) == std::signbit(*db)));
  }
  return a == b;
}

inline void expect_attributes_eq(const std::vector<Attribute>& expected,
                                 const std::vector<Attribute>& actual, const std::string& where) {
  ASSERT_EQ(expected.size(), actual.size()) << where;
  for (size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(expected[i].key, actual[i].key) << where << " attribute " << i;
    EXPECT_EQ(expected[i].value.index(), actual[i].value.index())
        << where << " attribute " << expected[i].key;
    EXPECT_TRUE(same_value(expected[i].value, actual[i].value))
        << where << " attribute " << expected[i].key;
  }
}

inline void expect_span_eq(const SpanData& e, const SpanData& a) {
  const std::string where = "span '" + e.name + "'";
  EXPECT_EQ(e.trace_id.hex(), a.trace_id.hex()) << where;
  EXPECT_EQ(e.span_id.hex(), a.span_id.hex()) << where;
  EXPECT_EQ(e.parent_span_id.hex(), a.parent_span_id.hex()) << where;
  EXPECT_EQ(e.trace_state, a.trace_state) << where;
  EXPECT_EQ(e.flags, a.flags) << where;
  EXPECT_EQ(e.parent_is_remote, a.parent_is_remote) << where;
  EXPECT_EQ(e.name, a.name) << where;
  EXPECT_EQ(e.kind, a.kind) << where;
  EXPECT_EQ(e.start_unix_nano, a.start_unix_nano) << where;
  EXPECT_EQ(e.end_unix_nano, a.end_unix_nano) << where;
  expect_attributes_eq(e.attributes, a.attributes, where);
  EXPECT_EQ(e.dropped_attributes_count, a.dropped_attributes_count) << where;
  EXPECT_EQ(e.dropped_events_count, a.dropped_events_count) << where;
  EXPECT_EQ(e.dropped_links_count, a.dropped_links_count) << where;
  ASSERT_EQ(e.events.size(), a.events.size()) << where;
  for (size_t i = 0; i < e.events.size(); ++i) {
    EXPECT_EQ(e.events[i].name, a.events[i].name) << where;
    EXPECT_EQ(e.events[i].time_unix_nano, a.events[i].time_unix_nano) << where;
    EXPECT_EQ(e.events[i].dropped_attributes_count, a.events[i].dropped_attributes_count) << where;
    expect_attributes_eq(e.events[i].attributes, a.events[i].attributes, where + " event");
  }
  ASSERT_EQ(e.links.size(), a.links.size()) << where;
  for (size_t i = 0; i < e.links.size(); ++i) {
    EXPECT_EQ(e.links[i].trace_id.hex(), a.links[i].trace_id.hex()) << where;
    EXPECT_EQ(e.links[i].span_id.hex(), a.links[i].span_id.hex()) << where;
    EXPECT_EQ(e.links[i].trace_state, a.links[i].trace_state) << where;
    EXPECT_EQ(e.links[i].flags, a.links[i].flags) << where;
    EXPECT_EQ(e.links[i].dropped_attributes_count, a.links[i].dropped_attributes_count) << where;
    expect_attributes_eq(e.links[i].attributes, a.links[i].attributes, where + " link");
  }
  EXPECT_EQ(e.status.code, a.status.code) << where;
  EXPECT_EQ(e.status.description, a.status.description) << where;
  ASSERT_TRUE(a.resource) << where;
  ASSERT_TRUE(a.scope) << where;
  if (e.resource) expect_attributes_eq(e.resource->attributes, a.resource->attributes, where);
  if (e.scope) {
    EXPECT_EQ(e.scope->name, a.scope->name) << where;
    EXPECT_EQ(e.scope->version, a.scope->version) << where;
  }
}

}  // namespace convtrace::testing
