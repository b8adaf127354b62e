// What the store tests that run on both backends share: a fresh store of
// either kind, synthetic GenAI traffic, and an independent reference model of
// what every report and listing must say about a list of spans.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "convtrace/attributes.h"
#include "convtrace/pricing.h"
#include "convtrace/store.h"
#include "store/temp_dir.h"
#include "support/pg_server.h"

namespace convtrace::testing {

// A fresh, empty location of `backend` ("sqlite" or "postgresql").
inline std::string fresh_location(const std::string& backend, const TempDir& dir) {
  static int files = 0;
  if (backend == "postgresql") return PgServer::shared().new_database();
  return dir.file("store" + std::to_string(++files) + ".db");
}

inline std::string backend_name(const ::testing::TestParamInfo<std::string>& info) {
  return info.param;
}

inline constexpr uint64_t kSecond = 1'000'000'000ULL;
inline constexpr uint64_t kDay = 86'400 * kSecond;
// 2024-03-01T00:00:00Z
inline constexpr uint64_t kMarch1 = 1709251200ULL * kSecond;

// What the built-in catalog charges for a call of `model` (it must know it).
inline int64_t catalog_cost(const std::string& model, int64_t input, int64_t output) {
  const ModelPrice* price = Pricing::builtin().find(model);
  EXPECT_NE(price, nullptr) << model;
  if (!price) return 0;
  Usage u;
  u.input_tokens = input;
  u.output_tokens = output;
  auto cost = compute_cost(u, *price);
  EXPECT_TRUE(cost);
  return cost ? cost->total_pico : 0;
}

inline TraceId trace_n(uint32_t n) {
  TraceId t;
  t.bytes[0] = 0x5a;
  for (int b = 0; b < 4; ++b) t.bytes[15 - b] = static_cast<uint8_t>(n >> (8 * b));
  return t;
}

inline SpanId span_n(uint32_t n) {
  SpanId s;
  s.bytes[0] = 0x6b;
  for (int b = 0; b < 4; ++b) s.bytes[7 - b] = static_cast<uint8_t>(n >> (8 * b));
  return s;
}

// Traffic of `conversations` conversations spread over a few days around
// kMarch1, some of them across midnight (and one across the month's end): four users, three models,
// two workflow types, workflow spans with their totals, unpriced calls, errors, traces without
// turns and child spans without the conversation id (as other SDKs send them), and spans outside
// any conversation. Some conversations' calls come in the OpenInference dialect (session.id,
// llm.* token counts, a cost in USD the catalog may disagree with), and some name a model no
// catalog has. In storing order.
inline std::vector<SpanData> synthetic_spans(int conversations) {
  const char* users[] = {"acme", "globex", "initech", "umbrella"};
  const char* models[] = {"gpt-4o", "claude-sonnet-4-5", "gemini-2.5-pro"};
  const char* types[] = {"rag_v1", "rag_v2"};
  auto resource = std::make_shared<Resource>();
  resource->attributes = {{std::string(attr::kServiceName), std::string("bot")}};
  auto scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"convtrace", "1"});
  std::vector<SpanData> out;
  uint32_t trace = 0, span = 0;
  auto base = [&](uint64_t start, uint64_t length) {
    SpanData s;
    s.span_id = span_n(++span);
    s.start_unix_nano = start;
    s.end_unix_nano = start + length;
    s.resource = resource;
    s.scope = scope;
    return s;
  };
  for (int c = 0; c < conversations; ++c) {
    std::string conv = "conv_" + std::to_string(c);
    std::string user = users[c % 4];
    // From 2024-02-28 11:00: the first day and a half are in February.
    uint64_t t0 = kMarch1 + static_cast<uint64_t>(c) * 53 * 60 * kSecond - 37 * 3600 * kSecond;
    int turns = c % 3 + 1;
    for (int t = 1; t <= turns; ++t) {
      ++trace;
      uint64_t start = t0 + static_cast<uint64_t>(t) * 40 * 60 * kSecond;
      bool counted = c % 7 != 3;  // some conversations come from SDKs without turns
      std::string wf = conv + "_wf" + std::to_string(t);
      const char* type = types[(c + t) % 2];
      int64_t total = 0;
      std::vector<SpanData> children;
      for (int k = 0; k < 2; ++k) {
        SpanData s = base(start + 1000 + static_cast<uint64_t>(k) * 5000, 3000);
        s.trace_id = trace_n(trace);
        s.name = "chat";
        // An unknown model: usage but no cost, and no catalog price either.
        const bool unknown = (c + k) % 9 == 5;
        const char* model = unknown ? "in-house-llm" : models[(c + t + k) % 3];
        const bool openinference = c % 6 == 2;
        auto& a = s.attributes;
        bool js_child = c % 5 == 4 && k == 1;  // without the conversation's attributes
        if (!js_child) {
          a.push_back(
              {std::string(openinference ? attr::kSessionId : attr::kConversationId), conv});
          a.push_back({std::string(attr::kUserId), user});
          if (counted) a.push_back({std::string(attr::kConversationTurn), int64_t{t}});
        }
        a.push_back({std::string(attr::kWorkflowId), wf});
        a.push_back({std::string(attr::kWorkflowType), std::string(type)});
        const int64_t input = 100 + c * 7 + k, output = 20 + t;
        if (openinference) {
          a.push_back({std::string(attr::kOpenInferenceSpanKind), std::string("LLM")});
          a.push_back({std::string(attr::kOiModelName), std::string(model)});
          a.push_back({std::string(attr::kOiPromptTokens), input});
          a.push_back({std::string(attr::kOiCompletionTokens), output});
        } else {
          a.push_back({std::string(attr::kSpanKind), std::string("llm")});
          a.push_back({std::string(attr::kRequestModel), std::string(model)});
          a.push_back({std::string(attr::kInputTokens), input});
          a.push_back({std::string(attr::kOutputTokens), output});
        }
        if (!unknown) {
          int64_t cost = 1'234'567 * (c + 1) + 89 * t + k;
          if (openinference && k == 0) {
            // A sent cost in USD, exact in a double; the catalog disagrees with it.
            a.push_back({std::string(attr::kOiCostTotal), static_cast<double>(cost) / 1e12});
          } else if (!openinference) {
            a.push_back({std::string(attr::kCostPicoUsd), cost});
          } else {
            cost = catalog_cost(model, input, output);  // no cost sent: the catalog's
          }
          total += cost;
        }
        if ((c + t + k) % 11 == 0) s.status = {StatusCode::error, "boom"};
        children.push_back(std::move(s));
      }
      SpanData root = base(start, 20000);
      root.trace_id = trace_n(trace);
      root.name = "workflow";
      root.attributes = {{std::string(attr::kConversationId), conv},
                         {std::string(attr::kUserId), user},
                         {std::string(attr::kWorkflowId), wf},
                         {std::string(attr::kWorkflowType), std::string(type)},
                         {std::string(attr::kSpanKind), std::string("workflow")},
                         {std::string(attr::kWorkflowTotalCostPico), total}};
      if (counted) root.attributes.push_back({std::string(attr::kConversationTurn), int64_t{t}});
      for (SpanData& child : children) {
        child.parent_span_id = root.span_id;
        out.push_back(std::move(child));
      }
      out.push_back(std::move(root));  // children end first, and are sent first
    }
    if (c % 4 == 1) {  // a span outside any conversation
      SpanData s = base(t0 + 7 * kSecond, kSecond);
      s.trace_id = trace_n(++trace);
      s.name = "embed";
      s.attributes = {{std::string(attr::kRequestModel), std::string(models[c % 3])},
                      {std::string(attr::kInputTokens), int64_t{50}},
                      {std::string(attr::kCostPicoUsd), int64_t{777}}};
      out.push_back(std::move(s));
    }
  }
  return out;
}

