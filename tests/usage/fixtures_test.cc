// Every recorded provider response against the numbers in EXPECTED.json.
// Bodies go through extract_usage; .sse/.jsonl streams through
// StreamAccumulator, whole and split at every byte boundary pattern we try.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "convtrace/usage.h"

namespace convtrace {
namespace {

const std::string kDir = std::string(CONVTRACE_TEST_FIXTURES) + "/provider-responses/";

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const nlohmann::json& expected_table() {
  static const nlohmann::json table = nlohmann::json::parse(read_file(kDir + "EXPECTED.json"));
  return table;
}

std::vector<std::string> fixture_names() {
  std::vector<std::string> names;
  for (const auto& [key, value] : expected_table().items()) {
    if (key.front() != '_') names.push_back(key);
  }
  return names;
}

bool is_stream(const std::string& name) {
  return name.size() > 4 && (name.substr(name.size() - 4) == ".sse" ||
                             (name.size() > 6 && name.substr(name.size() - 6) == ".jsonl"));
}

std::optional<int64_t> expected_count(const nlohmann::json& expect, const char* key) {
  const auto& v = expect.at(key);
  if (v.is_null()) return std::nullopt;
  return v.get<int64_t>();
}

void check(const Expected<Usage>& got, const nlohmann::json& expect) {
  const bool none = expect.at("input").is_null() && expect.at("output").is_null();
  if (none) {
    ASSERT_FALSE(got.has_value());
    EXPECT_EQ(got.error().code, Error::not_found) << got.error().message;
    return;
  }
  ASSERT_TRUE(got.has_value()) << got.error().message;
  EXPECT_EQ(got->input_tokens, expected_count(expect, "input"));
  EXPECT_EQ(got->output_tokens, expected_count(expect, "output"));
  EXPECT_EQ(got->cache_read_tokens, expected_count(expect, "cache_read"));
  EXPECT_EQ(got->cache_write_tokens, expected_count(expect, "cache_write"));
  EXPECT_EQ(got->reasoning_tokens, expected_count(expect, "reasoning"));
  EXPECT_FALSE(got->provider.empty());
  EXPECT_FALSE(validate(*got));
}

class FixtureTest : public ::testing::TestWithParam<std::string> {};

TEST_P(FixtureTest, MatchesExpected) {
  const std::string& name = GetParam();
  const std::string body = read_file(kDir + name);
  ASSERT_FALSE(body.empty()) << name;
  const auto& expect = expected_table().at(name).at("expect");
  if (!is_stream(name)) {
    check(extract_usage(body), expect);
    return;
  }
  {
    StreamAccumulator acc;
    acc.feed(body);
    check(acc.finish(), expect);
    EXPECT_EQ(acc.bad_chunks(), 0u);
    EXPECT_TRUE(acc.time_to_first_chunk().has_value());
  }
  for (size_t step : {1u, 2u, 3u, 7u, 64u, 1000u}) {
    SCOPED_TRACE("split every " + std::to_string(step) + " bytes");
    StreamAccumulator acc;
    for (size_t i = 0; i < body.size(); i += step) acc.feed(std::string_view(body).substr(i, step));
    check(acc.finish(), expect);
    EXPECT_EQ(acc.bad_chunks(), 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(ProviderResponses, FixtureTest, ::testing::ValuesIn(fixture_names()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string id = info.param;
                           for (char& ch : id) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return id;
                         });

// A fixture added to the directory without an EXPECTED entry would go untested.
TEST(FixtureTable, CoversEveryFixtureFile) {
  const auto names = fixture_names();
  int files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(kDir)) {
    const std::string file = entry.path().filename().string();
    if (file == "EXPECTED.json" || file == "README.md") continue;
    ++files;
    EXPECT_NE(std::find(names.begin(), names.end(), file), names.end()) << file;
  }
  EXPECT_EQ(files, static_cast<int>(names.size()));
  EXPECT_GE(files, 26);
}

}  // namespace
}  // namespace convtrace
