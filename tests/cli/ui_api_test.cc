// The JSON API of `convtrace ui` answers with the very records the CLI's
// --json prints (one code path for every number), on a real demo store.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <vector>

#include "cli/run_cli.h"
#include "convtrace/store.h"
#include "html_report.h"
#include "store/backends.h"
#include "store/temp_dir.h"
#include "ui_api.h"

namespace {

using convtrace::testing::run_cli;
using nlohmann::json;
namespace cli = convtrace::cli;

// One demo store per backend (SQLite, PostgreSQL), shared by the tests.
class UiApi : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    static std::map<std::string, std::string> stores;
    std::string& location = stores[GetParam()];
    if (location.empty()) {
      location = convtrace::testing::fresh_location(GetParam(), dir());
      auto demo = run_cli("demo --db '" + location + "'");
      ASSERT_EQ(demo.status, 0) << demo.err;
    }
    location_ = location;
    db_ = "'" + location + "'";
    convtrace::StoreOptions options;
    options.read_only = true;
    auto opened = convtrace::Store::open(location_, options);
    ASSERT_TRUE(opened) << opened.error().message;
    store_ = std::move(*opened);
  }
  cli::ApiReply get(const std::string& path, cli::ApiParams params = {}) {
    return cli::answer_api(*store_, path, params);
  }
  std::string cli_json(const std::string& args) {
    auto r = run_cli(args + " --json --db " + db_);
    EXPECT_EQ(r.status, 0) << r.err;
    if (!r.out.empty() && r.out.back() == '\n') r.out.pop_back();
    return r.out;
  }
  static convtrace::testing::TempDir& dir() {
    static convtrace::testing::TempDir d;
    return d;
  }

  std::string location_;
  std::string db_;  // as a --db argument
  std::unique_ptr<convtrace::Store> store_;
};

TEST_P(UiApi, AConversationIsByteForByteTheCliJson) {
  for (const char* id : {"support_789", "support_790", "sales_101", "onboarding_42"}) {
    auto reply = get("/api/conversation", {{"id", id}});
    EXPECT_EQ(reply.status, 200);
    EXPECT_EQ(reply.body, cli_json(std::string("conversation ") + id)) << id;
  }
}

TEST_P(UiApi, ListingsCarryTheCliRecords) {
  json rows = json::parse(get("/api/conversations", {{"sort", "cost"}}).body)["rows"];
  EXPECT_EQ(rows, json::parse(cli_json("conversations --sort cost")));
  json runs = json::parse(get("/api/workflow_runs").body)["rows"];
  EXPECT_EQ(runs, json::parse(cli_json("workflows --runs")));
  for (const char* by : {"user", "model"}) {
    json rows = json::parse(get(std::string("/api/") + by + "s").body)["rows"];
    json report = json::parse(cli_json(std::string("report --by ") + by));
    ASSERT_EQ(rows.size(), report.size()) << by;
    for (size_t i = 0; i < rows.size(); ++i) {
      for (auto& [key, value] : report[i].items()) EXPECT_EQ(rows[i][key], value) << by << key;
      // Latency percentiles of the group's calls, beside the report's figures.
      if (rows[i]["llm_calls"].get<int64_t>() == 0) continue;
      EXPECT_GT(rows[i]["latency_p50_nano"].get<int64_t>(), 0) << rows[i];
      EXPECT_LE(rows[i]["latency_p50_nano"], rows[i]["latency_p95_nano"]);
      EXPECT_LE(rows[i]["latency_p95_nano"], rows[i]["latency_max_nano"]);
    }
  }
  json types = json::parse(get("/api/workflows").body)["types"];
  json cli_types = json::parse(cli_json("workflows"));
  ASSERT_EQ(types.size(), cli_types.size());
  for (size_t i = 0; i < types.size(); ++i) {
    for (auto& [key, value] : cli_types[i].items()) EXPECT_EQ(types[i][key], value) << key;
    // One run per type in the demo: p50 = p95 = the run.
    EXPECT_EQ(types[i]["p95_run_cost_pico_usd"], types[i]["cost_pico_usd"]);
  }
}