// What each span means to the reference model.
struct RefSpan {
  std::string trace, conv, user, wf, type, model;
  std::optional<int64_t> turn, input, output, cost, wf_cost;
  uint64_t start = 0, end = 0;
  bool error = false;
  bool disagreement = false;  // sent a cost the catalog prices differently
};

inline RefSpan ref_of(const SpanData& s) {
  RefSpan r;
  r.trace = s.trace_id.hex();
  auto str = [&](std::string_view key) {
    const std::string* v = find_string(s.attributes, key);
    return v ? *v : std::string();
  };
  auto num = [&](std::string_view key) -> std::optional<int64_t> {
    const int64_t* v = find_int(s.attributes, key);
    return v ? std::optional<int64_t>(*v) : std::nullopt;
  };
  r.user = str(attr::kUserId);
  r.wf = str(attr::kWorkflowId);
  r.type = str(attr::kWorkflowType);
  r.turn = num(attr::kConversationTurn);
  r.wf_cost = num(attr::kWorkflowTotalCostPico);
  if (find_attribute(s.attributes, attr::kOpenInferenceSpanKind)) {
    // OpenInference: its keys; no cost sent is the catalog's, a sent one is kept.
    r.conv = str(attr::kSessionId);
    r.model = str(attr::kOiModelName);
    r.input = num(attr::kOiPromptTokens);
    r.output = num(attr::kOiCompletionTokens);
    std::optional<int64_t> catalog;
    if (Pricing::builtin().find(r.model)) catalog = catalog_cost(r.model, *r.input, *r.output);
    if (const AttributeValue* usd = find_attribute(s.attributes, attr::kOiCostTotal)) {
      r.cost = std::llround(std::get<double>(*usd) * 1e12);
      r.disagreement = catalog && *catalog != *r.cost;
    } else {
      r.cost = catalog;
    }
  } else {
    r.conv = str(attr::kConversationId);
    r.model = str(attr::kRequestModel);
    r.input = num(attr::kInputTokens);
    r.output = num(attr::kOutputTokens);
    r.cost = num(attr::kCostPicoUsd);
  }
  r.start = s.start_unix_nano;
  r.end = s.end_unix_nano;
  r.error = s.status.code == StatusCode::error;
  return r;
}

