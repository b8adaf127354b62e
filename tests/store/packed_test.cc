// The packed form of attributes, events and links (schema version 2): exact
// round trips of every value type, and damaged values read as errors.
#include "store/packed.h"

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "convtrace/store.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using testing::TempDir;

// Equality that also holds for NaN (compared bit for bit, as doubles are stored).
bool same_double(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool same_value(const AttributeValue& a, const AttributeValue& b) {
  if (a.index() != b.index()) return false;
  if (const double* d = std::get_if<double>(&a)) return same_double(*d, std::get<double>(b));
  if (const auto* v = std::get_if<std::vector<double>>(&a)) {
    const auto& w = std::get<std::vector<double>>(b);
    if (v->size() != w.size()) return false;
    for (size_t i = 0; i < v->size(); ++i) {
      if (!same_double((*v)[i], w[i])) return false;
    }
    return true;
  }
  return a == b;
}

void expect_same(const std::vector<Attribute>& a, const std::vector<Attribute>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key, b[i].key) << i;
    EXPECT_TRUE(same_value(a[i].value, b[i].value)) << a[i].key;
  }
}

// One attribute of every type and the edge cases of each.
std::vector<Attribute> every_kind_of_value() {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double inf = std::numeric_limits<double>::infinity();
  std::string binary("\x00\x01\xff\xfe\x80 not utf-8 \xc3", 16);
  return {
      {"bool.true", true},
      {"bool.false", false},
      {"int.zero", int64_t{0}},
      {"int.neg", int64_t{-1}},
      {"int.min", std::numeric_limits<int64_t>::min()},
      {"int.max", std::numeric_limits<int64_t>::max()},
      {"real", 0.1},
      {"real.neg_zero", -0.0},
      {"real.denormal", 4.9e-324},
      {"real.nan", nan},
      {"real.inf", inf},
      {"real.neg_inf", -inf},
      {"string", std::string("plain")},
      {"string.empty", std::string()},
      {"string.unicode", std::string("héllo → 世界 🎉")},
      {"string.quotes", std::string("a\"b\\c\n\t\x01")},
      {"string.binary", binary},
      {"string.long", std::string(1 << 20, 'x')},
      {"", std::string("empty key")},
      {"strings", std::vector<std::string>{"a", "", "ü", binary}},
      {"bools", std::vector<bool>{true, false, true}},
      {"ints", std::vector<int64_t>{0, -1, std::numeric_limits<int64_t>::min(),
                                    std::numeric_limits<int64_t>::max(), 9007199254740993}},
      {"reals", std::vector<double>{0.1, -2.5e-300, nan, inf, -inf, -0.0}},
      {"strings.empty", std::vector<std::string>{}},
      {"bools.empty", std::vector<bool>{}},
      {"ints.empty", std::vector<int64_t>{}},
      {"reals.empty", std::vector<double>{}},
      {"ints.long", std::vector<int64_t>(100000, 7)},
      {"dup", int64_t{1}},
      {"dup", std::string("a key may repeat")},
  };
}

TEST(Packed, AttributesOfEveryTypeRoundTrip) {
  std::vector<Attribute> in = every_kind_of_value();
  std::string packed;
  store::pack_attributes(in, packed);
  std::vector<Attribute> out;
  Error e = store::unpack_attributes(packed, &out);
  ASSERT_FALSE(e) << e.message;
  expect_same(out, in);
}

// Keys of the dictionary take one byte; others are spelled out after a 0.
TEST(Packed, DictionaryKeysAreCodesAndOthersAreSpelled) {
  std::vector<Attribute> in = {
      {std::string(attr::kRequestModel), std::string("gpt-4o")},
      {"app.tenant", std::string("t1")},
      {std::string(attr::kInputTokens), int64_t{12}},
      // A key that only starts like one of the dictionary's.
      {std::string(attr::kRequestModel) + "x", true},
  };
  std::string packed;
  store::pack_attributes(in, packed);
  size_t model = 0;
  while (store::packed_key(model) != attr::kRequestModel) ASSERT_LT(++model, 200u);
  std::string want("\x02\x04", 2);
  want += static_cast<char>(model);
  want += std::string("\x01\x06gpt-4o", 8);
  want += std::string(
      "\x00\x0a"
      "app.tenant"
      "\x01\x02t1",
      16);
  EXPECT_EQ(packed.substr(0, want.size()), want);
  std::vector<Attribute> out;
  Error e = store::unpack_attributes(packed, &out);
  ASSERT_FALSE(e) << e.message;
  expect_same(out, in);
}

