// Text that enters through the span API is made valid UTF-8 once: each
// setter with invalid bytes gives a span whose strings are all valid (each
// ill-formed sequence one U+FFFD) and counts an invalid_utf8 warning.
#include <gtest/gtest.h>

#include "common/utf8.h"
#include "support/test_sdk.h"

namespace convtrace {
namespace {

using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

const std::string R(utf8::kReplacement);

class BadText : public ::testing::Test {
 protected:
  void SetUp() override { TEST_reset_warnings(); }
  uint64_t warnings() const { return warning_count(utf8::kWarning); }
};

TEST_F(BadText, AttributeKeysAndValues) {
  TestSdk t(sync_config());
  {
    Span s = start_span("s");
    s.set_attribute("user.id", "u-\xFF\xFE");
    s.set_attribute("bad\xC0key", "v");
    s.set_attribute("bad\xC1key", 1);  // another invalid key, the same once repaired
    s.set_attribute_value("list", std::vector<std::string>{"ok", "\xE2\x82"});
    s.set_attribute("fine", "caf\xC3\xA9");
  }
  auto spans = t.spans();
  const SpanData* s = only(spans, "s");
  ASSERT_TRUE(s);
  EXPECT_TRUE(utf8::valid(*s));
  EXPECT_EQ(str_attr(*s, "user.id"), "u-" + R + R);
  // Both spellings of the key read "bad\uFFFDkey": one attribute, the last value.
  const AttributeValue* key = find_attribute(s->attributes, "bad" + R + "key");
  ASSERT_NE(key, nullptr);
  EXPECT_EQ(*key, AttributeValue(int64_t{1}));
  EXPECT_EQ(s->attributes.size(), 4u);
  EXPECT_EQ(*find_attribute(s->attributes, "list"),
            AttributeValue(std::vector<std::string>{"ok", R}));
  EXPECT_EQ(str_attr(*s, "fine"), "caf\xC3\xA9");
  EXPECT_EQ(warnings(), 4u);
}

TEST_F(BadText, ARecycledRecordNeverKeepsInvalidBytes) {
  // Span records are reused in place: the same invalid value on every span
  // must be repaired every time, and a valid one kept as it is.
  TestSdk t(sync_config());
  for (int i = 0; i < 20; ++i) {
    Span s = start_span(i % 2 ? "odd\xFF" : "even");
    s.set_attribute("k", i % 2 ? "\xFF" : "ok");
    s.set_attribute("n", i);
  }
  for (const SpanData& s : t.spans()) {
    EXPECT_TRUE(utf8::valid(s));
    bool odd = s.name != "even";
    EXPECT_EQ(str_attr(s, "k"), odd ? R : "ok");
  }
}

TEST_F(BadText, NamesEventsStatusesAndLinks) {
  TestSdk t(sync_config());
  {
    StartOptions options;
    options.attributes = {{"start\xFF", std::string("v\xFF")}};
    SpanLink link;
    link.trace_id.bytes[0] = 1;
    link.span_id.bytes[0] = 1;
    link.trace_state = "k=\xFF";
    link.attributes = {{"lk", std::string("\xC3")}};
    options.links = {link};
    Span s = start_span("start \xF5name", options);
    s.add_event("event\xFF", {{"ek\xFF", std::string("ev\xFF")}});
    s.record_exception("Type\xFF", "message \xE2\x82");
    s.set_status(StatusCode::error, "failed \xFF");
  }
  {
    Span s = start_span("renamed");
    s.update_name("new \xFF name");
  }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 2u);
  for (const SpanData& s : spans) EXPECT_TRUE(utf8::valid(s));
  const SpanData* s = only(spans, "start " + R + "name");
  ASSERT_TRUE(s);
  EXPECT_EQ(str_attr(*s, "start" + R), "v" + R);
  EXPECT_EQ(s->events.at(0).name, "event" + R);
  EXPECT_EQ(s->events.at(1).attributes.at(1).value, AttributeValue("message " + R));
  EXPECT_EQ(s->status.description, "failed " + R);
  EXPECT_EQ(s->links.at(0).trace_state, "k=" + R);
  EXPECT_NE(only(spans, "new " + R + " name"), nullptr);
  EXPECT_GE(warnings(), 10u);
}

TEST_F(BadText, TheLengthLimitCutsAtACharacterBoundary) {
  Config config = sync_config();
  config.attribute_value_length_limit = 5;
  TestSdk t(std::move(config));
  {
    Span s = start_span("s");
    s.set_attribute("euro",
                    "abc\xE2\x82\xAC"
                    "d");                                // a b c € d: 5 bytes would split €
    s.set_attribute("bad", "\xFF\xFF\xFF\xFF\xFF\xFF");  // repaired first, then cut
    s.set_attribute_value("list", std::vector<std::string>{"\xC3\xA9\xC3\xA9\xC3\xA9"});
  }
  auto spans = t.spans();
  const SpanData* s = only(spans, "s");
  ASSERT_TRUE(s);
  EXPECT_TRUE(utf8::valid(*s));
  EXPECT_EQ(str_attr(*s, "euro"), "abc");
  EXPECT_EQ(str_attr(*s, "bad"), R);  // two U+FFFD would be 6 bytes
  EXPECT_EQ(*find_attribute(s->attributes, "list"),
            AttributeValue(std::vector<std::string>{"\xC3\xA9\xC3\xA9"}));
  EXPECT_EQ(warnings(), 1u) << "valid text cut at the limit is not a repair";
}

TEST_F(BadText, ResourceAndScopeNames) {
  Config config = sync_config();
  config.service_name = "svc\xFF";
  TestSdk t(std::move(config));
  {
    Tracer tracer = t.sdk->tracer("lib\xFF", "1.\xFF");
    Span s = tracer.start_span("s");
  }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_TRUE(utf8::valid(spans[0]));
  EXPECT_EQ(spans[0].scope->name, "lib" + R);
  EXPECT_EQ(*find_string(spans[0].resource->attributes, "service.name"), "svc" + R);
}

TEST(StartTime, OutOfRangeStartTimesAreNotUsed) {
  TEST_reset_warnings();
  TestSdk t(sync_config());
  {
    StartOptions options;
    options.start_unix_nano = 9223372036854775807ULL;  // the last representable instant
    Span s = start_span("last", options);
  }
  {
    StartOptions options;
    options.start_unix_nano = 9223372036854775808ULL;  // one past it
    Span s = start_span("past", options);
  }
  auto spans = t.spans();
  const SpanData* last = only(spans, "last");
  const SpanData* past = only(spans, "past");
  ASSERT_TRUE(last && past);
  EXPECT_EQ(last->start_unix_nano, 9223372036854775807ULL);
  EXPECT_EQ(last->end_unix_nano, 9223372036854775807ULL) << "the end is clamped to the range";
  EXPECT_LT(past->start_unix_nano, 9223372036854775807ULL / 2) << "started now instead";
  EXPECT_EQ(warning_count("time_out_of_range"), 1u);
}

}  // namespace
}  // namespace convtrace