// The report of `spans` (in storing order, each once) as store.h defines it.
inline std::vector<ReportRow> reference_report(const std::vector<SpanData>& spans, ReportGroup by,
                                               const StoreFilter& f) {
  auto group_of = [&](const RefSpan& r) -> std::string {
    switch (by) {
      case ReportGroup::user:
        return r.user;
      case ReportGroup::model:
        return r.model;
      case ReportGroup::workflow_type:
        return r.type;
      case ReportGroup::conversation:
        return r.conv;
      case ReportGroup::day: {
        time_t t = static_cast<time_t>(r.start / kSecond);
        std::tm tm{};
        gmtime_r(&t, &tm);
        char buf[16];
        std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
        return buf;
      }
    }
    return {};
  };
  auto matches = [&](const RefSpan& r) {
    if (f.since_unix_nano && r.start < *f.since_unix_nano) return false;
    if (f.until_unix_nano && r.start >= *f.until_unix_nano) return false;
    if (f.user_id && r.user != *f.user_id) return false;
    if (f.workflow_type && r.type != *f.workflow_type) return false;
    return true;
  };
  std::map<std::string, ReportRow> rows;
  std::set<std::pair<std::string, std::string>> conv_seen, run_seen;
  for (const SpanData& s : spans) {
    RefSpan r = ref_of(s);
    std::string g = group_of(r);
    // Distinct counts: counted at the first stored span of the member in
    // the group, when that span matches the filter.
    bool first_conv = !r.conv.empty() && conv_seen.emplace(r.conv, g).second;
    bool first_run = !r.wf.empty() &&
                     run_seen.emplace(r.wf, by == ReportGroup::conversation ? r.conv : g).second;
    if (!matches(r)) continue;
    ReportRow& row = rows[g];
    if (!g.empty() && by != ReportGroup::day) row.group = g;
    if (by == ReportGroup::day) row.group = g;
    ++row.spans;
    if (r.input || r.output || r.cost) ++row.llm_calls;
    if (!r.cost && (r.input || r.output)) ++row.unpriced_calls;
    row.cost_pico_usd += r.cost.value_or(0);
    row.input_tokens += r.input.value_or(0);
    row.output_tokens += r.output.value_or(0);
    if (r.error) ++row.errors;
    if (r.disagreement) ++row.cost_disagreements;
    if (by == ReportGroup::conversation) {
      row.conversations = g.empty() ? 0 : 1;
    } else if (first_conv) {
      ++row.conversations;
    }
    if (first_run) ++row.workflow_runs;
  }
  std::vector<ReportRow> out;
  for (auto& [g, row] : rows) out.push_back(row);
  std::stable_sort(out.begin(), out.end(), [&](const ReportRow& a, const ReportRow& b) {
    if (by == ReportGroup::day) return a.group < b.group;
    if (a.cost_pico_usd != b.cost_pico_usd) return a.cost_pico_usd > b.cost_pico_usd;
    return a.group.value_or("") < b.group.value_or("");
  });
  return out;
}

