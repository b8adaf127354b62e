// The Pricing catalog: the built-in data, look-up order, and the loader's
// validation (precise messages, all-or-nothing).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "convtrace/pricing.h"

namespace convtrace {
namespace {

TEST(BuiltinCatalog, LoadsWithCurrentModels) {
  const Pricing& p = Pricing::builtin();
  EXPECT_GE(p.size(), 40u);
  const ModelPrice* gpt4o = p.find("gpt-4o");
  ASSERT_NE(gpt4o, nullptr);
  EXPECT_EQ(gpt4o->base.input, 2'500'000);
  EXPECT_EQ(gpt4o->base.output, 10'000'000);
  EXPECT_EQ(gpt4o->base.cached_input, 1'250'000);
  EXPECT_EQ(gpt4o->provider, "openai");
  for (const char* model : {"gpt-4o-mini",
                            "gpt-4.1",
                            "gpt-4.1-mini",
                            "gpt-4.1-nano",
                            "o1",
                            "o3",
                            "o3-mini",
                            "o4-mini",
                            "gpt-5",
                            "gpt-5-mini",
                            "gpt-5-nano",
                            "claude-haiku-4-5",
                            "claude-sonnet-4-5",
                            "claude-opus-4-1",
                            "claude-3-7-sonnet",
                            "gemini-2.0-flash",
                            "gemini-2.5-flash",
                            "gemini-2.5-pro",
                            "mistral-large-latest",
                            "command-r",
                            "command-r-plus",
                            "command-a",
                            "amazon.nova-pro-v1:0",
                            "text-embedding-3-small",
                            "text-embedding-3-large",
                            "embed-english-v3.0",
                            "gemini-embedding-001"}) {
    EXPECT_NE(p.find(model), nullptr) << model;
  }
}

TEST(BuiltinCatalog, EveryEntryIsSourcedAndDated) {
  const std::set<std::string> providers = {"openai",      "anthropic",  "gcp.gemini",
                                           "aws.bedrock", "mistral_ai", "cohere"};
  const Pricing& p = Pricing::builtin();
  for (const std::string& key : p.models()) {
    const ModelPrice* entry = p.find(key);
    ASSERT_NE(entry, nullptr) << key;
    EXPECT_EQ(entry->model, key);
    EXPECT_EQ(providers.count(entry->provider), 1u) << key << " " << entry->provider;
    EXPECT_EQ(entry->checked, "2026-07-24") << key;
    EXPECT_NE(entry->source.find("list price, reference snapshot 2026-07-24"), std::string::npos)
        << key;
    EXPECT_GT(entry->base.input, 0) << key;
  }
}

TEST(BuiltinCatalog, LongContextTiers) {
  const ModelPrice* pro = Pricing::builtin().find("gemini-2.5-pro");
  ASSERT_NE(pro, nullptr);
  ASSERT_EQ(pro->tiers.size(), 1u);
  EXPECT_EQ(pro->tiers[0].above_input_tokens, 200'000);
  EXPECT_EQ(pro->tiers[0].prices.input, 2'500'000);
  EXPECT_EQ(pro->tiers[0].prices.output, 15'000'000);
  const ModelPrice* sonnet = Pricing::builtin().find("claude-sonnet-4-5");
  ASSERT_NE(sonnet, nullptr);
  EXPECT_EQ(sonnet->base.cache_write_1h, 6'000'000);
  ASSERT_EQ(sonnet->tiers.size(), 1u);
  EXPECT_EQ(sonnet->tiers[0].prices.cache_write_1h, 12'000'000);
}

struct Lookup {
  const char* query;
  const char* key;  // nullptr: unknown
};

class BuiltinLookup : public ::testing::TestWithParam<Lookup> {};

TEST_P(BuiltinLookup, ResolvesTo) {
  const ModelPrice* p = Pricing::builtin().find(GetParam().query);
  if (GetParam().key == nullptr) {
    EXPECT_EQ(p, nullptr) << p->model;
  } else {
    ASSERT_NE(p, nullptr) << GetParam().query;
    EXPECT_EQ(p->model, GetParam().key);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Queries, BuiltinLookup,
    ::testing::Values(Lookup{"gpt-4o", "gpt-4o"}, Lookup{"gpt-4o-2024-08-06", "gpt-4o"},
                      Lookup{"openai/GPT-4o", "gpt-4o"},
                      // An exact snapshot entry beats normalization: this one costs twice as much.
                      Lookup{"gpt-4o-2024-05-13", "gpt-4o-2024-05-13"},
                      Lookup{"o1-2024-12-17", "o1"}, Lookup{"gpt-5.4", "gpt-5.4"},
                      Lookup{"claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
                      Lookup{"anthropic/claude-sonnet-4-5-20250929", "claude-sonnet-4-5"},
                      Lookup{"us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                             "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
                      Lookup{"bedrock/us.anthropic.claude-sonnet-4-5-20250929-v1:0",
                             "us.anthropic.claude-sonnet-4-5-20250929-v1:0"},
                      Lookup{"eu.anthropic.claude-sonnet-4-5-20250929-v1:0", "claude-sonnet-4-5"},
                      Lookup{"claude-sonnet-4-5@20250929", "claude-sonnet-4-5"},
                      Lookup{"gemini-3-pro-preview", "gemini-3-pro-preview"},
                      Lookup{"models/gemini-2.0-flash-001", "gemini-2.0-flash"},
                      Lookup{"mistral-small-latest", "mistral-small-latest"},
                      Lookup{"command-a", "command-a-03-2025"},
                      Lookup{"text-embedding-ada-002", "text-embedding-ada-002"},
                      Lookup{"llama3.2", nullptr}, Lookup{"gpt-4o-mni", nullptr},
                      Lookup{"", nullptr}));

TEST(Pricing, SetAliasAndFind) {
  Pricing p;
  EXPECT_EQ(p.size(), 0u);
  p.set("acme-model", 1.0, 2.0, 0.5);
  p.alias("prod-deployment", "acme-model");
  const ModelPrice* m = p.find("prod-deployment");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->model, "acme-model");
  EXPECT_EQ(m->base.input, 1'000'000);
  EXPECT_EQ(m->base.output, 2'000'000);
  EXPECT_EQ(m->base.cached_input, 500'000);
  EXPECT_EQ(p.find("ACME-model-2025-01-01"), m);
  p.set("acme-model", 3.0, 4.0);
  EXPECT_EQ(p.find("acme-model")->base.input, 3'000'000);
  EXPECT_EQ(p.size(), 1u);
}

TEST(Pricing, ClosestSuggestsNearNames) {
  const auto names = Pricing::builtin().closest("gpt-4o-mni", 3);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[0], "gpt-4o-mini");
  EXPECT_TRUE(Pricing().closest("x").empty());
}

TEST(Pricing, ModelsAreSorted) {
  const auto models = Pricing::builtin().models();
  EXPECT_TRUE(std::is_sorted(models.begin(), models.end()));
  EXPECT_EQ(models.size(), Pricing::builtin().size());
}

constexpr const char* kGood = R"({"_doc": "test", "version": 1, "models": [
  {"model": "alpha", "provider": "openai", "input": 1.5, "output": 6, "cached_input": null,
   "tiers": [{"above_input_tokens": 1000, "output": 9}], "aliases": ["a1"],
   "checked": "2026-01-31", "source": "test"},
  {"model": "beta", "input": 0.25, "output": 1}]})";

TEST(LoadJson, MergesEntries) {
  Pricing p = Pricing::builtin();
  const size_t before = p.size();
  ASSERT_FALSE(p.load_json(kGood));
  EXPECT_EQ(p.size(), before + 2);
  const ModelPrice* alpha = p.find("a1");
  ASSERT_NE(alpha, nullptr);
  EXPECT_EQ(alpha->model, "alpha");
  EXPECT_EQ(alpha->base.input, 1'500'000);
  EXPECT_EQ(alpha->base.cached_input, std::nullopt);
  ASSERT_EQ(alpha->tiers.size(), 1u);
  EXPECT_EQ(alpha->tiers[0].prices.input, 1'500'000);  // missing in the tier: base figure
  EXPECT_EQ(alpha->tiers[0].prices.output, 9'000'000);
  EXPECT_EQ(alpha->checked, "2026-01-31");
  EXPECT_NE(p.find("gpt-4o"), nullptr);
}

TEST(LoadJson, ReplaceSwapsTheCatalog) {
  Pricing p = Pricing::builtin();
  ASSERT_FALSE(p.load_json(kGood, /*replace=*/true));
  EXPECT_EQ(p.size(), 2u);
  EXPECT_EQ(p.find("gpt-4o"), nullptr);
}

TEST(LoadJson, OverridesBuiltinPrice) {
  Pricing p = Pricing::builtin();
  ASSERT_FALSE(p.load_json(R"({"models": [{"model": "gpt-4o", "input": 2, "output": 8}]})"));
  EXPECT_EQ(p.find("gpt-4o-2024-08-06")->base.input, 2'000'000);
  EXPECT_EQ(p.find("gpt-4o")->base.cached_input, std::nullopt);
}

struct BadCatalog {
  const char* name;
  const char* json;
  Error::Code code;
  const char* message;
};

class LoadJsonErrors : public ::testing::TestWithParam<BadCatalog> {};

TEST_P(LoadJsonErrors, KeepsPreviousCatalogAndExplains) {
  Pricing p;
  ASSERT_FALSE(p.load_json(kGood));
  const Error err = p.load_json(GetParam().json, /*replace=*/true);
  EXPECT_EQ(err.code, GetParam().code) << err.message;
  EXPECT_NE(err.message.find(GetParam().message), std::string::npos) << err.message;
  // Nothing changed: the previous catalog is still in force.
  EXPECT_EQ(p.size(), 2u);
  ASSERT_NE(p.find("alpha"), nullptr);
  EXPECT_EQ(p.find("alpha")->base.input, 1'500'000);
}

INSTANTIATE_TEST_SUITE_P(
    Files, LoadJsonErrors,
    ::testing::Values(
        BadCatalog{"truncated", R"({"models": [{"model": "x", )", Error::parse_error,
                   "pricing: malformed JSON at byte"},
        BadCatalog{"empty", "", Error::parse_error, "malformed JSON"},
        BadCatalog{"not_object", "[]", Error::invalid_argument, "must be a JSON object"},
        BadCatalog{"no_models", "{}", Error::invalid_argument, "missing the \"models\" array"},
        BadCatalog{"models_not_array", R"({"models": {}})", Error::invalid_argument,
                   "\"models\" must be an array"},
        BadCatalog{"top_level_typo", R"({"modles": []})", Error::invalid_argument,
                   "unknown top-level field \"modles\""},
        BadCatalog{"version", R"({"version": 2, "models": []})", Error::invalid_argument,
                   "only version 1"},
        BadCatalog{"missing_input", R"({"models": [{"model": "m", "output": 1}]})",
                   Error::invalid_argument, "models[0] (\"m\"): missing field \"input\""},
        BadCatalog{"missing_model", R"({"models": [{"model": "a", "input": 1, "output": 1},
                   {"input": 1, "output": 1}]})",
                   Error::invalid_argument, "models[1]: missing field \"model\""},
        BadCatalog{"string_price", R"({"models": [{"input": "2.5", "model": "m", "output": 1}]})",
                   Error::invalid_argument,
                   "models[0] (\"m\"): field \"input\": expected a number"},
        BadCatalog{"negative", R"({"models": [{"model": "m", "input": -1, "output": 1}]})",
                   Error::invalid_argument, "field \"input\": price is negative"},
        BadCatalog{"sub_micro", R"({"models": [{"model": "m", "input": 1, "output": 0.0000001}]})",
                   Error::invalid_argument, "field \"output\": price is not a whole number"},
        BadCatalog{"null_required", R"({"models": [{"model": "m", "input": null, "output": 1}]})",
                   Error::invalid_argument, "field \"input\": expected a number"},
        BadCatalog{"field_typo",
                   R"({"models": [{"model": "m", "input": 1, "output": 1, "cached_inptu": 0.1}]})",
                   Error::invalid_argument, "models[0] (\"m\"): unknown field \"cached_inptu\""},
        BadCatalog{
            "bad_date",
            R"({"models": [{"model": "m", "input": 1, "output": 1, "checked": "24/07/2026"}]})",
            Error::invalid_argument, "field \"checked\": expected a date YYYY-MM-DD"},
        BadCatalog{"empty_model", R"({"models": [{"model": "", "input": 1, "output": 1}]})",
                   Error::invalid_argument, "field \"model\": must not be empty"},
        BadCatalog{"duplicate", R"({"models": [{"model": "m", "input": 1, "output": 1},
                   {"model": "m", "input": 2, "output": 2}]})",
                   Error::invalid_argument, "models[1] (\"m\"): duplicate model, also models[0]"},
        BadCatalog{"tier_threshold",
                   R"({"models": [{"model": "m", "input": 1, "output": 1,
                   "tiers": [{"above_input_tokens": 0, "input": 2}]}]})",
                   Error::invalid_argument,
                   "field \"tiers[0].above_input_tokens\": expected a positive integer"},
        BadCatalog{"tier_order", R"({"models": [{"model": "m", "input": 1, "output": 1,
                   "tiers": [{"above_input_tokens": 200000}, {"above_input_tokens": 128000}]}]})",
                   Error::invalid_argument, "tiers[1]: thresholds must ascend"},
        BadCatalog{"tier_typo", R"({"models": [{"model": "m", "input": 1, "output": 1,
                   "tiers": [{"above_input_tokens": 10, "inptu": 2}]}]})",
                   Error::invalid_argument, "unknown field \"tiers[0].inptu\""},
        BadCatalog{"alias_type",
                   R"({"models": [{"model": "m", "input": 1, "output": 1, "aliases": "x"}]})",
                   Error::invalid_argument, "field \"aliases\": expected an array"},
        BadCatalog{"entry_not_object", R"({"models": [3]})", Error::invalid_argument,
                   "models[0]: expected an object"},
        BadCatalog{"trailing", R"({"models": []} x)", Error::parse_error, "malformed JSON"}),
    [](const ::testing::TestParamInfo<BadCatalog>& info) { return std::string(info.param.name); });