TEST_P(UiApi, OverviewSumsEqualTheReports) {
  json o = json::parse(get("/api/overview").body);
  json users = json::parse(cli_json("report --by user"));
  int64_t cost = 0;
  for (const json& u : users) cost += u["cost_pico_usd"].get<int64_t>();
  EXPECT_EQ(o["total"]["cost_pico_usd"].get<int64_t>(), cost);
  EXPECT_EQ(o["total"]["errors"], 1);
  EXPECT_EQ(o["by_model"], json::parse(cli_json("report --by model")));
  EXPECT_EQ(o["top_conversations"][0]["conversation_id"], "support_789");
  // The stacked series add up to each day's total.
  json days = json::parse(cli_json("report --by day"));
  const json& spend = o["spend"];
  EXPECT_EQ(spend["bucket"], "day");
  EXPECT_EQ(spend["stack"], "model");
  ASSERT_EQ(spend["buckets"].size(), days.size());
  for (size_t d = 0; d < days.size(); ++d) {
    int64_t sum = 0;
    for (const json& s : spend["series"]) sum += s["cost_pico_usd"][d].get<int64_t>();
    EXPECT_EQ(sum, days[d]["cost_pico_usd"].get<int64_t>());
    EXPECT_EQ(spend["buckets"][d], days[d]["day"]);
  }
}

// Each bucket's total, whichever way the chart is cut.
std::vector<int64_t> bucket_totals(const json& spend) {
  std::vector<int64_t> out(spend["buckets"].size());
  for (const json& s : spend["series"]) {
    for (size_t i = 0; i < out.size(); ++i) out[i] += s["cost_pico_usd"][i].get<int64_t>();
  }
  return out;
}

TEST_P(UiApi, SpendByHourAndByProviderAddUpToTheDays) {
  json days = json::parse(cli_json("report --by day"));
  ASSERT_FALSE(days.empty());
  const std::string day = days[0]["day"];
  const std::string next = days.size() > 1 ? std::string(days[1]["day"]) : "";
  // The first day, hour by hour (chosen by itself for a range of a day).
  cli::ApiParams one_day = {{"since", day}, {"until", day + "T23:59:59.999999999Z"}};
  json hourly = json::parse(get("/api/overview", one_day).body)["spend"];
  EXPECT_EQ(hourly["bucket"], "hour");
  ASSERT_EQ(hourly["buckets"].size(), 24u);
  EXPECT_EQ(hourly["buckets"][0], day + "T00:00:00Z");
  EXPECT_EQ(hourly["buckets"][23], day + "T23:00:00Z");
  int64_t sum = 0;
  for (int64_t c : bucket_totals(hourly)) sum += c;
  EXPECT_EQ(sum, days[0]["cost_pico_usd"].get<int64_t>());

  // By provider: the providers the calls named, the same totals per day.
  json by_provider = json::parse(get("/api/overview", {{"stack", "provider"}}).body)["spend"];
  json by_model = json::parse(get("/api/overview").body)["spend"];
  EXPECT_EQ(by_provider["stack"], "provider");
  EXPECT_EQ(bucket_totals(by_provider), bucket_totals(by_model));
  std::set<std::string> providers;
  for (const json& s : by_provider["series"]) providers.insert(s["name"].get<std::string>());
  EXPECT_TRUE(providers.count("openai")) << by_provider;
  EXPECT_TRUE(providers.count("anthropic")) << by_provider;
  EXPECT_FALSE(providers.count("gpt-4o")) << by_provider;
  // Hourly by provider, asked for explicitly over two days.
  if (!next.empty()) {
    json two = json::parse(get("/api/overview", {{"since", day},
                                                 {"until", next + "T23:59:59Z"},
                                                 {"bucket", "hour"},
                                                 {"stack", "provider"}})
                               .body)["spend"];
    EXPECT_EQ(two["buckets"].size(), 48u);
  }

  // What cannot be drawn is refused, with a reason.
  EXPECT_EQ(get("/api/overview", {{"bucket", "minute"}}).status, 400);
  EXPECT_EQ(get("/api/overview", {{"stack", "user"}}).status, 400);
  // Per hour with no range: the last two days.
  auto recent = get("/api/overview", {{"bucket", "hour"}});
  ASSERT_EQ(recent.status, 200) << recent.body;
  size_t hours = json::parse(recent.body)["spend"]["buckets"].size();
  EXPECT_TRUE(hours == 48 || hours == 49) << hours;
  auto wide =
      get("/api/overview", {{"bucket", "hour"}, {"since", "2026-01-01"}, {"until", "2026-03-01"}});
  EXPECT_EQ(wide.status, 400);
  EXPECT_NE(wide.body.find("at most 31 days"), std::string::npos) << wide.body;
}

