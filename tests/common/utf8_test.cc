// The UTF-8 rule: valid text kept byte for byte, each maximal subpart of an
// ill-formed sequence replaced by one U+FFFD, checked against the Unicode
// Standard's examples and an independent decoder on random bytes.
#include "common/utf8.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "convtrace/diagnostics.h"

namespace convtrace::utf8 {
namespace {

const std::string R(kReplacement);

struct Case {
  std::string in;
  std::string out;
};

TEST(Utf8, ReplacesEachMaximalSubpartOnce) {
  const std::vector<Case> cases = {
      // The Unicode Standard's example of maximal subparts (§3.9, "U+FFFD
      // Substitution of Maximal Subparts"): 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
      {"\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64",
       "a" + R + R + R + "b" + R + "c" + R + R + "d"},
      {"\xC0\xAF", R + R},                  // overlong '/': C0 is never a lead
      {"\xE0\x80\xAF", R + R + R},          // overlong: E0 needs A0..BF next
      {"\xED\xA0\x80", R + R + R},          // a surrogate (U+D800)
      {"\xF4\x90\x80\x80", R + R + R + R},  // past U+10FFFF
      {"\xF5\x80", R + R},                  // F5..FF are never leads
      {"\xFF\xFE", R + R},
      {"conv-\xff\xfe-x", "conv-" + R + R + "-x"},
      {"\xE2\x82", R},  // truncated at the end: one
      {"\xE2\x82x", R + "x"},
      {"\xF0\x9F\x98", R},  // truncated emoji
      {"\xF0\x9F\x98"
       "a\xF0\x9F\x98\x80",
       R + "a\xF0\x9F\x98\x80"},
      {std::string("\x80", 1), R},
      {std::string("a\0b", 3), std::string("a\0b", 3)},  // NUL is valid UTF-8
  };
  for (const Case& c : cases) {
    EXPECT_EQ(valid(c.in), c.in == c.out);
    EXPECT_EQ(repaired(c.in), c.out);
    EXPECT_TRUE(valid(c.out));
  }
}

TEST(Utf8, KeepsValidTextByteForByte) {
  const std::vector<std::string> texts = {
      "",
      "plain ascii, longer than eight bytes at a time",
      "\x7F",
      "\xC2\x80",          // U+0080
      "\xDF\xBF",          // U+07FF
      "\xE0\xA0\x80",      // U+0800
      "\xED\x9F\xBF",      // U+D7FF, just below the surrogates
      "\xEE\x80\x80",      // U+E000, just above them
      "\xEF\xBF\xBF",      // U+FFFF
      "\xF0\x90\x80\x80",  // U+10000
      "\xF4\x8F\xBF\xBF",  // U+10FFFF
      "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80 \xE6\x97\xA5\xE6\x9C\xAC",
      R,
  };
  for (const std::string& t : texts) {
    EXPECT_TRUE(valid(t)) << t;
    EXPECT_EQ(repaired(t), t);
  }
}

TEST(Utf8, TheAsciiCheckSeesEveryByteOfEveryLength) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string s(n, 'a');
    EXPECT_TRUE(is_ascii(s.data(), n)) << n;
    for (size_t at = 0; at < n; ++at) {
      s[at] = '\x80';
      EXPECT_FALSE(is_ascii(s.data(), n)) << n << " " << at;
      EXPECT_FALSE(valid(s)) << n << " " << at;
      s[at] = 'a';
    }
  }
}

TEST(Utf8, FindsABadByteAtEveryOffsetOfTheAsciiFastPath) {
  for (size_t at = 0; at < 40; ++at) {
    std::string s(40, 'a');
    s[at] = '\xFF';
    EXPECT_FALSE(valid(s)) << at;
    std::string fixed = repaired(s);
    EXPECT_EQ(fixed.size(), 42u);
    EXPECT_EQ(fixed.substr(at, 3), R);
    EXPECT_EQ(ascii_prefix(s.data(), s.size()), at);
  }
}

// An independent reference: the prefixes of every well-formed multi-byte
// sequence, found by encoding every code point, and a decoder that checks a
// complete sequence by decoding its bit pattern and encoding it again.
class Reference {
 public:
  Reference() : prefix_(size_t{4} << 24) {
    for (uint32_t cp = 0x80; cp <= 0x10FFFF; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      unsigned char b[4];
      size_t len = encode(cp, b);
      uint32_t packed = 0;
      for (size_t n = 1; n < len; ++n) {
        packed = packed << 8 | b[n - 1];
        prefix_[n << 24 | packed] = true;
      }
    }
  }

  std::string repair(const std::string& s) const {
    std::string out;
    size_t i = 0;
    while (i < s.size()) {
      if (static_cast<unsigned char>(s[i]) < 0x80) {
        out += s[i++];
        continue;
      }
      if (size_t len = complete(s, i)) {
        out.append(s, i, len);
        i += len;
        continue;
      }
      size_t longest = 1;  // the longest prefix of a well-formed sequence, at least one byte
      for (size_t n = 1; n <= 3 && i + n <= s.size(); ++n) {
        uint32_t packed = 0;
        for (size_t k = 0; k < n; ++k) packed = packed << 8 | static_cast<unsigned char>(s[i + k]);
        if (prefix_[n << 24 | packed]) longest = n;
      }
      out += R;
      i += longest;
    }
    return out;
  }