class TempFile {
 public:
  explicit TempFile(const std::string& text) {
    path_ = ::testing::TempDir() + "convtrace_pricing_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name() + ".json";
    std::ofstream(path_) << text;
  }
  ~TempFile() { std::remove(path_.c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

TEST(LoadFile, ReadsAndNamesThePathOnError) {
  Pricing p;
  TempFile good(kGood);
  EXPECT_FALSE(p.load_file(good.path()));
  EXPECT_EQ(p.size(), 2u);

  const Error missing = p.load_file("/nonexistent/prices.json");
  EXPECT_EQ(missing.code, Error::io_error);
  EXPECT_NE(missing.message.find("/nonexistent/prices.json"), std::string::npos);

  TempFile bad(R"({"models": [{"model": "m", "input": "x", "output": 1}]})");
  const Error invalid = p.load_file(bad.path());
  EXPECT_EQ(invalid.code, Error::invalid_argument);
  EXPECT_EQ(invalid.message.find(bad.path()), 0u) << invalid.message;
  EXPECT_EQ(p.size(), 2u);
}

TEST(WithFile, MergesOverBuiltinOrWarns) {
  Error warning{Error::internal, "stale"};
  const Pricing plain = Pricing::with_file("", &warning);
  EXPECT_FALSE(warning);
  EXPECT_EQ(plain.size(), Pricing::builtin().size());

  TempFile override_file(R"({"models": [{"model": "gpt-4o", "input": 2, "output": 8},
                                         {"model": "in-house", "input": 0.5, "output": 0.5}]})");
  const Pricing merged = Pricing::with_file(override_file.path(), &warning);
  EXPECT_FALSE(warning) << warning.message;
  EXPECT_EQ(merged.size(), Pricing::builtin().size() + 1);
  EXPECT_EQ(merged.find("gpt-4o")->base.input, 2'000'000);

  const Pricing fallback = Pricing::with_file("/nonexistent/prices.json", &warning);
  EXPECT_EQ(warning.code, Error::io_error);
  EXPECT_EQ(fallback.size(), Pricing::builtin().size());
  EXPECT_EQ(fallback.find("gpt-4o")->base.input, 2'500'000);
}

}  // namespace
}  // namespace convtrace
