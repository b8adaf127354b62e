#include "ui_api.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <set>
#include <unordered_map>

#include "commands.h"
#include "common/unix_time.h"
#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "records.h"
#include "store_common.h"

namespace convtrace::cli {
namespace {

// A bad parameter: answered with 400 and its message.
struct BadRequest {
  std::string message;
};

constexpr int64_t kDefaultPage = 50;
constexpr int64_t kMaxPage = 1000;
// Filters the summaries cannot answer (cost above, errors, text) are applied
// while streaming; text search reads each conversation, so it looks at this
// many at most.
constexpr int64_t kTextScanLimit = 2000;
constexpr size_t kChartModels = 8;

std::string error_json(const std::string& message) {
  return "{\"error\":" + json_string(message) + "}";
}

std::optional<std::string> param(const ApiParams& params, const std::string& name) {
  auto it = params.find(name);
  if (it == params.end() || it->second.empty()) return std::nullopt;
  return it->second;
}

uint64_t time_param(const std::string& name, const std::string& text) {
  auto t = unix_time::parse(text);
  if (!t) throw BadRequest{name + " '" + utf8::repaired(text) + "' " + t.error().message};
  return *t;
}

StoreFilter filter_of(const ApiParams& params) {
  StoreFilter f;
  if (auto s = param(params, "since")) f.since_unix_nano = time_param("since", *s);
  if (auto u = param(params, "until")) f.until_unix_nano = time_param("until", *u);
  if (auto u = param(params, "user")) f.user_id = *u;
  return f;
}

int64_t int_param(const ApiParams& params, const std::string& name, int64_t fallback, int64_t max) {
  auto text = param(params, name);
  if (!text) return fallback;
  int64_t v = 0;
  for (char c : *text) {
    if (c < '0' || c > '9' || v > max) throw BadRequest{name + " '" + *text + "' is not a count"};
    v = v * 10 + (c - '0');
  }
  return std::min(v, max);
}

// sort=KEY[:asc|:desc] through the store's parser for the listing.
template <typename Sort, typename Parse>
void sort_param(const ApiParams& params, Parse parse, Sort* sort, std::optional<bool>* descending) {
  auto text = param(params, "sort");
  if (!text) return;
  size_t colon = text->find(':');
  auto key = parse(text->substr(0, colon));
  if (!key) throw BadRequest{key.error().message};
  *sort = *key;
  if (colon != std::string::npos) {
    std::string dir = text->substr(colon + 1);
    if (dir != "asc" && dir != "desc")
      throw BadRequest{"sort direction '" + dir + "': asc or desc"};
    *descending = dir == "desc";
  }
}

template <typename T>
T value_or_throw(Expected<T> v) {
  if (!v) throw v.error();
  return std::move(*v);
}

void check(const Error& e) {
  if (e) throw e;
}

std::string array_of(const std::vector<Record>& records) {
  std::string out = "[";
  for (size_t i = 0; i < records.size(); ++i) out += (i ? "," : "") + records[i].json();
  return out + "]";
}

std::vector<Record> report_records(const Store& store, ReportQuery query, std::string_view column) {
  std::vector<Record> out;
  check(store.report(query, [&](const ReportRow& r) {
    out.push_back(report_record(r, column));
    return true;
  }));
  return out;
}

std::string range_json(const StoreFilter& f) {
  Record r;
  if (f.since_unix_nano) {
    r.time("since", *f.since_unix_nano);
  } else {
    r.text_or_null("since_unix_nano", "").text_or_null("since_time", "");
  }
  if (f.until_unix_nano) {
    r.time("until", *f.until_unix_nano);
  } else {
    r.text_or_null("until_unix_nano", "").text_or_null("until_time", "");
  }
  return r.json();
}

// Spend over time for a stacked chart: cost per bucket (UTC hour or day) of
// each of the costliest models or providers, the rest as "other":
// {"bucket":"hour"|"day","stack":"model"|"provider","buckets":[…],
//  "series":[{"name":…,"cost_pico_usd":[…],"cost_usd_exact":[…]}]}.
// Hours come from the spans of the range, days from the roll-ups; a provider
// is the one its models' calls named.
constexpr uint64_t kHourNano = 3600ULL * 1000000000ULL;
// The range up to which a chart without `bucket` is drawn hour by hour.
constexpr uint64_t kHourlyUpTo = 2 * 24 * kHourNano;
// Models read one by one for a chart by day (each is one roll-up query).
constexpr size_t kChartModelsRead = 64;

std::string spend_json(const Store& store, const StoreFilter& filter,
                       const std::vector<ReportRow>& models, const ApiParams& params) {
  std::string stack = param(params, "stack").value_or("model");
  if (stack != "model" && stack != "provider") {
    throw BadRequest{"stack '" + stack + "': model or provider"};
  }
  std::string bucket = param(params, "bucket").value_or("");
  if (bucket.empty()) {
    const uint64_t until = filter.until_unix_nano.value_or(wall_clock_unix_nano());
    const bool short_range = filter.since_unix_nano && until > *filter.since_unix_nano &&
                             until - *filter.since_unix_nano <= kHourlyUpTo;
    bucket = short_range ? "hour" : "day";
  }
  if (bucket != "hour" && bucket != "day") throw BadRequest{"bucket '" + bucket + "': hour or day"};

  // The buckets, each with its total and its cost per model.
  std::vector<std::string> names;
  std::vector<int64_t> totals;
  std::vector<std::map<std::string, int64_t>> by_model;
  if (bucket == "hour") {
    // An open end is now; an open start, two days before the end.
    StoreFilter hourly = filter;
    if (!hourly.until_unix_nano) {
      hourly.until_unix_nano =
          std::max(hourly.since_unix_nano.value_or(0), wall_clock_unix_nano() + 1);
    }
    if (!hourly.since_unix_nano) {
      hourly.since_unix_nano =
          *hourly.until_unix_nano > kHourlyUpTo ? *hourly.until_unix_nano - kHourlyUpTo : 0;
    }
    std::vector<HourlySpend> hours = value_or_throw(store.spend_by_hour(hourly));
    const uint64_t first = *hourly.since_unix_nano / kHourNano * kHourNano;
    const uint64_t last = *hourly.until_unix_nano;
    for (uint64_t h = first; h < last && names.size() < 24 * kMaxHourlySpendDays + 1;
         h += kHourNano) {
      names.push_back(format_rfc3339(h));
    }
    totals.assign(names.size(), 0);
    by_model.resize(names.size());
    for (const HourlySpend& h : hours) {
      size_t i = static_cast<size_t>((h.hour_start_unix_nano - first) / kHourNano);
      if (h.hour_start_unix_nano < first || i >= names.size()) continue;
      totals[i] += h.cost_pico_usd;
      by_model[i][h.model.value_or("(none)")] += h.cost_pico_usd;
    }
  } else {
    std::unordered_map<std::string, size_t> index;
    for (const ReportRow& d : value_or_throw(store.report(ReportQuery{ReportGroup::day, filter}))) {
      index[d.group.value_or("")] = names.size();
      names.push_back(d.group.value_or(""));
      totals.push_back(d.cost_pico_usd);
    }
    by_model.resize(names.size());
    // Only the models that can be drawn: the costliest when stacked by model,
    // every model (up to kChartModelsRead) when they are grouped by provider.
    const size_t wanted = stack == "model" ? kChartModels : kChartModelsRead;
    size_t read = 0;
    for (const ReportRow& m : models) {
      if (read == wanted || m.cost_pico_usd == 0) break;
      ++read;
      StoreFilter f = filter;
      f.model = m.group.value_or("");
      check(store.report(ReportQuery{ReportGroup::day, f}, [&](const ReportRow& d) {
        auto it = index.find(d.group.value_or(""));
        if (it != index.end()) by_model[it->second][m.group.value_or("(none)")] += d.cost_pico_usd;
        return true;
      }));
    }
  }

  // Each model's series under its key (itself or its provider).
  std::map<std::string, std::string> key_of;
  if (stack == "provider") {
    std::vector<std::string> named;
    for (const ReportRow& m : models) {
      if (m.group) named.push_back(*m.group);
    }
    key_of = value_or_throw(store.providers(named));
  }
  auto key = [&](const std::string& model) -> std::string {
    if (stack == "model") return model;
    auto it = key_of.find(model);
    return it == key_of.end() ? "(unknown)" : it->second;
  };
  std::map<std::string, std::vector<int64_t>> series;
  std::map<std::string, int64_t> series_total;
  for (size_t i = 0; i < by_model.size(); ++i) {
    for (const auto& [model, cost] : by_model[i]) {
      std::vector<int64_t>& s = series[key(model)];
      s.resize(names.size());
      s[i] += cost;
      series_total[key(model)] += cost;
    }
  }
  std::vector<std::string> order;
  for (const auto& [k, total] : series_total) {
    if (total != 0) order.push_back(k);
  }
  std::stable_sort(order.begin(), order.end(), [&](const std::string& a, const std::string& b) {
    return series_total[a] > series_total[b];
  });
  if (order.size() > kChartModels) order.resize(kChartModels);

  std::string out =
      "{\"bucket\":" + json_string(bucket) + ",\"stack\":" + json_string(stack) + ",\"buckets\":[";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? "," : "") + json_string(names[i]);
  out += "],\"series\":[";
  std::vector<int64_t> rest = totals;
  auto add_series = [&](const std::string& name, const std::vector<int64_t>& cost) {
    std::string pico, exact;
    for (size_t i = 0; i < cost.size(); ++i) {
      pico += (i ? "," : "") + std::to_string(cost[i]);
      exact += (i ? "," : "") + json_string(pico_to_usd_string(cost[i]));
    }
    out += std::string(out.back() == '[' ? "" : ",") + "{\"name\":" + json_string(name) +
           ",\"cost_pico_usd\":[" + pico + "],\"cost_usd_exact\":[" + exact + "]}";
  };
  for (const std::string& k : order) {
    const std::vector<int64_t>& cost = series[k];
    for (size_t i = 0; i < rest.size(); ++i) rest[i] -= cost[i];
    add_series(k, cost);
  }
  if (std::any_of(rest.begin(), rest.end(), [](int64_t c) { return c != 0; })) {
    add_series("other", rest);
  }
  return out + "]}";
}

std::string overview(const Store& store, const ApiParams& params) {
  StoreFilter filter = filter_of(params);
  filter.user_id.reset();
  ReportRow total = value_or_throw(store.report_total(filter));
  std::vector<ReportRow> models =
      value_or_throw(store.report(ReportQuery{ReportGroup::model, filter}));
  std::vector<Record> model_records;
  for (const ReportRow& m : models) model_records.push_back(report_record(m, "model"));
  ReportQuery users{ReportGroup::user, filter};
  users.page.limit = 10;
  ConversationQuery conversations;
  conversations.filter = filter;
  conversations.sort = ConversationSort::cost;
  conversations.page.limit = 10;
  std::vector<Record> top_conversations;
  check(store.conversations(conversations, [&](const ConversationSummary& c) {
    top_conversations.push_back(conversation_summary_record(c));
    return true;
  }));
  std::vector<Record> types;
  check(store.report(ReportQuery{ReportGroup::workflow_type, filter}, [&](const ReportRow& r) {
    if (r.group) types.push_back(workflow_type_record(r));
    return true;
  }));
  Record totals = report_record(total, "group");
  return "{\"range\":" + range_json(filter) + ",\"total\":" + totals.json() +
         ",\"by_model\":" + array_of(model_records) +
         ",\"top_users\":" + array_of(report_records(store, users, "user")) +
         ",\"top_conversations\":" + array_of(top_conversations) +
         ",\"workflow_types\":" + array_of(types) +
         ",\"spend\":" + spend_json(store, filter, models, params) + "}";
}

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

bool content_contains(const ConversationView& v, const std::string& needle) {
  for (const TurnView& t : v.turns) {
    for (const SpanView& s : t.spans) {
      if (s.input_messages && lower(*s.input_messages).find(needle) != std::string::npos)
        return true;
      if (s.output_messages && lower(*s.output_messages).find(needle) != std::string::npos)
        return true;
    }
  }
  return false;
}

std::string conversations(const Store& store, const ApiParams& params) {
  ConversationQuery query;
  query.filter = filter_of(params);
  sort_param(params, parse_conversation_sort, &query.sort, &query.descending);
  const int64_t limit = int_param(params, "limit", kDefaultPage, kMaxPage);
  int64_t skip = int_param(params, "offset", 0, INT64_MAX / 2);
  std::optional<int64_t> min_cost;
  if (auto text = param(params, "min_cost")) {
    min_cost = parse_usd(*text);
    if (!min_cost) throw BadRequest{"min_cost '" + *text + "' is not a USD amount like 0.01"};
  }
  const bool errors_only = param(params, "errors").value_or("") == "1";
  const std::string needle = lower(param(params, "q").value_or(""));
  const bool filtered = min_cost || errors_only || !needle.empty();
  if (!filtered) {
    query.page = Page{limit + 1, skip};
    skip = 0;
  }
  std::vector<Record> rows;
  bool more = false, scan_limited = false;
  // Keeps a match unless it is before the page or after it.
  auto take = [&](const ConversationSummary& c) {
    if (skip > 0) {
      --skip;
      return true;
    }
    if (static_cast<int64_t>(rows.size()) == limit) {
      more = true;
      return false;
    }
    rows.push_back(conversation_summary_record(c));
    return true;
  };
  std::vector<ConversationSummary> candidates;  // for the text search, read after the listing
  check(store.conversations(query, [&](const ConversationSummary& c) {
    if (min_cost && c.cost_pico_usd < *min_cost) return true;
    if (errors_only && c.errors == 0) return true;
    if (needle.empty()) return take(c);
    if (static_cast<int64_t>(candidates.size()) == kTextScanLimit) {
      scan_limited = true;
      return false;
    }
    candidates.push_back(c);
    return true;
  }));
  for (const ConversationSummary& c : candidates) {
    auto view = store.conversation(c.conversation_id);
    if (view && content_contains(*view, needle) && !take(c)) break;
  }
  return "{\"rows\":" + array_of(rows) + ",\"more\":" + (more ? "true" : "false") +
         ",\"text_scan_limited\":" + (scan_limited ? "true" : "false") + "}";
}

std::string trace(const Store& store, const ApiParams& params) {
  std::string id = param(params, "id").value_or("");
  if (id.size() != 32) throw BadRequest{"id: a trace id of 32 hex digits"};
  std::vector<SpanData> spans = value_or_throw(store.load_trace(lower(id)));
  std::string out = "{\"trace_id\":" + json_string(lower(id)) + ",\"spans\":[";
  for (size_t i = 0; i < spans.size(); ++i) {
    const SpanData& s = spans[i];
    Record r;
    r.text("span_id", s.span_id.hex())
        .text("parent_span_id", s.parent_span_id.valid() ? s.parent_span_id.hex() : "")
        .text("name", s.name)
        .time("start", s.start_unix_nano)
        .time("end", s.end_unix_nano)
        .integer("status_code", static_cast<int64_t>(s.status.code))
        .text("status_message", s.status.description)
        .raw_json("attributes", attributes_json(s.attributes))
        .raw_json("events", events_json(s.events))
        .raw_json("resource",
                  attributes_json(s.resource ? s.resource->attributes : std::vector<Attribute>{}));
    out += (i ? "," : "") + r.json();
  }
  return out + "]}";
}

// Nearest-rank percentile of sorted values.
int64_t percentile(const std::vector<int64_t>& sorted, int p) {
  if (sorted.empty()) return 0;
  size_t rank = (static_cast<size_t>(p) * sorted.size() + 99) / 100;
  return sorted[std::max<size_t>(rank, 1) - 1];
}

// Parts per million of `total`, for bars (the exact amounts are beside it).
int64_t share_ppm(int64_t part, int64_t total) {
  if (total <= 0) return 0;
  return std::llround(1e6 * static_cast<double>(part) / static_cast<double>(total));
}

std::string workflows(const Store& store, const ApiParams& params) {
  StoreFilter filter = filter_of(params);
  std::vector<ReportRow> types;
  check(store.report(ReportQuery{ReportGroup::workflow_type, filter}, [&](const ReportRow& r) {
    if (r.group) types.push_back(r);
    return true;
  }));
  std::vector<Record> out;
  for (const ReportRow& t : types) {
    WorkflowQuery runs;
    runs.filter = filter;
    runs.filter.workflow_type = t.group;
    std::vector<int64_t> costs;
    check(store.workflows(runs, [&](const WorkflowRun& r) {
      costs.push_back(r.cost_pico_usd);
      return true;
    }));
    std::sort(costs.begin(), costs.end());
    Record r = workflow_type_record(t);
    r.money("p50_run_cost", percentile(costs, 50)).money("p95_run_cost", percentile(costs, 95));
    out.push_back(std::move(r));
  }
  return "{\"types\":" + array_of(out) + "}";
}

std::string workflow_runs(const Store& store, const ApiParams& params) {
  WorkflowQuery query;
  query.filter = filter_of(params);
  if (auto type = param(params, "type")) query.filter.workflow_type = *type;
  sort_param(params, parse_workflow_sort, &query.sort, &query.descending);
  const int64_t limit = int_param(params, "limit", kDefaultPage, kMaxPage);
  query.page = Page{limit + 1, int_param(params, "offset", 0, INT64_MAX / 2)};
  std::vector<Record> rows;
  bool more = false;
  check(store.workflows(query, [&](const WorkflowRun& r) {
    if (static_cast<int64_t>(rows.size()) == limit) {
      more = true;
      return false;
    }
    rows.push_back(workflow_run_record(r));
    return true;
  }));
  return "{\"rows\":" + array_of(rows) + ",\"more\":" + (more ? "true" : "false") + "}";
}

// One run's step tree: the workflow span and everything below it, each with
// its own cost and the cost of its subtree as a share of the run's.
std::string workflow_run(const Store& store, const ApiParams& params) {
  std::string id = param(params, "id").value_or("");
  std::string trace_id = lower(param(params, "trace").value_or(""));
  if (id.empty() || trace_id.size() != 32)
    throw BadRequest{"id and trace (32 hex digits) are needed"};
  std::vector<SpanData> spans = value_or_throw(store.load_trace(trace_id));
  if (spans.empty()) throw Error{Error::not_found, "no trace " + trace_id + " in the store"};
  // Costs as the store priced them: from the conversation view when the run is in one.
  std::unordered_map<std::string, int64_t> priced;
  std::string conversation_id;
  for (const SpanData& s : spans) {
    if (const std::string* c = find_string(s.attributes, attr::kConversationId))
      conversation_id = *c;
  }
  if (!conversation_id.empty()) {
    if (auto view = store.conversation(conversation_id)) {
      for (const TurnView& t : view->turns) {
        for (const SpanView& s : t.spans) {
          if (s.trace_id == trace_id && s.cost_pico_usd) priced[s.span_id] = *s.cost_pico_usd;
        }
      }
    }
  }
  auto own_cost = [&](const SpanData& s) -> int64_t {
    auto it = priced.find(s.span_id.hex());
    if (it != priced.end()) return it->second;
    const int64_t* pico = find_int(s.attributes, attr::kCostPicoUsd);
    return pico ? *pico : 0;
  };
  std::unordered_map<std::string, std::vector<const SpanData*>> children;
  const SpanData* root = nullptr;
  for (const SpanData& s : spans) {
    if (s.parent_span_id.valid()) children[s.parent_span_id.hex()].push_back(&s);
    const std::string* wf = find_string(s.attributes, attr::kWorkflowId);
    if (!wf || *wf != id) continue;
    const std::string* kind = find_string(s.attributes, attr::kSpanKind);
    if (!root || (kind && *kind == "workflow")) root = &s;
  }
  if (!root) throw Error{Error::not_found, "no span of workflow '" + id + "' in trace " + trace_id};
  std::unordered_map<const SpanData*, int64_t> subtree;
  std::function<int64_t(const SpanData*, int)> sum = [&](const SpanData* s, int depth) -> int64_t {
    int64_t c = own_cost(*s);
    if (depth < 1000) {
      for (const SpanData* k : children[s->span_id.hex()]) c += sum(k, depth + 1);
    }
    return subtree[s] = c;
  };
  const int64_t total = sum(root, 0);
  std::vector<Record> steps;
  std::vector<std::pair<const SpanData*, int>> stack = {{root, 0}};
  while (!stack.empty()) {
    auto [s, depth] = stack.back();
    stack.pop_back();
    const std::string* kind = find_string(s->attributes, attr::kSpanKind);
    Record r;
    r.text("span_id", s->span_id.hex())
        .integer("depth", depth)
        .text("name", s->name)
        .text("kind", kind ? *kind : "")
        .integer("start_offset_nano",
                 static_cast<int64_t>(s->start_unix_nano - root->start_unix_nano))
        .integer("duration_nano", static_cast<int64_t>(s->end_unix_nano - s->start_unix_nano))
        .money("own_cost", own_cost(*s))
        .money("subtree_cost", subtree[s])
        .integer("cost_share_ppm", share_ppm(subtree[s], total))
        .text("status", s->status.code == StatusCode::error ? "error" : "ok");
    steps.push_back(std::move(r));
    auto& kids = children[s->span_id.hex()];
    std::sort(kids.begin(), kids.end(), [](const SpanData* a, const SpanData* b) {
      return a->start_unix_nano < b->start_unix_nano;
    });
    if (depth < 1000) {
      for (auto it = kids.rbegin(); it != kids.rend(); ++it) stack.emplace_back(*it, depth + 1);
    }
  }
  Record head;
  head.text("workflow_id", id)
      .text("trace_id", trace_id)
      .text_or_null("conversation_id", conversation_id)
      .money("cost", total);
  std::string out = head.json();
  out.pop_back();
  return out + ",\"steps\":" + array_of(steps) + "}";
}

// The report by user or model, each row with its calls' latency percentiles.
std::string grouped(const Store& store, const ApiParams& params, ReportGroup by) {
  StoreFilter filter = filter_of(params);
  filter.user_id.reset();
  std::string column(to_string(by));
  std::map<std::string, LatencyRow> latency;
  for (LatencyRow& l : value_or_throw(store.latency(by, filter))) {
    latency[l.group.value_or("")] = std::move(l);
  }
  std::vector<Record> rows;
  check(store.report(ReportQuery{by, filter}, [&](const ReportRow& r) {
    Record record = report_record(r, column);
    const LatencyRow& l = latency[r.group.value_or("")];
    record.integer("latency_p50_nano", static_cast<int64_t>(l.p50_nano))
        .integer("latency_p95_nano", static_cast<int64_t>(l.p95_nano))
        .integer("latency_p99_nano", static_cast<int64_t>(l.p99_nano))
        .integer("latency_max_nano", static_cast<int64_t>(l.max_nano));
    rows.push_back(std::move(record));
    return true;
  }));
  return "{\"rows\":" + array_of(rows) + "}";
}

std::string live(const Store& store) {
  return "{\"span_count\":" + std::to_string(value_or_throw(store.span_count())) + "}";
}

}  // namespace

