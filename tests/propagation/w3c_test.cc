// The W3C header formats on their own: traceparent, tracestate, baggage.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "convtrace/diagnostics.h"
#include "convtrace/propagation.h"

namespace convtrace {
namespace {

constexpr const char* kTrace = "4bf92f3577b34da6a3ce929d0e0e4736";
constexpr const char* kSpan = "00f067aa0ba902b7";

std::string tp(const std::string& version, const std::string& trace, const std::string& span,
               const std::string& flags) {
  return version + "-" + trace + "-" + span + "-" + flags;
}

TEST(Traceparent, ParsesAValidHeader) {
  SpanContext sc;
  ASSERT_TRUE(parse_traceparent(tp("00", kTrace, kSpan, "01"), &sc));
  EXPECT_EQ(sc.trace_id.hex(), kTrace);
  EXPECT_EQ(sc.span_id.hex(), kSpan);
  EXPECT_TRUE(sc.sampled());
  EXPECT_TRUE(sc.remote);
  ASSERT_TRUE(parse_traceparent(" " + tp("00", kTrace, kSpan, "00") + "\t", &sc));
  EXPECT_FALSE(sc.sampled());
}

TEST(Traceparent, RoundTrips) {
  SpanContext sc;
  ASSERT_TRUE(parse_traceparent(tp("00", kTrace, kSpan, "01"), &sc));
  EXPECT_EQ(format_traceparent(sc), tp("00", kTrace, kSpan, "01"));
  sc.flags = 0;
  EXPECT_EQ(format_traceparent(sc), tp("00", kTrace, kSpan, "00"));
  EXPECT_EQ(format_traceparent(SpanContext{}), "");
}

TEST(Traceparent, InvalidInputsAreIgnored) {
  const std::string zeros32(32, '0'), zeros16(16, '0');
  const std::vector<std::string> invalid = {
      "",
      "garbage",
      tp("00", kTrace, kSpan, "0"),                               // too short
      tp("00", kTrace, kSpan, "01") + "-extra",                   // version 00 with more data
      tp("00", kTrace, kSpan, "01") + "0",                        // version 00, wrong length
      tp("ff", kTrace, kSpan, "01"),                              // forbidden version
      tp("0g", kTrace, kSpan, "01"),                              // non-hex version
      tp("00", zeros32, kSpan, "01"),                             // all-zero trace id
      tp("00", kTrace, zeros16, "01"),                            // all-zero span id
      tp("00", "4BF92F3577B34DA6A3CE929D0E0E4736", kSpan, "01"),  // uppercase
      tp("00", kTrace, "00F067AA0BA902B7", "01"),
      tp("00", kTrace, kSpan, "0X"),
      tp("00", "4bf92f3577b34da6a3ce929d0e0e473", kSpan, "01") + "6",  // misplaced dash
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",
      tp("01", kTrace, kSpan, "01") + "x",  // future version: extra data must follow '-'
      tp("00", "4bf92f3577b34da6a3ce929d0e0e473z", kSpan, "01"),
  };
  for (const std::string& header : invalid) {
    SCOPED_TRACE(header);
    SpanContext sc;
    sc.flags = 0x42;
    EXPECT_FALSE(parse_traceparent(header, &sc));
    EXPECT_EQ(sc.flags, 0x42);  // untouched
  }
}

TEST(Traceparent, FutureVersionsAreReadByTheirPrefix) {
  SpanContext sc;
  ASSERT_TRUE(parse_traceparent(tp("01", kTrace, kSpan, "01"), &sc));
  EXPECT_EQ(sc.trace_id.hex(), kTrace);
  ASSERT_TRUE(parse_traceparent(tp("cc", kTrace, kSpan, "09") + "-what-the-future-holds", &sc));
  EXPECT_EQ(sc.span_id.hex(), kSpan);
  EXPECT_TRUE(sc.sampled());
  // Re-injected as version 00 with only the sampled flag.
  EXPECT_EQ(format_traceparent(sc), tp("00", kTrace, kSpan, "01"));
}

TEST(Tracestate, KeepsValidMembersInOrder) {
  EXPECT_EQ(normalize_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(normalize_tracestate(" a=1 ,\t, b=2 "), "a=1,b=2");
  EXPECT_EQ(normalize_tracestate("tenant@vendor=x,0tenant@v=y"), "tenant@vendor=x,0tenant@v=y");
  EXPECT_EQ(normalize_tracestate(""), "");
}

TEST(Tracestate, DropsInvalidAndRepeatedMembers) {
  EXPECT_EQ(normalize_tracestate("Upper=1,ok=2"), "ok=2");               // uppercase key
  EXPECT_EQ(normalize_tracestate("a=1,a=2"), "a=1");                     // repeated key
  EXPECT_EQ(normalize_tracestate("novalue,b=,c=3"), "c=3");              // missing value
  EXPECT_EQ(normalize_tracestate("d=x=y,e=ok"), "e=ok");                 // '=' in value
  EXPECT_EQ(normalize_tracestate("f=trailing ,g=1"), "f=trailing,g=1");  // OWS trimmed
  EXPECT_EQ(normalize_tracestate("1abc=1,h=1"), "h=1");                  // must start lcalpha
  EXPECT_EQ(normalize_tracestate("t@Sys=1,i=1"), "i=1");
  EXPECT_EQ(normalize_tracestate("j=" + std::string(257, 'v') + ",k=1"), "k=1");
}

TEST(Tracestate, KeepsAtMost32Members) {
  std::string in;
  for (int i = 0; i < 40; ++i) in += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  std::string out = normalize_tracestate(in);
  size_t members = 1;
  for (char c : out) members += c == ',';
  EXPECT_EQ(members, 32u);
  EXPECT_EQ(out.substr(0, 9), "k0=v,k1=v");
  EXPECT_NE(out.find("k31=v"), std::string::npos);
  EXPECT_EQ(out.find("k32=v"), std::string::npos);
}

TEST(Baggage, ParsesWhitespacePropertiesAndEncoding) {
  auto entries = parse_baggage(
      " userId = alice ,serverNode=DF%2028;region = us-east ; flag ,isProduction=false,"
      "name=caf%C3%A9%20%E2%9C%93");
  ASSERT_EQ(entries.size(), 4u);
  EXPECT_EQ(entries[0].key, "userId");
  EXPECT_EQ(entries[0].value, "alice");
  EXPECT_EQ(entries[1].value, "DF 28");
  EXPECT_EQ(entries[1].properties, "region=us-east;flag");
  EXPECT_EQ(entries[2].value, "false");
  EXPECT_EQ(entries[3].value, "caf\xC3\xA9 \xE2\x9C\x93");
}

TEST(Baggage, MalformedEntriesAreLeftOutAndTheRestKept) {
  auto entries = parse_baggage("a=1,noequals,=empty,b c=2,d=%zz,e=%4,f=ok;bad prop;p=1,g=%FF");
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].key, "a");
  EXPECT_EQ(entries[1].key, "f");
  EXPECT_EQ(entries[1].properties, "p=1");  // the invalid property is dropped, not the entry
  EXPECT_EQ(entries[2].key, "g");
  EXPECT_EQ(entries[2].value, "\xEF\xBF\xBD");  // invalid UTF-8 → U+FFFD
}

TEST(Baggage, EmptyValueIsAValue) {
  auto entries = parse_baggage("k=,j=1");
  ASSERT_EQ(entries.size(), 2u);
  EXPECT_EQ(entries[0].value, "");
}

TEST(Baggage, HardValuesRoundTrip) {
  const std::vector<std::string> values = {"with spaces",
                                           "a,b,c",
                                           "semi;colon",
                                           "x=y=z",
                                           "100%",
                                           "%20 literal",
                                           "caf\xC3\xA9",
                                           "\xE6\x97\xA5\xE6\x9C\xAC\xE8\xAA\x9E",
                                           "quote\"back\\slash",
                                           "\t tab",
                                           "emoji \xF0\x9F\x98\x80",
                                           "",
                                           "+plus+",
                                           "trailing space "};
  std::vector<BaggageEntry> in;
  for (size_t i = 0; i < values.size(); ++i) {
    in.push_back({"k" + std::to_string(i), values[i], {}});
  }
  std::string header = format_baggage(in);
  EXPECT_EQ(header.find(' '), std::string::npos) << header;
  auto out = parse_baggage(header);
  ASSERT_EQ(out.size(), in.size()) << header;
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].key, in[i].key);
    EXPECT_EQ(out[i].value, in[i].value) << header;
  }
}