 private:
  static size_t encode(uint32_t cp, unsigned char* b) {
    if (cp < 0x800) {
      b[0] = static_cast<unsigned char>(0xC0 | cp >> 6);
      b[1] = static_cast<unsigned char>(0x80 | (cp & 0x3F));
      return 2;
    }
    if (cp < 0x10000) {
      b[0] = static_cast<unsigned char>(0xE0 | cp >> 12);
      b[1] = static_cast<unsigned char>(0x80 | (cp >> 6 & 0x3F));
      b[2] = static_cast<unsigned char>(0x80 | (cp & 0x3F));
      return 3;
    }
    b[0] = static_cast<unsigned char>(0xF0 | cp >> 18);
    b[1] = static_cast<unsigned char>(0x80 | (cp >> 12 & 0x3F));
    b[2] = static_cast<unsigned char>(0x80 | (cp >> 6 & 0x3F));
    b[3] = static_cast<unsigned char>(0x80 | (cp & 0x3F));
    return 4;
  }

  // The length of a complete well-formed sequence at s[i], or 0.
  static size_t complete(const std::string& s, size_t i) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t len = (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
    if (len == 0 || i + len > s.size()) return 0;
    uint32_t cp = c & (0x7F >> len);
    for (size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return 0;
      cp = cp << 6 | (cc & 0x3F);
    }
    if (cp < 0x80 || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    unsigned char again[4];
    if (encode(cp, again) != len) return 0;  // an overlong form
    return len;
  }

  std::vector<bool> prefix_;  // (length << 24 | bytes) of proper prefixes
};

TEST(Utf8, RandomBytesMatchAnIndependentDecoder) {
  const Reference reference;
  std::mt19937 rng(18);
  // Biased toward bytes that start or continue sequences, where mistakes hide.
  const unsigned char interesting[] = {0x00, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
                                       0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE,
                                       0xEF, 0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
  for (int round = 0; round < 3000; ++round) {
    std::string s(rng() % 24, '\0');
    for (char& c : s) {
      c = static_cast<char>(rng() % 2 ? interesting[rng() % sizeof interesting] : rng() % 256);
    }
    const std::string fixed = repaired(s);
    ASSERT_TRUE(valid(fixed));
    ASSERT_EQ(fixed, reference.repair(s)) << "round " << round;
    ASSERT_EQ(repaired(fixed), fixed);  // idempotent
    ASSERT_EQ(valid(s), fixed == s);
  }
}

TEST(Utf8, CutPointNeverSplitsACharacter) {
  const std::string s = "ab\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80z";  // a b é € 😀 z
  const size_t expected[] = {0, 1, 2, 2, 4, 4, 4, 7, 7, 7, 7, 11, 12};
  for (size_t max = 0; max <= s.size(); ++max) {
    EXPECT_EQ(cut_point(s, max), expected[max]) << max;
    EXPECT_TRUE(valid(s.substr(0, cut_point(s, max))));
  }
  EXPECT_EQ(cut_point(s, 100), s.size());
}

TEST(Utf8, RepairCountsOneWarningPerRepairedText) {
  TEST_reset_warnings();
  std::string ok = "fine";
  EXPECT_EQ(repair(ok, "a test"), 0u);
  std::string bad = "a\xFF\xFE";
  EXPECT_EQ(repair(bad, "a test"), 2u);
  EXPECT_EQ(bad, "a" + R + R);
  EXPECT_EQ(warning_count(kWarning), 1u);
  std::string into;
  assign(into, "x\xC3", "a test");
  EXPECT_EQ(into, "x" + R);
  EXPECT_EQ(warning_count(kWarning), 2u);
}

TEST(Utf8, RepairsEveryStringOfASpan) {
  SpanData s;
  s.name = "n\xFF";
  s.trace_state = "k=v";
  s.status.description = "d\xFF";
  s.attributes = {{"k\xFF", std::string("v\xFF")},
                  {"list", std::vector<std::string>{"ok", "x\xE2\x82"}},
                  {"n", int64_t{1}}};
  s.events.push_back(SpanEvent{"e\xFF", 1, {{"ek", std::string("\xC0")}}, 0});
  s.links.push_back(SpanLink{});
  s.links.back().attributes = {{"lk", std::string("\xF5")}};
  auto resource = std::make_shared<Resource>();
  resource->attributes = {{"service.name", std::string("svc\xFF")}};
  s.resource = resource;
  s.scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"sc\xFF", "1"});
  EXPECT_FALSE(valid(s));
  EXPECT_EQ(repair(s), 10u);
  EXPECT_TRUE(valid(s));
  EXPECT_EQ(s.attributes[0].key, "k" + R);
  EXPECT_EQ(std::get<std::string>(s.attributes[0].value), "v" + R);
  EXPECT_EQ(std::get<std::vector<std::string>>(s.attributes[1].value)[1], "x" + R);
  EXPECT_EQ(s.scope->name, "sc" + R);
  // The shared originals are not touched: other spans may hold them.
  EXPECT_EQ(resource->attributes[0].value, AttributeValue(std::string("svc\xFF")));
  EXPECT_EQ(repair(s), 0u);
}

}  // namespace
}  // namespace convtrace::utf8