ApiReply answer_api(const Store& store, const std::string& path, const ApiParams& params) {
  try {
    if (path == "/api/overview") return {200, overview(store, params)};
    if (path == "/api/conversations") return {200, conversations(store, params)};
    if (path == "/api/conversation") {
      auto id = param(params, "id");
      if (!id) throw BadRequest{"id: the conversation id"};
      return {200, conversation_json(value_or_throw(store.conversation(*id)))};
    }
    if (path == "/api/trace") return {200, trace(store, params)};
    if (path == "/api/workflows") return {200, workflows(store, params)};
    if (path == "/api/workflow_runs") return {200, workflow_runs(store, params)};
    if (path == "/api/workflow_run") return {200, workflow_run(store, params)};
    if (path == "/api/users") return {200, grouped(store, params, ReportGroup::user)};
    if (path == "/api/models") return {200, grouped(store, params, ReportGroup::model)};
    if (path == "/api/live") return {200, live(store)};
    return {404, error_json("no endpoint " + path)};
  } catch (const BadRequest& e) {
    return {400, error_json(e.message)};
  } catch (const Error& e) {
    int status = e.code == Error::not_found ? 404 : e.code == Error::invalid_argument ? 400 : 500;
    return {status, error_json(e.message)};
  } catch (const std::exception& e) {
    return {500, error_json(e.what())};
  }
}

}  // namespace convtrace::cli
