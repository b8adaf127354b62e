#include "genai/content.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace convtrace {
namespace {

const char* kDocuments[] = {
    R"([{"role":"system","content":"You are helpful."},{"role":"user","content":"Tell me about caf\u00e9s in Z\u00fcrich, \"quoted\" and \\ slashed"}])",
    R"({"messages":[{"role":"user","content":"héllo wörld ✓ 日本語"}],"n":2,"stop":null,"flag":true})",
    R"([1, 2, 3, [4, [5, {"a": [6, 7]}]], "end"])",
    R"(  {"a":{"b":{"c":{"d":"deep value here"}}},"e":[]}  )",
};

TEST(TruncateContent, JsonStaysValidAtEveryLength) {
  for (const char* doc : kDocuments) {
    std::string text(doc);
    ASSERT_TRUE(nlohmann::json::accept(text)) << text;
    for (size_t max = 2; max <= text.size() + 1; ++max) {
      std::string cut = truncate_content(text, max);
      EXPECT_LE(cut.size(), max) << text << " @" << max;
      EXPECT_TRUE(nlohmann::json::accept(cut)) << "max=" << max << " -> " << cut;
    }
  }
}

TEST(TruncateContent, KeepsAsMuchOfAStringValueAsFits) {
  std::string doc = R"([{"role":"user","content":"abcdefghijklmnopqrstuvwxyz"}])";
  std::string cut = truncate_content(doc, 40);
  EXPECT_EQ(cut, R"([{"role":"user","content":"abcdefghij"}])");
}

TEST(TruncateContent, PlainTextNeverSplitsUtf8) {
  std::string text =
      "ab\xC3\xA9"
      "cd";  // "abécd"
  EXPECT_EQ(truncate_content(text, 3), "ab");
  EXPECT_EQ(truncate_content(text, 4), "ab\xC3\xA9");
  EXPECT_EQ(truncate_content("short", 100), "short");
}

TEST(TruncateContent, MalformedJsonFallsBackToByteCut) {
  EXPECT_EQ(truncate_content("[1, 2, 3", 4), "[1, ");
}

}  // namespace
}  // namespace convtrace