// The conversation summaries of `spans`, as store.h defines them.
inline std::map<std::string, ConversationSummary> reference_conversations(
    const std::vector<SpanData>& spans) {
  std::map<std::string, ConversationSummary> out;
  std::map<std::string, std::set<int64_t>> turns;
  std::map<std::string, std::set<std::string>> traces, turned, runs;
  for (const SpanData& s : spans) {
    RefSpan r = ref_of(s);
    if (r.conv.empty()) continue;
    ConversationSummary& c = out[r.conv];
    if (c.spans == 0) {
      c.conversation_id = r.conv;
      c.first_seen_unix_nano = r.start;
    }
    if (c.user_id.empty()) c.user_id = r.user;
    c.first_seen_unix_nano = std::min(c.first_seen_unix_nano, r.start);
    c.last_seen_unix_nano = std::max(c.last_seen_unix_nano, r.end);
    ++c.spans;
    if (r.input || r.output || r.cost) ++c.llm_calls;
    if (!r.cost && (r.input || r.output)) ++c.unpriced_calls;
    c.cost_pico_usd += r.cost.value_or(0);
    c.input_tokens += r.input.value_or(0);
    c.output_tokens += r.output.value_or(0);
    if (r.error) ++c.errors;
    if (r.turn) {
      turns[r.conv].insert(*r.turn);
      turned[r.conv].insert(r.trace);
    }
    traces[r.conv].insert(r.trace);
    if (!r.wf.empty()) runs[r.conv].insert(r.wf);
  }
  for (auto& [id, c] : out) {
    c.turns = static_cast<int64_t>(turns[id].size() + traces[id].size() - turned[id].size());
    c.workflow_runs = static_cast<int64_t>(runs[id].size());
  }
  return out;
}

inline void expect_rows_equal(const std::vector<ReportRow>& got, const std::vector<ReportRow>& want,
                              const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    SCOPED_TRACE(what + " row " + std::to_string(i) + " " + want[i].group.value_or("(none)"));
    EXPECT_EQ(got[i].group, want[i].group);
    EXPECT_EQ(got[i].cost_pico_usd, want[i].cost_pico_usd);
    EXPECT_EQ(got[i].spans, want[i].spans);
    EXPECT_EQ(got[i].llm_calls, want[i].llm_calls);
    EXPECT_EQ(got[i].unpriced_calls, want[i].unpriced_calls);
    EXPECT_EQ(got[i].input_tokens, want[i].input_tokens);
    EXPECT_EQ(got[i].output_tokens, want[i].output_tokens);
    EXPECT_EQ(got[i].errors, want[i].errors);
    EXPECT_EQ(got[i].cost_disagreements, want[i].cost_disagreements);
    EXPECT_EQ(got[i].conversations, want[i].conversations);
    EXPECT_EQ(got[i].workflow_runs, want[i].workflow_runs);
  }
}

}  // namespace convtrace::testing
