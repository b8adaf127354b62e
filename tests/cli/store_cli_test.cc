// demo → report / conversation / workflows through the real `convtrace` program,
// with expected costs computed independently from the fixtures' recorded token
// counts (EXPECTED.json) and the catalog's published prices (data/pricing.json).
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/run_cli.h"
#include "convtrace/attributes.h"
#include "convtrace/store.h"
#include "store/temp_dir.h"

namespace {

using convtrace::testing::run_cli;
using convtrace::testing::TempDir;
using nlohmann::json;

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

int64_t micro(const json& usd) { return std::llround(usd.get<double>() * 1e6); }

// pico-USD of one call: a token at P micro-USD per 1M tokens costs P pico-USD.
int64_t expected_cost(const std::string& fixture, const std::string& model) {
  static const json expected =
      read_json(std::string(CONVTRACE_TEST_FIXTURES) + "/provider-responses/EXPECTED.json");
  static const json catalog = read_json(std::string(CONVTRACE_SOURCE_DIR) + "/data/pricing.json");
  const json& e = expected.at(fixture).at("expect");
  auto count = [&](const char* key) -> int64_t {
    return e.at(key).is_null() ? 0 : e.at(key).get<int64_t>();
  };
  for (const json& m : catalog.at("models")) {
    if (m.at("model") != model) continue;
    int64_t in = micro(m.at("input"));
    int64_t out = micro(m.at("output"));
    int64_t cached = m.contains("cached_input") ? micro(m.at("cached_input")) : in;
    int64_t write = m.contains("cache_write") ? micro(m.at("cache_write")) : in;
    int64_t reasoning = m.contains("reasoning") ? micro(m.at("reasoning")) : out;
    int64_t uncached = count("input") - count("cache_read") - count("cache_write");
    int64_t plain_out = count("output") - count("reasoning");
    return uncached * in + count("cache_read") * cached + count("cache_write") * write +
           plain_out * out + count("reasoning") * reasoning;
  }
  ADD_FAILURE() << "model not in catalog: " << model;
  return 0;
}

// The calls the demo's simulated application makes, per user.
const std::map<std::string, std::vector<std::pair<std::string, std::string>>> kCalls = {
    {"acme",
     {{"openai_chat_completion.json", "gpt-5.4"},
      {"openai_embeddings.json", "text-embedding-ada-002"},
      {"anthropic_messages.json", "claude-sonnet-4-5"},
      {"openai_chat_completion_cached_reasoning.json", "o1"},
      {"openai_responses_reasoning.json", "o1"},
      {"gemini_generate_content_thinking.json", "gemini-3-pro-preview"},
      {"mistral_chat.json", "mistral-small-latest"}}},
    {"globex",
     {{"openai_embeddings.json", "text-embedding-ada-002"},
      {"mistral_chat.json", "mistral-small-latest"},
      {"openai_chat_completion.json", "gpt-5.4"}}},
    {"initech", {{"gemini_generate_content_thinking.json", "gemini-3-pro-preview"}}},
};

class DemoStore : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TempDir();
    db_ = "'" + dir_->file("demo.db") + "'";
    auto r = run_cli("demo --db " + db_);
    ASSERT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;  // the demo's spans read cleanly
    ASSERT_NE(r.out.find("convtrace report --by user"), std::string::npos) << r.out;
  }
  static void TearDownTestSuite() {
    delete dir_;
    dir_ = nullptr;
  }
  static TempDir* dir_;
  static std::string db_;
};
TempDir* DemoStore::dir_ = nullptr;
std::string DemoStore::db_;

