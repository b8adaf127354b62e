// demo → report / conversation(s) / workflows / prune through the real
// `convtrace` program, on an SQLite file and on a PostgreSQL database, with
// expected costs computed independently from the fixtures' recorded token
// counts (EXPECTED.json) and the catalog's published prices (data/pricing.json).
// Both backends give byte-identical answers.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "cli/run_cli.h"
#include "convtrace/attributes.h"
#include "convtrace/convtrace.h"
#include "convtrace/store.h"
#include "demo_scenario.h"
#include "store/backends.h"
#include "support/tee_exporter.h"

namespace {

using namespace convtrace;
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

// One demo store per backend, shared by the tests that only read it.
class DemoStore : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static std::map<std::string, std::string> stores;
    std::string& db = stores[GetParam()];
    if (db.empty()) db = demo_store();
    db_ = db;
  }
  // A new store holding the demo; its --db argument.
  std::string demo_store() {
    std::string db = "'" + convtrace::testing::fresh_location(GetParam(), dir()) + "'";
    auto r = run_cli("demo --db " + db);
    EXPECT_EQ(r.status, 0) << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << r.err;  // the demo's spans read cleanly
    EXPECT_NE(r.out.find("convtrace report --by user"), std::string::npos) << r.out;
    return db;
  }
  static TempDir& dir() {
    static TempDir d;
    return d;
  }
  std::string db_;
};