TEST(Baggage, FormatLeavesOutInvalidKeysWhole) {
  TEST_reset_warnings();
  std::string header =
      format_baggage({{"ok", "1", {}}, {"bad key", "2", {}}, {"", "3", {}}, {"p", "4", "a=1"}});
  EXPECT_EQ(header, "ok=1,p=4;a=1");
  EXPECT_EQ(warning_count("baggage_dropped"), 1u);
}

TEST(Baggage, WriteLimitOf180EntriesLeavesTheRestOutWhole) {
  std::vector<BaggageEntry> in;
  for (int i = 0; i < 200; ++i) in.push_back({"k" + std::to_string(i), "v", {}});
  auto out = parse_baggage(format_baggage(in));
  ASSERT_EQ(out.size(), kBaggageMaxEntries);
  EXPECT_EQ(out.back().key, "k179");
}

TEST(Baggage, WriteLimitOf8192BytesNeverCutsAnEntry) {
  // 3 entries of ~3000 bytes: the third would pass 8192 and is left out whole;
  // a small one after it still fits.
  std::vector<BaggageEntry> in = {{"a", std::string(3000, 'x'), {}},
                                  {"b", std::string(3000, 'y'), {}},
                                  {"c", std::string(3000, 'z'), {}},
                                  {"d", "small", {}}};
  std::string header = format_baggage(in);
  EXPECT_LE(header.size(), kBaggageMaxBytes);
  auto out = parse_baggage(header);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[0].value.size(), 3000u);
  EXPECT_EQ(out[1].value.size(), 3000u);
  EXPECT_EQ(out[2].key, "d");

  // Encoding counts: 2000 spaces become 6000 bytes on the wire.
  std::string header2 =
      format_baggage({{"s", std::string(2000, ' '), {}}, {"t", std::string(2000, ' '), {}}});
  auto out2 = parse_baggage(header2);
  ASSERT_EQ(out2.size(), 1u);
  EXPECT_EQ(out2[0].value, std::string(2000, ' '));
}

TEST(Baggage, ExactlyAtTheByteLimitIsKept) {
  // "k=" + 8190 bytes = 8192 bytes exactly.
  std::string header = format_baggage({{"k", std::string(8190, 'v'), {}}});
  EXPECT_EQ(header.size(), 8192u);
  EXPECT_EQ(parse_baggage(header).size(), 1u);
  EXPECT_EQ(format_baggage({{"k", std::string(8191, 'v'), {}}}), "");
}

TEST(Baggage, ReadLimitsLeaveEntriesOutWhole) {
  std::string many;
  for (int i = 0; i < 250; ++i)
    many += (i ? "," : "") + std::string("k") + std::to_string(i) + "=v";
  auto entries = parse_baggage(many);
  ASSERT_EQ(entries.size(), kBaggageMaxEntries);
  EXPECT_EQ(entries.back().key, "k179");

  std::string big = "a=" + std::string(5000, 'x') + ",b=" + std::string(5000, 'y') + ",c=1";
  auto kept = parse_baggage(big);
  ASSERT_EQ(kept.size(), 2u);
  EXPECT_EQ(kept[0].value.size(), 5000u);
  EXPECT_EQ(kept[1].key, "c");
}

}  // namespace
}  // namespace convtrace