TEST_F(DemoStore, ReportByUserEqualsRecordedUsageTimesCatalogPrices) {
  auto r = run_cli("report --by user --json --db " + db_);
  ASSERT_EQ(r.status, 0) << r.err;
  json rows = json::parse(r.out);
  ASSERT_EQ(rows.size(), kCalls.size()) << r.out;
  int64_t total = 0;
  for (const json& row : rows) {
    std::string user = row.at("group");
    int64_t want = 0;
    for (const auto& [fixture, model] : kCalls.at(user)) want += expected_cost(fixture, model);
    EXPECT_EQ(row.at("cost_pico_usd").get<int64_t>(), want) << user;
    // cost_usd is the exact decimal of the integer.
    EXPECT_EQ(std::llround(row.at("cost_usd").get<double>() * 1e12), want) << user;
    EXPECT_EQ(row.at("llm_calls").get<int64_t>(), static_cast<int64_t>(kCalls.at(user).size()));
    total += want;
  }
  EXPECT_EQ(rows[0].at("group"), "acme");
  EXPECT_EQ(rows[0].at("conversations"), 2);
  EXPECT_EQ(rows[0].at("errors"), 1);

  auto acme = run_cli("report --by day --user acme --since 2000-01-01 --json --db " + db_);
  ASSERT_EQ(acme.status, 0) << acme.err;
  json days = json::parse(acme.out);
  ASSERT_EQ(days.size(), 1u);
  EXPECT_EQ(days[0].at("cost_pico_usd").get<int64_t>(), rows[0].at("cost_pico_usd").get<int64_t>());
  auto none = run_cli("report --by user --until 2000-01-01T00:00:00Z --json --db " + db_);
  EXPECT_EQ(none.out, "[]\n");

  auto models = run_cli("report --by model --json --db " + db_);
  ASSERT_EQ(models.status, 0);
  int64_t by_model = 0;
  for (const json& row : json::parse(models.out))
    by_model += row.at("cost_pico_usd").get<int64_t>();
  EXPECT_EQ(by_model, total);
}

TEST_F(DemoStore, ConversationTurnByTurn) {
  auto r = run_cli("conversation support_789 --json --db " + db_);
  ASSERT_EQ(r.status, 0) << r.err;
  json v = json::parse(r.out);
  EXPECT_EQ(v.at("conversation_id"), "support_789");
  ASSERT_EQ(v.at("turns").size(), 3u);
  int64_t t1 = expected_cost("openai_chat_completion.json", "gpt-5.4");
  int64_t t2 = expected_cost("openai_embeddings.json", "text-embedding-ada-002") +
               expected_cost("anthropic_messages.json", "claude-sonnet-4-5");
  int64_t t3 = expected_cost("openai_chat_completion_cached_reasoning.json", "o1");
  EXPECT_EQ(v["turns"][0]["cost_pico_usd"].get<int64_t>(), t1);
  EXPECT_EQ(v["turns"][1]["cost_pico_usd"].get<int64_t>(), t2);
  EXPECT_EQ(v["turns"][2]["cost_pico_usd"].get<int64_t>(), t3);
  EXPECT_EQ(v["turns"][2]["running_total_pico_usd"].get<int64_t>(), t1 + t2 + t3);
  EXPECT_EQ(v["cost_pico_usd"].get<int64_t>(), t1 + t2 + t3);
  const json& rag = v["turns"][1]["spans"];
  ASSERT_EQ(rag.size(), 4u);
  EXPECT_EQ(rag[0]["kind"], "workflow");
  EXPECT_EQ(rag[3]["depth"], 1);
  EXPECT_NE(rag[3]["input_messages"].get<std::string>().find("INV-2291"), std::string::npos);

  auto failed = run_cli("conversation support_790 --json --db " + db_);
  json f = json::parse(failed.out);
  ASSERT_EQ(f["turns"].size(), 2u);
  EXPECT_EQ(f["turns"][1]["errors"], 1);
  bool saw_error = false;
  for (const json& s : f["turns"][1]["spans"]) {
    if (s["error"] == "std::runtime_error") saw_error = true;
  }
  EXPECT_TRUE(saw_error);

  auto table = run_cli("conversation support_790 --db " + db_);
  EXPECT_NE(table.out.find("FAILED"), std::string::npos) << table.out;
  // Captured messages (stored in the GenAI message schema) are shown as their text.
  EXPECT_NE(table.out.find("> User asks where order 5531 is"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("< 1. search_orders(5531)"), std::string::npos) << table.out;
  json captured = json::parse(f["turns"][0]["spans"][1]["input_messages"].get<std::string>());
  EXPECT_EQ(captured[0]["role"], "user");
  EXPECT_EQ(captured[0]["parts"][0]["type"], "text");
}

TEST_F(DemoStore, WorkflowsWithCostliestStep) {
  auto r = run_cli("workflows --json --db " + db_);
  ASSERT_EQ(r.status, 0) << r.err;
  json runs = json::parse(r.out);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]["workflow_id"], "agent_support_790_1");
  EXPECT_EQ(runs[0]["cost_pico_usd"].get<int64_t>(),
            expected_cost("openai_responses_reasoning.json", "o1") +
                expected_cost("gemini_generate_content_thinking.json", "gemini-3-pro-preview"));
  EXPECT_TRUE(runs[0]["cost_from_workflow_span"].get<bool>());
  EXPECT_EQ(runs[0]["costliest_step"], "invoke_agent plan");
  auto rag = run_cli("workflows --type rag_v1 --json --db " + db_);
  ASSERT_EQ(json::parse(rag.out).size(), 1u);
  auto costly = run_cli("workflows --min-cost 0.05 --csv --db " + db_);
  ASSERT_EQ(costly.status, 0) << costly.err;
  EXPECT_EQ(std::count(costly.out.begin(), costly.out.end(), '\n'), 2) << costly.out;
}