TEST_P(UiApi, ConversationFiltersAndPages) {
  auto ids = [&](cli::ApiParams p) {
    std::vector<std::string> out;
    json page = json::parse(get("/api/conversations", p).body);
    for (const json& r : page["rows"]) out.push_back(r["conversation_id"]);
    return out;
  };
  EXPECT_EQ(ids({{"errors", "1"}}), std::vector<std::string>{"support_790"});
  EXPECT_EQ(ids({{"min_cost", "0.1"}}), std::vector<std::string>{"support_789"});
  EXPECT_EQ(ids({{"q", "CAN I GET A REFUND"}}),
            std::vector<std::string>{"support_790"});  // case-insensitive
  EXPECT_EQ(ids({{"user", "globex"}}), std::vector<std::string>{"sales_101"});
  auto first = ids({{"sort", "id"}, {"limit", "2"}});
  auto second = ids({{"sort", "id"}, {"limit", "2"}, {"offset", "2"}});
  EXPECT_EQ(first, (std::vector<std::string>{"onboarding_42", "sales_101"}));
  EXPECT_EQ(second, (std::vector<std::string>{"support_789", "support_790"}));
  EXPECT_TRUE(json::parse(get("/api/conversations", {{"limit", "2"}}).body)["more"].get<bool>());
}

TEST_P(UiApi, AWorkflowRunsStepsShareItsCost) {
  json runs = json::parse(get("/api/workflow_runs", {{"type", "agent_v1"}}).body)["rows"];
  ASSERT_EQ(runs.size(), 1u);
  json run = json::parse(
      get("/api/workflow_run", {{"id", runs[0]["workflow_id"]}, {"trace", runs[0]["trace_id"]}})
          .body);
  EXPECT_EQ(run["cost_pico_usd"], runs[0]["cost_pico_usd"]);
  ASSERT_GE(run["steps"].size(), 4u);
  EXPECT_EQ(run["steps"][0]["depth"], 0);
  EXPECT_EQ(run["steps"][0]["cost_share_ppm"], 1000000);
  int64_t children = 0;
  for (const json& s : run["steps"]) {
    if (s["depth"] == 1) children += s["subtree_cost_pico_usd"].get<int64_t>();
  }
  EXPECT_EQ(children, run["cost_pico_usd"].get<int64_t>());
}

TEST_P(UiApi, TraceGivesEveryAttribute) {
  json v = json::parse(get("/api/conversation", {{"id", "support_790"}}).body);
  std::string trace = v["turns"][1]["trace_ids"][0];
  json t = json::parse(get("/api/trace", {{"id", trace}}).body);
  bool conversation_key = false;
  for (const json& s : t["spans"]) {
    for (const json& a : s["attributes"]) conversation_key |= a["key"] == "gen_ai.conversation.id";
  }
  EXPECT_TRUE(conversation_key);
}