// Values written before the dictionary (format 1: every key spelled) still
// read, and what reads back the same packs in the current format.
TEST(Packed, FormatOneStillReads) {
  const std::string v1("\x01\x02\x14gen_ai.request.model\x01\x06gpt-4o\x01k\x03\x04", 35);
  std::vector<Attribute> out;
  Error e = store::unpack_attributes(v1, &out);
  ASSERT_FALSE(e) << e.message;
  expect_same(out, {{std::string(attr::kRequestModel), std::string("gpt-4o")}, {"k", int64_t{2}}});
  std::vector<SpanEvent> events;
  e = store::unpack_events(std::string("\x01\x01\x09"
                                       "exception\x05\x00\x01\x01k\x02\x01",
                                       19),
                           &events);
  ASSERT_FALSE(e) << e.message;
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].name, "exception");
  EXPECT_EQ(events[0].time_unix_nano, 5u);
  expect_same(events[0].attributes, {{"k", true}});
}

// Stored values refer to the dictionary by position: an entry changed,
// removed or moved would make existing files read differently. Only new keys
// appended at the end (and this test's figures updated) are allowed.
TEST(Packed, KeyDictionaryIsAppendOnly) {
  uint64_t hash = 14695981039346656037ULL;  // FNV-1a over "key\0" for each code
  std::vector<std::string_view> seen;
  for (size_t code = 1; code <= store::packed_key_count(); ++code) {
    std::string_view key = store::packed_key(code);
    ASSERT_FALSE(key.empty()) << code;
    for (std::string_view k : seen) ASSERT_NE(k, key) << "twice: " << key;
    seen.push_back(key);
    for (char c : key) hash = (hash ^ static_cast<unsigned char>(c)) * 1099511628211ULL;
    hash = hash * 1099511628211ULL;
  }
  EXPECT_TRUE(store::packed_key(0).empty());
  EXPECT_TRUE(store::packed_key(store::packed_key_count() + 1).empty());
  EXPECT_EQ(store::packed_key(1), attr::kOperationName);
  EXPECT_EQ(store::packed_key_count(), 115u);
  EXPECT_EQ(hash, 17194315415267929341ULL);
}

TEST(Packed, EventsAndLinksRoundTrip) {
  SpanEvent ev;
  ev.name = "exception";
  ev.time_unix_nano = std::numeric_limits<uint64_t>::max();
  ev.dropped_attributes_count = std::numeric_limits<uint32_t>::max();
  ev.attributes = every_kind_of_value();
  SpanEvent bare;  // no name, no attributes
  std::string packed;
  store::pack_events({ev, bare}, packed);
  std::vector<SpanEvent> events;
  Error e = store::unpack_events(packed, &events);
  ASSERT_FALSE(e) << e.message;
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].name, ev.name);
  EXPECT_EQ(events[0].time_unix_nano, ev.time_unix_nano);
  EXPECT_EQ(events[0].dropped_attributes_count, ev.dropped_attributes_count);
  expect_same(events[0].attributes, ev.attributes);
  EXPECT_EQ(events[1].name, "");
  EXPECT_TRUE(events[1].attributes.empty());

  SpanLink link;
  for (size_t i = 0; i < 16; ++i) link.trace_id.bytes[i] = static_cast<uint8_t>(0xf0 + i);
  for (size_t i = 0; i < 8; ++i) link.span_id.bytes[i] = static_cast<uint8_t>(i);
  link.trace_state = "k=v,x=y";
  link.flags = 0x301;
  link.dropped_attributes_count = 5;
  link.attributes = {{"link.kind", std::string("follows")}};
  store::pack_links({link, SpanLink{}}, packed);
  std::vector<SpanLink> links;
  e = store::unpack_links(packed, &links);
  ASSERT_FALSE(e) << e.message;
  ASSERT_EQ(links.size(), 2u);
  EXPECT_EQ(links[0].trace_id, link.trace_id);
  EXPECT_EQ(links[0].span_id, link.span_id);
  EXPECT_EQ(links[0].trace_state, link.trace_state);
  EXPECT_EQ(links[0].flags, link.flags);
  EXPECT_EQ(links[0].dropped_attributes_count, 5u);
  expect_same(links[0].attributes, link.attributes);
  EXPECT_FALSE(links[1].trace_id.valid());
}

TEST(Packed, EmptyInputIsAnEmptyList) {
  std::vector<Attribute> attrs;
  EXPECT_FALSE(store::unpack_attributes({}, &attrs));
  EXPECT_TRUE(attrs.empty());
  std::vector<SpanEvent> events;
  EXPECT_FALSE(store::unpack_events({}, &events));
  std::vector<SpanLink> links;
  EXPECT_FALSE(store::unpack_links({}, &links));
}