TEST_F(DemoStore, TimeBoundsAreCheckedAtTheEdgesOfTheRange) {
  // Before: any date from 2262-04-12 on overflowed into a negative bound, so
  // --since 2300-01-01 returned every row and --until 2300-01-01 none.
  for (const char* args :
       {"report --since 2300-01-01", "report --until 2300-01-01", "report --until 9999-12-31",
        "report --since 2262-04-12", "report --since 2262-04-11T23:47:16.854775808Z",
        "workflows --until 9999-12-31T23:59:59Z"}) {
    auto r = run_cli(std::string(args) + " --db " + db_);
    EXPECT_EQ(r.status, 2) << args << ": " << r.out;
    EXPECT_NE(r.err.find("after the times convtrace stores"), std::string::npos) << r.err;
    EXPECT_EQ(r.out, "") << args;
  }
  for (const char* args : {"report --since 1969-12-31", "report --until 1970-01-01T00:30:00+01:00",
                           "workflows --since 0001-01-01"}) {
    auto r = run_cli(std::string(args) + " --db " + db_);
    EXPECT_EQ(r.status, 2) << args;
    EXPECT_NE(r.err.find("before the times convtrace stores"), std::string::npos) << r.err;
  }
  auto all = run_cli("report --by user --json --db " + db_);
  ASSERT_EQ(all.status, 0);
  auto whole_range = run_cli(
      "report --by user --json --since 1970-01-01 --until 2262-04-11T23:47:16.854775807Z --db " +
      db_);
  ASSERT_EQ(whole_range.status, 0) << whole_range.err;
  EXPECT_EQ(whole_range.out, all.out);
  auto late = run_cli("report --by user --json --since 2262-04-11 --db " + db_);
  ASSERT_EQ(late.status, 0) << late.err;
  EXPECT_EQ(late.out, "[]\n");
}

TEST_F(DemoStore, ErrorsAreOneLineWithTheDocumentedExitStatus) {
  auto missing = run_cli("conversation nope --db " + db_);
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;
  EXPECT_EQ(run_cli("report --by colour --db " + db_).status, 2);
  EXPECT_EQ(run_cli("report --since yesterday --db " + db_).status, 2);
  EXPECT_EQ(run_cli("workflows --min-cost abc --db " + db_).status, 2);
  EXPECT_EQ(run_cli("report --db '" + dir_->file("absent.db") + "'").status, 1);
  EXPECT_EQ(run_cli("demo --db " + db_).status, 2);  // refuses to mix runs
  EXPECT_EQ(run_cli("report --json --csv --db " + db_).status, 2);
  auto help = run_cli("report --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("EXAMPLES"), std::string::npos);
}

TEST(ReportCli, FlagsSentCostsTheCatalogDisagreesWith) {
  namespace attr = convtrace::attr;
  TempDir dir;
  const std::string db = dir.file("other.db");
  {
    auto store = convtrace::Store::open(db);
    ASSERT_TRUE(store) << store.error().message;
    convtrace::SpanData s;
    s.trace_id.bytes[0] = 1;
    s.span_id.bytes[0] = 1;
    s.name = "chat gpt-4o";
    s.attributes = {{std::string(attr::kRequestModel), std::string("gpt-4o")},
                    {std::string(attr::kInputTokens), int64_t{1000}},
                    {std::string(attr::kOutputTokens), int64_t{100}},
                    {std::string(attr::kCostGeneric), 0.5}};
    ASSERT_FALSE((*store)->insert(std::vector<convtrace::SpanData>{s}));
  }
  auto table = run_cli("report --by model --db '" + db + "'");
  ASSERT_EQ(table.status, 0) << table.err;
  EXPECT_NE(table.out.find("0.5 "), std::string::npos) << table.out;  // the sent cost is counted
  EXPECT_NE(table.out.find("1 call(s) sent a cost that differs"), std::string::npos) << table.out;
  auto rows = json::parse(run_cli("report --by model --json --db '" + db + "'").out);
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0]["cost_disagreements"], 1);
  EXPECT_EQ(rows[0]["cost_pico_usd"], 500'000'000'000);
}

}  // namespace