TEST_P(DemoStore, ReportByUserEqualsRecordedUsageTimesCatalogPrices) {
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

TEST_P(DemoStore, ConversationTurnByTurn) {
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

TEST_P(DemoStore, WorkflowsWithCostliestStep) {
  auto r = run_cli("workflows --runs --json --db " + db_);
  ASSERT_EQ(r.status, 0) << r.err;
  json runs = json::parse(r.out);
  ASSERT_EQ(runs.size(), 3u);
  EXPECT_EQ(runs[0]["workflow_id"], "agent_support_790_1");
  EXPECT_EQ(runs[0]["cost_pico_usd"].get<int64_t>(),
            expected_cost("openai_responses_reasoning.json", "o1") +
                expected_cost("gemini_generate_content_thinking.json", "gemini-3-pro-preview"));
  EXPECT_TRUE(runs[0]["cost_from_workflow_span"].get<bool>());
  EXPECT_EQ(runs[0]["costliest_step"], "invoke_agent plan");
  auto rag = run_cli("workflows --runs --type rag_v1 --json --db " + db_);
  ASSERT_EQ(json::parse(rag.out).size(), 1u);
  auto costly = run_cli("workflows --min-cost 0.05 --csv --db " + db_);
  ASSERT_EQ(costly.status, 0) << costly.err;
  EXPECT_EQ(std::count(costly.out.begin(), costly.out.end(), '\n'), 2) << costly.out;
}

TEST_P(DemoStore, TimeBoundsAreCheckedAtTheEdgesOfTheRange) {
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

TEST_P(DemoStore, ErrorsAreOneLineWithTheDocumentedExitStatus) {
  auto missing = run_cli("conversation nope --db " + db_);
  EXPECT_EQ(missing.status, 1);
  EXPECT_EQ(std::count(missing.err.begin(), missing.err.end(), '\n'), 1) << missing.err;
  EXPECT_EQ(run_cli("report --by colour --db " + db_).status, 2);
  EXPECT_EQ(run_cli("report --since yesterday --db " + db_).status, 2);
  EXPECT_EQ(run_cli("workflows --min-cost abc --db " + db_).status, 2);
  EXPECT_EQ(run_cli("report --db '" + dir().file("absent.db") + "'").status, 1);
  EXPECT_EQ(run_cli("demo --db " + db_).status, 2);  // refuses to mix runs
  EXPECT_EQ(run_cli("report --json --csv --db " + db_).status, 2);
  auto help = run_cli("report --help");
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("EXAMPLES"), std::string::npos);
}

TEST_P(DemoStore, WorkflowsAreSummarizedByType) {
  auto r = run_cli("workflows --json --db " + db_);
  ASSERT_EQ(r.status, 0) << r.err;
  json types = json::parse(r.out);
  ASSERT_EQ(types.size(), 3u) << r.out;
  std::map<std::string, int64_t> runs;
  for (const json& t : types) runs[t.at("workflow_type")] = t.at("runs");
  EXPECT_EQ(runs, (std::map<std::string, int64_t>{{"agent_v1", 1}, {"rag_v1", 1}, {"rag_v2", 1}}));
  // The same numbers as the report by workflow type.
  json report = json::parse(run_cli("report --by workflow-type --json --db " + db_).out);
  for (const json& row : report) {
    if (row.at("group").is_null()) continue;
    bool found = false;
    for (const json& t : types) {
      if (t.at("workflow_type") != row.at("group")) continue;
      found = true;
      EXPECT_EQ(t.at("cost_pico_usd"), row.at("cost_pico_usd"));
      EXPECT_EQ(t.at("avg_cost_per_run_usd").dump(), row.at("avg_cost_per_run_usd").dump());
    }
    EXPECT_TRUE(found) << row.dump();
  }
  auto table = run_cli("workflows --db " + db_);
  EXPECT_NE(table.out.find("AVG/RUN USD"), std::string::npos) << table.out;
  EXPECT_NE(table.out.find("--runs"), std::string::npos) << table.out;
}

TEST_P(DemoStore, ConversationsListAndEveryListingTakesLimitOffsetAndSort) {
  auto r = run_cli("conversations --json --db " + db_);
  ASSERT_EQ(r.status, 0) << r.err;
  json list = json::parse(r.out);
  ASSERT_EQ(list.size(), 4u) << r.out;
  std::map<std::string, json> by_id;
  for (const json& c : list) by_id[c.at("conversation_id")] = c;
  EXPECT_EQ(by_id.at("support_789").at("user_id"), "acme");
  EXPECT_EQ(by_id.at("support_789").at("turns"), 3);
  EXPECT_EQ(by_id.at("support_790").at("errors"), 1);
  // The list's cost is the conversation view's.
  json view = json::parse(run_cli("conversation support_789 --json --db " + db_).out);
  EXPECT_EQ(by_id.at("support_789").at("cost_pico_usd"), view.at("cost_pico_usd"));

  json by_cost = json::parse(run_cli("conversations --sort cost --json --db " + db_).out);
  for (size_t i = 1; i < by_cost.size(); ++i) {
    EXPECT_GE(by_cost[i - 1].at("cost_pico_usd").get<int64_t>(),
              by_cost[i].at("cost_pico_usd").get<int64_t>());
  }
  json page =
      json::parse(run_cli("conversations --sort cost --limit 2 --offset 1 --json --db " + db_).out);
  ASSERT_EQ(page.size(), 2u);
  EXPECT_EQ(page[0], by_cost[1]);
  EXPECT_EQ(page[1], by_cost[2]);
  auto top = run_cli("conversations --top 2 --db " + db_);
  ASSERT_EQ(top.status, 0) << top.err;
  EXPECT_NE(top.out.find("--offset 2 for the next page"), std::string::npos) << top.out;
  EXPECT_EQ(json::parse(run_cli("conversations --user globex --json --db " + db_).out).size(), 1u);

  json users = json::parse(run_cli("report --by user --top 1 --json --db " + db_).out);
  ASSERT_EQ(users.size(), 1u);
  EXPECT_EQ(users[0].at("group"), "acme");
  json by_name = json::parse(run_cli("report --by user --sort group:desc --json --db " + db_).out);
  ASSERT_EQ(by_name.size(), 3u);
  EXPECT_EQ(by_name[0].at("group"), "initech");
  auto capped = run_cli("report --by model --top 2 --db " + db_);
  EXPECT_NE(capped.out.find("TOTAL"), std::string::npos);
  EXPECT_NE(capped.out.find("more rows"), std::string::npos) << capped.out;
  json runs =
      json::parse(run_cli("workflows --runs --sort start:asc --top 2 --json --db " + db_).out);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_LE(runs[0].at("start_unix_nano").get<uint64_t>(),
            runs[1].at("start_unix_nano").get<uint64_t>());

  EXPECT_EQ(run_cli("report --sort colour --db " + db_).status, 2);
  EXPECT_EQ(run_cli("conversations --sort cost:up --db " + db_).status, 2);
  EXPECT_EQ(run_cli("workflows --runs --limit -1 --db " + db_).status, 2);
  // No progress line when stderr is not a terminal.
  EXPECT_EQ(run_cli("report --by user --db " + db_).err, "");
}

TEST_P(DemoStore, PruneRemovesWholeDaysAndTheReportsFollow) {
  std::string db = demo_store();
  auto none = run_cli("prune --before 2000-01-01 --json --db " + db);
  ASSERT_EQ(none.status, 0) << none.err;
  EXPECT_EQ(json::parse(none.out).at("spans"), 0);
  EXPECT_EQ(json::parse(none.out).at("before"), "2000-01-01T00:00:00Z");
  EXPECT_EQ(run_cli("prune --keep 0d --db " + db).status, 2);
  EXPECT_EQ(run_cli("prune --db " + db).status, 2);
  EXPECT_EQ(run_cli("prune --before 2000-01-01 --keep 3d --db " + db).status, 2);
  EXPECT_EQ(run_cli("prune --keep 30d --db '" + dir().file("never.db") + "'").status, 1);
  auto kept = run_cli("prune --keep 1d --db " + db);  // the demo's spans are from today
  ASSERT_EQ(kept.status, 0) << kept.err;
  EXPECT_NE(kept.out.find("removed 0 span(s)"), std::string::npos) << kept.out;
  EXPECT_NE(json::parse(run_cli("report --json --db " + db).out).size(), 0u);

  int64_t stored = 0;
  for (const json& row : json::parse(run_cli("report --json --db " + db).out)) {
    stored += row.at("spans").get<int64_t>();
  }
  auto all = run_cli("prune --before 2200-01-01 --json --db " + db);
  ASSERT_EQ(all.status, 0) << all.err;
  json removed = json::parse(all.out);
  EXPECT_EQ(removed.at("spans").get<int64_t>(), stored);
  EXPECT_EQ(removed.at("conversations"), 4);
  EXPECT_EQ(removed.at("workflow_runs"), 3);
  EXPECT_EQ(run_cli("report --json --db " + db).out, "[]\n");
  EXPECT_EQ(run_cli("conversations --json --db " + db).out, "[]\n");
  EXPECT_EQ(run_cli("workflows --json --db " + db).out, "[]\n");
}

INSTANTIATE_TEST_SUITE_P(, DemoStore, ::testing::Values("sqlite", "postgresql"),
                         convtrace::testing::backend_name);

// The same spans in an SQLite file and in a PostgreSQL database: every answer,
// byte for byte.
TEST(BothBackends, EveryAnswerIsByteIdentical) {
  TempDir dir;
  std::string sqlite = dir.file("same.db");
  std::string pg = convtrace::testing::PgServer::shared().new_database();
  {
    std::vector<std::unique_ptr<SpanExporter>> to;
    for (const std::string& where : {sqlite, pg}) {
      auto e = make_store_exporter(where);
      ASSERT_TRUE(e) << e.error().message;
      to.push_back(std::move(*e));
    }
    Config config;
    config.read_environment = false;
    config.content.enabled = true;
    config.pricing = Pricing::builtin();
    config.exporter = ExporterKind::custom;
    config.custom_exporter = std::make_unique<convtrace::testing::TeeExporter>(std::move(to));
    auto sdk = Sdk::create(std::move(config));
    ASSERT_TRUE(sdk);
    install(*sdk);
    demo::run_scenario(nullptr);
    install(nullptr);
    ASSERT_TRUE((*sdk)->shutdown());
    ASSERT_EQ((*sdk)->stats().processor.export_failures, 0u);
  }
  std::vector<std::string> commands;
  for (const char* by : {"user", "model", "workflow-type", "conversation", "day"}) {
    for (const char* format : {"--json", "--csv", ""}) {
      commands.push_back(std::string("report --by ") + by + " " + format);
    }
    commands.push_back(std::string("report --by ") + by + " --user acme --json");
    commands.push_back(std::string("report --by ") + by + " --since 2000-01-01T10:00:00Z --json");
  }
  for (const char* id : {"support_789", "support_790", "sales_101", "onboarding_42"}) {
    commands.push_back(std::string("conversation ") + id + " --json");
    commands.push_back(std::string("conversation ") + id + " --csv");
  }
  for (const char* more :
       {"--json", "--csv", "", "--sort cost --json", "--sort turns --top 2 --json"}) {
    commands.push_back(std::string("conversations ") + more);
  }
  for (const char* more : {"--json", "--csv", "", "--runs --json", "--runs --csv",
                           "--runs --sort id --json", "--min-cost 0.01 --json"}) {
    commands.push_back(std::string("workflows ") + more);
  }
  for (const std::string& command : commands) {
    auto a = run_cli(command + " --db '" + sqlite + "'");
    auto b = run_cli(command + " --db '" + pg + "'");
    ASSERT_EQ(a.status, 0) << command << ": " << a.err;
    ASSERT_EQ(b.status, 0) << command << ": " << b.err;
    EXPECT_GT(a.out.size(), 2u) << command;
    EXPECT_EQ(a.out, b.out) << command;
  }
}

class ReportCli : public ::testing::TestWithParam<std::string> {};

TEST_P(ReportCli, FlagsSentCostsTheCatalogDisagreesWith) {
  namespace attr = convtrace::attr;
  TempDir dir;
  const std::string db = convtrace::testing::fresh_location(GetParam(), dir);
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
  // Read from the roll-ups for whole days and from the spans for a partial one: the same.
  auto partial = json::parse(
      run_cli("report --by model --json --until 1970-01-01T00:00:01Z --db '" + db + "'").out);
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_EQ(partial[0]["cost_disagreements"], 1);
  auto csv = run_cli("report --by model --csv --db '" + db + "'");
  EXPECT_NE(csv.out.find(",errors,cost_disagreements\n"), std::string::npos) << csv.out;
}

INSTANTIATE_TEST_SUITE_P(, ReportCli, ::testing::Values("sqlite", "postgresql"),
                         convtrace::testing::backend_name);

}  // namespace