TEST_P(UiApi, BadParametersAndUnknownThingsAreJsonErrors) {
  EXPECT_EQ(get("/api/nope").status, 404);
  EXPECT_EQ(get("/api/conversation", {{"id", "absent"}}).status, 404);
  EXPECT_EQ(get("/api/conversation").status, 400);
  EXPECT_EQ(get("/api/overview", {{"since", "yesterday"}}).status, 400);
  EXPECT_EQ(get("/api/conversations", {{"sort", "colour"}}).status, 400);
  EXPECT_EQ(get("/api/conversations", {{"limit", "-1"}}).status, 400);
  EXPECT_EQ(get("/api/trace", {{"id", "xyz"}}).status, 400);
  auto bad = get("/api/conversations", {{"min_cost", "lots"}});
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(json::parse(bad.body)["error"].get<std::string>().find("min_cost"), std::string::npos);
  EXPECT_GT(json::parse(get("/api/live").body)["span_count"].get<int64_t>(), 10);
}

TEST_P(UiApi, TheServerRefusesOtherAddressesWithoutAToken) {
  auto r = run_cli("ui --listen 0.0.0.0:0 --db " + db_);
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("--token"), std::string::npos) << r.err;
  EXPECT_EQ(run_cli("ui --listen nonsense --db " + db_).status, 2);
  EXPECT_EQ(run_cli("ui --db " + dir().file("absent.db")).status, 1);
}

INSTANTIATE_TEST_SUITE_P(, UiApi, ::testing::Values("sqlite", "postgresql"),
                         convtrace::testing::backend_name);

}  // namespace

namespace {

TEST(HtmlReport, RequestKeysAreTheUisEncodeUriComponent) {
  EXPECT_EQ(cli::request_key("/api/conversation", {{"id", "a b/é?&=<"}}),
            "/api/conversation?id=a%20b%2F%C3%A9%3F%26%3D%3C");
  EXPECT_EQ(cli::request_key("/api/x", {{"until", "2024-03-02"}, {"since", ""}, {"limit", "5"}}),
            "/api/x?limit=5&until=2024-03-02");
  EXPECT_EQ(cli::request_key("/api/live", {}), "/api/live");
  EXPECT_EQ(cli::request_key("/api/x", {{"q", "-_.!~*'()"}}), "/api/x?q=-_.!~*'()");
}

// Captured content that tries to end the data element stays data.
TEST(HtmlReport, EmbeddedContentCannotCloseItsScriptElement) {
  convtrace::testing::TempDir dir;
  const std::string hostile = "</script><img src=x onerror=alert(1)>&\"><script>alert(2)</script>";
  {
    auto store = convtrace::Store::open(dir.file("x.db"));
    ASSERT_TRUE(store) << store.error().message;
    convtrace::SpanData span;
    convtrace::TraceId::from_hex("0af7651916cd43dd8448eb211c80319c", &span.trace_id);
    convtrace::SpanId::from_hex("b7ad6b7169203331", &span.span_id);
    span.name = "chat";
    span.start_unix_nano = 1709294400000000000ULL;
    span.end_unix_nano = span.start_unix_nano + 1000;
    span.attributes = {{"gen_ai.conversation.id", std::string("x<y")},
                       {"gen_ai.input.messages", hostile}};
    ASSERT_FALSE((*store)->insert(std::vector<convtrace::SpanData>{span}));
  }
  convtrace::StoreOptions read_only;
  read_only.read_only = true;
  auto store = convtrace::Store::open(dir.file("x.db"), read_only);
  ASSERT_TRUE(store);
  auto page = cli::html_report(**store, {});
  ASSERT_TRUE(page) << page.error().message;
  const std::string open = "<script type=\"application/json\" id=\"convtrace-data\">";
  size_t start = page->find(open);
  ASSERT_NE(start, std::string::npos);
  start += open.size();
  size_t end = page->find("</script>", start);
  std::string data = page->substr(start, end - start);
  EXPECT_EQ(data.find_first_of("<>&"), std::string::npos);
  json parsed = json::parse(data);
  json view = parsed["responses"]["/api/conversation?id=x%3Cy"];
  EXPECT_EQ(view["turns"][0]["spans"][0]["input_messages"], hostile);
  EXPECT_NE(page->find("Content-Security-Policy"), std::string::npos);
  EXPECT_EQ(page->find("src=\"http"), std::string::npos);  // nothing loaded from anywhere
}

}  // namespace