// Every truncation and a set of damaged bytes give an io_error naming the
// problem, never a crash (the sanitizer builds check the "never").
TEST(Packed, DamagedValuesAreErrors) {
  std::vector<Attribute> in;
  for (Attribute& a : every_kind_of_value()) {
    // Keeps the loop below short.
    if (a.key != "string.long" && a.key != "ints.long") in.push_back(std::move(a));
  }
  std::string packed;
  store::pack_attributes(in, packed);
  for (size_t n = 1; n < packed.size(); ++n) {
    std::vector<Attribute> out;
    Error e = store::unpack_attributes(std::string_view(packed.data(), n), &out);
    ASSERT_TRUE(e) << "truncated to " << n;
    EXPECT_EQ(e.code, Error::io_error);
    EXPECT_NE(e.message.find("corrupt packed attributes"), std::string::npos) << e.message;
  }
  struct Case {
    std::string data;
    const char* says;
  };
  const Case cases[] = {
      {std::string("\x03\x00", 3), "unknown format 3"},
      {std::string("\x02\x01\x7f\x01\x00", 5), "unknown key code 127"},
      {std::string("\x02\x01\x00\x05k", 5), "string length 5 exceeds"},
      {std::string("\x01\x01\x01k\x09", 5), "unknown value type 9"},
      {std::string("\x01\x01\x01k\x02\x07", 6), "bool value 7"},
      {std::string("\x01\xff\xff\xff\xff\x0f", 6), "count 4294967295 exceeds"},
      {std::string("\x01\x01\x05k", 4), "string length 5 exceeds"},
      {std::string("\x01\x01\x01k\x03\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 16),
       "varint longer than 10 bytes"},
      {std::string("\x01\x00\x00", 3), "1 trailing bytes"},
      {std::string("\x01\x01\x01k\x08\xff\xff\xff\xff\x0f", 10), "count 4294967295 exceeds"},
  };
  for (const Case& c : cases) {
    std::vector<Attribute> out;
    Error e = store::unpack_attributes(c.data, &out);
    ASSERT_TRUE(e) << c.says;
    EXPECT_NE(e.message.find(c.says), std::string::npos) << e.message;
  }
  std::vector<SpanEvent> events;
  Error e = store::unpack_events(std::string("\x01\x01\x00", 3), &events);
  EXPECT_NE(e.message.find("corrupt packed events"), std::string::npos) << e.message;
  std::vector<SpanLink> links;
  e = store::unpack_links(std::string("\x01\x01", 2) + std::string(24, '\0') + "\x05", &links);
  EXPECT_NE(e.message.find("corrupt packed links"), std::string::npos) << e.message;
}

TEST(Packed, EveryValueTypeRoundTripsThroughTheStore) {
  TempDir dir;
  auto store = Store::open(dir.file("a.db"));
  ASSERT_TRUE(store);
  SpanData s;
  s.trace_id.bytes[0] = 1;
  s.span_id.bytes[0] = 2;
  s.name = "all types";
  s.attributes = every_kind_of_value();
  SpanEvent ev;
  ev.name = "e";
  ev.attributes = every_kind_of_value();
  s.events.push_back(ev);
  ASSERT_FALSE((*store)->insert(std::vector<SpanData>{s}));
  auto out = (*store)->load_trace(s.trace_id.hex());
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 1u);
  // The packed format holds any bytes, but text enters the store as valid
  // UTF-8: the binary strings come back repaired, everything else as it was.
  SpanData expected = s;
  EXPECT_GT(utf8::repair(expected), 0u);
  expect_same((*out)[0].attributes, expected.attributes);
  ASSERT_EQ((*out)[0].events.size(), 1u);
  expect_same((*out)[0].events[0].attributes, expected.events[0].attributes);
}

TEST(Packed, ADamagedRowFailsTheReadWithAClearError) {
  TempDir dir;
  std::string path = dir.file("a.db");
  auto store = Store::open(path);
  ASSERT_TRUE(store);
  SpanData s;
  s.trace_id.bytes[0] = 1;
  s.span_id.bytes[0] = 2;
  s.name = "chat";
  s.attributes = {{std::string(attr::kConversationId), std::string("c1")},
                  {std::string(attr::kInputMessages), std::string("hi")}};
  ASSERT_FALSE((*store)->insert(std::vector<SpanData>{s}));

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "UPDATE spans SET attributes = x'0102016b09'", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);

  auto trace = (*store)->load_trace(s.trace_id.hex());
  ASSERT_FALSE(trace);
  EXPECT_EQ(trace.error().code, Error::io_error);
  EXPECT_NE(trace.error().message.find("corrupt packed attributes"), std::string::npos)
      << trace.error().message;
  EXPECT_NE(trace.error().message.find(s.span_id.hex()), std::string::npos)
      << trace.error().message;
  auto conv = (*store)->conversation("c1");
  ASSERT_FALSE(conv);
  EXPECT_EQ(conv.error().code, Error::io_error);
  EXPECT_NE(conv.error().message.find("corrupt packed attributes"), std::string::npos)
      << conv.error().message;
}

}  // namespace
}  // namespace convtrace
