// The questions the CLI asks: reports, conversations, workflow runs. Written
// once over store::Backend: the same SQL runs on SQLite and PostgreSQL.
#include <algorithm>
#include <limits>
#include <map>
#include <set>
#include <unordered_map>

#include "convtrace/attributes.h"
#include "store/admit.h"
#include "store/packed.h"
#include "store/rollup.h"
#include "store/store_impl.h"

namespace convtrace {
namespace {

using store::Params;
using store::Value;

constexpr int64_t kNoLimit = std::numeric_limits<int64_t>::max();

// A statement and its parameters, built together so ?N always matches.
class Sql {
 public:
  Sql& operator<<(std::string_view text) {
    text_ += text;
    return *this;
  }
  // Appends a placeholder for `v`.
  Sql& operator<<(const Value& v) {
    params_.push_back(v);
    text_ += '?';
    text_ += std::to_string(params_.size());
    return *this;
  }
  const std::string& text() const { return text_; }
  const Params& params() const { return params_; }

 private:
  std::string text_;
  Params params_;
};

int64_t clamp_ns(uint64_t ns) {
  return ns > static_cast<uint64_t>(kNoLimit) ? kNoLimit : static_cast<int64_t>(ns);
}

// " AND user_id = … AND workflow_type = … AND model = …" for the dimensions
// `f` filters on (rollup_daily and spans name them alike).
void and_dimensions(Sql& sql, const StoreFilter& f) {
  if (f.user_id) sql << " AND user_id = " << Value::text(*f.user_id);
  if (f.workflow_type) sql << " AND workflow_type = " << Value::text(*f.workflow_type);
  if (f.model) sql << " AND model = " << Value::text(*f.model);
}

void add_page(Sql& sql, const Page& page) {
  sql << " LIMIT " << Value::of(page.limit > 0 ? page.limit : kNoLimit) << " OFFSET "
      << Value::of(std::max<int64_t>(0, page.offset));
}

// --- Reports -----------------------------------------------------------------

// How a report reads a time range: whole days from the roll-ups, the partial
// days at its edges from the spans (by their start-time index). An edge that
// covers more than half its day is read as the whole day from the roll-ups
// minus the spans of the rest of it, so that no edge reads more than half a
// day of spans: every number a report shows is a sum over spans (see
// store/rollup.h), so the difference is exact.
struct TimeSplit {
  using Range = std::pair<int64_t, std::optional<int64_t>>;
  bool rollup = true;
  std::optional<int64_t> day_lo, day_hi;  // rollup days [lo, hi)
  // [from, to) in ns; no `to`: to the end of time (a span may start at
  // INT64_MAX nanoseconds, the last instant the store holds).
  std::vector<Range> span_ranges;
  std::vector<Range> minus_ranges;  // spans to subtract from the roll-ups
};

TimeSplit split_time(const StoreFilter& f) {
  TimeSplit t;
  constexpr int64_t D = store::kNanosPerDay;
  std::optional<int64_t> s, u;
  if (f.since_unix_nano) s = clamp_ns(*f.since_unix_nano);
  if (f.until_unix_nano) u = clamp_ns(*f.until_unix_nano);
  if (s) t.day_lo = *s / D + (*s % D ? 1 : 0);
  if (u) t.day_hi = *u / D;
  // The day of the last instant the store holds: no whole day follows it.
  constexpr int64_t kLastDay = kNoLimit / D;
  if ((t.day_lo && t.day_hi && *t.day_lo >= *t.day_hi) || (t.day_lo && *t.day_lo > kLastDay)) {
    // Within one day (or two partial days): the spans alone.
    t.rollup = false;
    t.day_lo.reset();
    t.day_hi.reset();
    t.span_ranges.emplace_back(*s, u);
    return t;
  }
  if (s && *s < *t.day_lo * D) {
    if (*t.day_lo * D - *s > D / 2) {
      --*t.day_lo;
      t.minus_ranges.emplace_back(*t.day_lo * D, *s);
    } else {
      t.span_ranges.emplace_back(*s, *t.day_lo * D);
    }
  }
  if (u && *u > *t.day_hi * D) {
    if (*u - *t.day_hi * D > D / 2 && *t.day_hi < kLastDay) {
      ++*t.day_hi;
      t.minus_ranges.emplace_back(*u, *t.day_hi * D);
    } else {
      t.span_ranges.emplace_back(*t.day_hi * D, *u);
    }
  }
  return t;
}

// A part of rollup_by to sum: `dimension` rows with period in [lo, hi).
struct Periods {
  const char* dimension;
  std::optional<int64_t> lo, hi;
};

// The rollup_by parts that cover the whole days [lo, hi) for a grouping: for
// users, whole months from user_month and the other days from user_day.
std::vector<Periods> rollup_parts(ReportGroup by, std::optional<int64_t> lo,
                                  std::optional<int64_t> hi) {
  switch (by) {
    case ReportGroup::model:
    case ReportGroup::day:
      return {{store::kModelDay, lo, hi}};
    case ReportGroup::workflow_type:
      return {{store::kTypeDay, lo, hi}};
    case ReportGroup::user:
    case ReportGroup::conversation:
      break;
  }
  std::optional<int64_t> mlo, mhi;  // whole months [mlo, mhi)
  if (lo) mlo = store::month_of(*lo) + (store::month_start(store::month_of(*lo)) == *lo ? 0 : 1);
  if (hi) mhi = store::month_of(*hi);
  if (mlo && mhi && *mlo >= *mhi) return {{store::kUserDay, lo, hi}};
  std::vector<Periods> parts = {{store::kUserMonth, mlo, mhi}};
  if (lo) parts.push_back({store::kUserDay, lo, store::month_start(*mlo)});
  if (hi) parts.push_back({store::kUserDay, store::month_start(*mhi), hi});
  return parts;
}

// The group expressions of each grouping, over the roll-ups and over spans;
// and which counters count its conversations and runs.
struct Grouping {
  const char* rollup;  // over rollup_daily; null: not in the roll-ups (conversation)
  const char* narrow;  // over rollup_by
  const char* spans;
  int conv_counter;  // index into kCounterColumns
  int64_t conv_bit;
  const char* run_counter;
  int64_t run_bit;
};

Grouping grouping(std::optional<ReportGroup> by) {
  using namespace store;
  if (!by) return {"''", "''", "''", 0, kConvUser, "run_user", kRunUser};  // one group: the total
  switch (*by) {
    case ReportGroup::user:
      return {"user_id", "value", "COALESCE(user_id, '')", 0, kConvUser, "run_user", kRunUser};
    case ReportGroup::model:
      return {"model", "value", "COALESCE(model, '')", 1, kConvModel, "run_model", kRunModel};
    case ReportGroup::workflow_type:
      return {"workflow_type", "value", "COALESCE(workflow_type, '')", 2, kConvType,
              "run_type",      kRunType};
    case ReportGroup::day:
      return {"day", "period", "start_ns / 86400000000000", 3, kConvDay, "run_day", kRunDay};
    case ReportGroup::conversation:
      return {nullptr, nullptr, "COALESCE(conversation_id, '')", 0, 0, nullptr, kRunConversation};
  }
  return grouping(ReportGroup::user);
}

const char* sort_column(ReportSort sort) {
  switch (sort) {
    case ReportSort::cost:
      return "r_cost";
    case ReportSort::group:
      return "g";
    case ReportSort::llm_calls:
      return "r_calls";
    case ReportSort::input_tokens:
      return "r_input";
    case ReportSort::output_tokens:
      return "r_output";
    case ReportSort::conversations:
      return "r_conversations";
    case ReportSort::workflow_runs:
      return "r_runs";
    case ReportSort::errors:
      return "r_errors";
  }
  return "r_cost";
}

constexpr const char* kRollupSums =
    " AS g, spans, llm_calls, unpriced_calls, cost_pico, input_tokens, output_tokens, "
    "cache_read_tokens, cache_write_tokens, reasoning_tokens, errors, cost_disagreements, ";

// The report's statement: the roll-ups' whole days and the edge spans,
// summed by group.
Sql report_sql(std::optional<ReportGroup> by, const StoreFilter& f, std::optional<ReportSort> sort,
               std::optional<bool> descending, const Page& page) {
  const Grouping g = grouping(by);
  TimeSplit t = split_time(f);
  if (!g.rollup) {
    // Every span in the range.
    t.rollup = false;
    t.span_ranges.clear();
    t.minus_ranges.clear();
    if (f.since_unix_nano || f.until_unix_nano) {
      std::optional<int64_t> to;
      if (f.until_unix_nano) to = clamp_ns(*f.until_unix_nano);
      t.span_ranges.emplace_back(f.since_unix_nano ? clamp_ns(*f.since_unix_nano) : 0, to);
    }
  }
  Sql sql;
  sql << "SELECT g, SUM(spans) AS r_spans, SUM(llm_calls) AS r_calls, "
         "SUM(unpriced_calls) AS r_unpriced, SUM(cost_pico) AS r_cost, "
         "SUM(input_tokens) AS r_input, SUM(output_tokens) AS r_output, "
         "SUM(cache_read_tokens) AS r_cache_read, SUM(cache_write_tokens) AS r_cache_write, "
         "SUM(reasoning_tokens) AS r_reasoning, SUM(errors) AS r_errors, "
      << (g.rollup ? "SUM(convs)" : "MAX(convs)")
      << " AS r_conversations, SUM(runs) AS r_runs, SUM(cost_disagreements) AS r_disagreements "
         "FROM (";
  bool any = false;
  const char* convs = g.rollup ? store::kCounterColumns[g.conv_counter] : nullptr;
  if (t.rollup && (f.user_id || f.workflow_type || f.model)) {
    // Filtered: the roll-up of every dimension at once, by its indexes.
    any = true;
    sql << "SELECT " << g.rollup << kRollupSums << convs << " AS convs, " << g.run_counter
        << " AS runs FROM rollup_daily WHERE 1 = 1";
    if (t.day_lo) sql << " AND day >= " << Value::of(*t.day_lo);
    if (t.day_hi) sql << " AND day < " << Value::of(*t.day_hi);
    and_dimensions(sql, f);
  } else if (t.rollup) {
    // Unfiltered: one dimension's sums (the total: the models', which cover
    // every span once).
    for (const Periods& part : rollup_parts(by.value_or(ReportGroup::model), t.day_lo, t.day_hi)) {
      if (part.lo && part.hi && *part.lo >= *part.hi) continue;
      sql << (any ? " UNION ALL " : "") << "SELECT " << g.narrow << kRollupSums << convs
          << " AS convs, " << g.run_counter
          << " AS runs FROM rollup_by WHERE dimension = " << Value::text(part.dimension);
      if (part.lo) sql << " AND period >= " << Value::of(*part.lo);
      if (part.hi) sql << " AND period < " << Value::of(*part.hi);
      any = true;
    }
  }
  // The spans of `ranges` (none: every span, or none at all), each counted
  // with `sign`.
  auto spans_select = [&](const char* sign, const std::vector<TimeSplit::Range>& ranges, bool all) {
    std::string span_convs =
        g.rollup ? "CASE WHEN (firsts & " + std::to_string(g.conv_bit) + ") <> 0 THEN 1 ELSE 0 END"
                 : "CASE WHEN conversation_id IS NULL THEN 0 ELSE 1 END";
    auto col = [&](const std::string& expr, const char* name) {
      sql << ", " << sign << "(" << expr << ") AS " << name;
    };
    sql << "SELECT " << g.spans << " AS g";
    col("1", "spans");
    col("CASE WHEN input_tokens IS NOT NULL OR output_tokens IS NOT NULL OR cost_pico IS NOT "
        "NULL THEN 1 ELSE 0 END",
        "llm_calls");
    col("CASE WHEN cost_pico IS NULL AND (input_tokens IS NOT NULL OR output_tokens IS NOT "
        "NULL) THEN 1 ELSE 0 END",
        "unpriced_calls");
    col("COALESCE(cost_pico, 0)", "cost_pico");
    col("COALESCE(input_tokens, 0)", "input_tokens");
    col("COALESCE(output_tokens, 0)", "output_tokens");
    col("COALESCE(cache_read_tokens, 0)", "cache_read_tokens");
    col("COALESCE(cache_write_tokens, 0)", "cache_write_tokens");
    col("COALESCE(reasoning_tokens, 0)", "reasoning_tokens");
    col("CASE WHEN status_code = 2 THEN 1 ELSE 0 END", "errors");
    col("CASE WHEN catalog_cost_pico IS NULL THEN 0 ELSE 1 END", "cost_disagreements");
    col(span_convs, "convs");
    col("CASE WHEN (firsts & " + std::to_string(g.run_bit) + ") <> 0 THEN 1 ELSE 0 END", "runs");
    sql << " FROM spans WHERE ";
    if (ranges.empty()) {
      // Every span (a conversation report) — or none (an empty range of days).
      sql << (all ? "1 = 1" : "1 = 0");
    } else {
      sql << "(";
      for (size_t i = 0; i < ranges.size(); ++i) {
        sql << (i ? " OR " : "") << "(start_ns >= " << Value::of(ranges[i].first);
        if (ranges[i].second) sql << " AND start_ns < " << Value::of(*ranges[i].second);
        sql << ")";
      }
      sql << ")";
    }
    and_dimensions(sql, f);
  };
  bool all_spans = !g.rollup && t.span_ranges.empty();
  if (!t.span_ranges.empty() || all_spans || !any) {
    if (any) sql << " UNION ALL ";
    spans_select("", t.span_ranges, all_spans);
    any = true;
  }
  if (!t.minus_ranges.empty()) {
    sql << " UNION ALL ";
    spans_select("-", t.minus_ranges, false);
  }
  // A group whose spans in the range are none (all of its day's spans were
  // subtracted again) is no group of the report.
  sql << ") AS t GROUP BY g HAVING SUM(spans) > 0";
  ReportSort key = sort.value_or(by == ReportGroup::day ? ReportSort::group : ReportSort::cost);
  bool desc = descending.value_or(key != ReportSort::group);
  sql << " ORDER BY " << sort_column(key) << (desc ? " DESC" : " ASC");
  if (key != ReportSort::group) sql << ", g ASC";
  add_page(sql, page);
  return sql;
}

ReportRow read_report_row(const store::Row& r, std::optional<ReportGroup> by) {
  ReportRow row;
  if (by == ReportGroup::day) {
    row.group = store::day_text(r.int64(0));
  } else if (by) {
    std::string g = r.text(0);
    if (!g.empty()) row.group = std::move(g);
  }
  row.spans = r.int64(1);
  row.llm_calls = r.int64(2);
  row.unpriced_calls = r.int64(3);
  row.cost_pico_usd = r.int64(4);
  row.input_tokens = r.int64(5);
  row.output_tokens = r.int64(6);
  row.cache_read_tokens = r.int64(7);
  row.cache_write_tokens = r.int64(8);
  row.reasoning_tokens = r.int64(9);
  row.errors = r.int64(10);
  if (by) {
    row.conversations = r.int64(11);
    row.workflow_runs = r.int64(12);
  }
  row.cost_disagreements = r.int64(13);
  return row;
}

// --- Conversations and runs, span by span -------------------------------------

// One span row as the conversation and workflow views need it.
struct SpanRow {
  int64_t id = 0;
  std::string trace_id, span_id, parent_span_id, name, kind, model, provider, error;
  std::string workflow_id, workflow_type, conversation_id, user_id;
  uint64_t start = 0, end = 0;
  std::optional<int64_t> turn, input, output, cache_read, cache_write, reasoning, cost, wf_cost;
  StatusCode status = StatusCode::unset;
  bool is_call() const { return input || output || cost; }
};

constexpr std::string_view kRowColumns =
    "id, trace_id, span_id, parent_span_id, name, genai_kind, model, provider, error, "
    "workflow_id, workflow_type, conversation_id, user_id, start_ns, end_ns, turn, input_tokens, "
    "output_tokens, cache_read_tokens, cache_write_tokens, reasoning_tokens, cost_pico, "
    "workflow_cost_pico, status_code";

SpanRow read_row(const store::Row& s) {
  SpanRow r;
  r.id = s.int64(0);
  r.trace_id = s.text(1);
  r.span_id = s.text(2);
  r.parent_span_id = s.text(3);
  r.name = s.text(4);
  r.kind = s.text(5);
  r.model = s.text(6);
  r.provider = s.text(7);
  r.error = s.text(8);
  r.workflow_id = s.text(9);
  r.workflow_type = s.text(10);
  r.conversation_id = s.text(11);
  r.user_id = s.text(12);
  r.start = static_cast<uint64_t>(s.int64(13));
  r.end = static_cast<uint64_t>(s.int64(14));
  r.turn = s.opt_int64(15);
  r.input = s.opt_int64(16);
  r.output = s.opt_int64(17);
  r.cache_read = s.opt_int64(18);
  r.cache_write = s.opt_int64(19);
  r.reasoning = s.opt_int64(20);
  r.cost = s.opt_int64(21);
  r.wf_cost = s.opt_int64(22);
  r.status = static_cast<StatusCode>(s.int64(23));
  return r;
}

std::string key_of(const std::string& trace, const std::string& span) { return trace + span; }

bool earlier(const SpanRow* a, const SpanRow* b) {
  return a->start != b->start ? a->start < b->start : a->id < b->id;
}

// The costliest direct child of the run's workflow span, counting everything
// below it (see WorkflowRun). `rows`: every span of one run.
void costliest_step(const std::vector<SpanRow>& rows, WorkflowRun* run) {
  std::unordered_map<std::string, const SpanRow*> by_key;
  for (const SpanRow& r : rows) by_key[key_of(r.trace_id, r.span_id)] = &r;
  auto parent_of = [&](const SpanRow* r) -> const SpanRow* {
    if (r->parent_span_id.empty()) return nullptr;
    auto it = by_key.find(key_of(r->trace_id, r->parent_span_id));
    return it == by_key.end() ? nullptr : it->second;
  };
  // The workflow span: the one carrying the workflow total, else the
  // earliest span whose parent is outside the run.
  const SpanRow* top = nullptr;
  for (const SpanRow& r : rows) {
    if (!top && r.wf_cost) top = &r;
  }
  for (const SpanRow& r : rows) {
    if (!top && !parent_of(&r)) top = &r;
  }
  if (!top && !rows.empty()) top = &rows.front();
  std::map<const SpanRow*, int64_t> step_cost;
  for (const SpanRow& r : rows) {
    if (!r.cost) continue;
    const SpanRow* step = &r;
    for (int guard = 0; guard < 10000 && step != top; ++guard) {
      const SpanRow* p = parent_of(step);
      if (!p || p == top) break;
      step = p;
    }
    step_cost[step] += *r.cost;
  }
  for (auto& [step, cost] : step_cost) {
    if (run->costliest_step.empty() || cost > run->costliest_step_cost_pico_usd ||
        (cost == run->costliest_step_cost_pico_usd && step->name < run->costliest_step)) {
      run->costliest_step = step->name;
      run->costliest_step_cost_pico_usd = cost;
    }
  }
}

// --- Listings from the summaries -----------------------------------------------

struct SortColumn {
  const char* column;
  bool text;
};

SortColumn conversation_sort_column(ConversationSort sort) {
  switch (sort) {
    case ConversationSort::last_seen:
      return {"last_end_ns", false};
    case ConversationSort::first_seen:
      return {"first_start_ns", false};
    case ConversationSort::cost:
      return {"cost_pico", false};
    case ConversationSort::turns:
      return {"turns", false};
    case ConversationSort::llm_calls:
      return {"llm_calls", false};
    case ConversationSort::errors:
      return {"errors", false};
    case ConversationSort::id:
      return {"conversation_id", true};
  }
  return {"last_end_ns", false};
}

SortColumn workflow_sort_column(WorkflowSort sort) {
  switch (sort) {
    case WorkflowSort::cost:
      return {"cost_pico", false};
    case WorkflowSort::start:
      return {"first_start_ns", false};
    case WorkflowSort::llm_calls:
      return {"llm_calls", false};
    case WorkflowSort::errors:
      return {"errors", false};
    case WorkflowSort::id:
      return {"workflow_id", true};
  }
  return {"cost_pico", false};
}

constexpr const char* kRunListColumns =
    "workflow_id, workflow_type, conversation_id, user_id, trace_id, first_start_ns, "
    "last_end_ns, cost_pico, workflow_cost_pico, llm_calls, input_tokens, output_tokens, errors";

WorkflowRun read_run(const store::Row& r) {
  WorkflowRun run;
  run.workflow_id = r.text(0);
  run.workflow_type = r.text(1);
  run.conversation_id = r.text(2);
  run.user_id = r.text(3);
  run.trace_id = r.text(4);
  run.start_unix_nano = static_cast<uint64_t>(r.int64(5));
  run.end_unix_nano = static_cast<uint64_t>(r.int64(6));
  run.cost_pico_usd = r.int64(7);
  run.cost_from_workflow_span = !r.is_null(8);
  run.llm_calls = r.int64(9);
  run.input_tokens = r.int64(10);
  run.output_tokens = r.int64(11);
  run.errors = r.int64(12);
  return run;
}

template <typename T>
Error collect(const std::function<Error(const RowSink<T>&)>& run, std::vector<T>* out) {
  return run([out](const T& row) {
    out->push_back(row);
    return true;
  });
}

}  // namespace

// --- Report ---------------------------------------------------------------------

Error Store::report(const ReportQuery& query, const RowSink<ReportRow>& sink) const {
  if (Error e = store::check_filter(query.filter)) return e;
  try {
    Sql sql = report_sql(query.by, query.filter, query.sort, query.descending, query.page);
    std::lock_guard<std::mutex> lock(impl_->mu);
    return store::in_transaction(*impl_->db, false, [&] {
      return impl_->db->query(sql.text(), sql.params(), [&](const store::Row& r) {
        return sink(read_report_row(r, query.by));
      });
    });
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::vector<ReportRow>> Store::report(const ReportQuery& query) const {
  std::vector<ReportRow> out;
  if (Error e =
          collect<ReportRow>([&](const RowSink<ReportRow>& s) { return report(query, s); }, &out)) {
    return e;
  }
  return out;
}

Expected<ReportRow> Store::report_total(const StoreFilter& filter) const {
  if (Error e = store::check_filter(filter)) return e;
  try {
    Sql sql = report_sql(std::nullopt, filter, ReportSort::group, false, Page{});
    ReportRow total;
    std::lock_guard<std::mutex> lock(impl_->mu);
    Error e = store::in_transaction(*impl_->db, false, [&] {
      return impl_->db->query(sql.text(), sql.params(), [&](const store::Row& r) {
        total = read_report_row(r, std::nullopt);
        return false;
      });
    });
    if (e) return e;
    return total;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

// --- Latency ----------------------------------------------------------------------

Expected<std::vector<LatencyRow>> Store::latency(ReportGroup by, const StoreFilter& f) const {
  try {
    if (by != ReportGroup::user && by != ReportGroup::model) {
      return Error{Error::invalid_argument, "latency is grouped by user or by model"};
    }
    Sql sql;
    sql << "SELECT " << (by == ReportGroup::user ? "COALESCE(user_id, '')" : "COALESCE(model, '')")
        << " AS g, end_ns - start_ns AS d FROM spans WHERE (input_tokens IS NOT NULL OR "
           "output_tokens IS NOT NULL OR cost_pico IS NOT NULL)";
    if (f.since_unix_nano) sql << " AND start_ns >= " << Value::of(clamp_ns(*f.since_unix_nano));
    if (f.until_unix_nano) sql << " AND start_ns < " << Value::of(clamp_ns(*f.until_unix_nano));
    and_dimensions(sql, f);
    sql << " ORDER BY g, d";
    std::vector<LatencyRow> out;
    std::vector<uint64_t> durations;  // of the group being read, ascending
    std::string current;
    auto finish = [&] {
      if (durations.empty()) return;
      auto rank = [&](size_t p) {
        size_t r = (p * durations.size() + 99) / 100;
        return durations[std::max<size_t>(r, 1) - 1];
      };
      LatencyRow row;
      if (!current.empty()) row.group = current;
      row.calls = static_cast<int64_t>(durations.size());
      row.p50_nano = rank(50);
      row.p95_nano = rank(95);
      row.p99_nano = rank(99);
      row.max_nano = durations.back();
      out.push_back(std::move(row));
      durations.clear();
    };
    std::lock_guard<std::mutex> lock(impl_->mu);
    Error e = store::in_transaction(*impl_->db, false, [&] {
      return impl_->db->query(sql.text(), sql.params(), [&](const store::Row& r) {
        std::string g = r.text(0);
        if (g != current) {
          finish();
          current = std::move(g);
        }
        int64_t d = r.int64(1);
        durations.push_back(d > 0 ? static_cast<uint64_t>(d) : 0);
        return true;
      });
    });
    if (e) return e;
    finish();
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

// --- Spend over time --------------------------------------------------------------

Expected<std::vector<HourlySpend>> Store::spend_by_hour(const StoreFilter& f) const {
  if (Error e = store::check_filter(f)) return e;
  if (!f.since_unix_nano || !f.until_unix_nano) {
    return Error{Error::invalid_argument, "spend by hour needs a time range (since and until)"};
  }
  constexpr uint64_t kHour = 3600ULL * 1000000000ULL;
  const uint64_t since = *f.since_unix_nano, until = *f.until_unix_nano;
  if (until > since && until - since > static_cast<uint64_t>(kMaxHourlySpendDays) * 24 * kHour) {
    return Error{Error::invalid_argument, "spend by hour covers at most " +
                                              std::to_string(kMaxHourlySpendDays) +
                                              " days; narrow the range or ask by day"};
  }
  try {
    Sql sql;
    sql << "SELECT start_ns / " << std::to_string(kHour)
        << " AS h, COALESCE(model, '') AS m, SUM(cost_pico) FROM spans WHERE cost_pico IS NOT "
           "NULL AND start_ns >= "
        << Value::of(clamp_ns(since)) << " AND start_ns < " << Value::of(clamp_ns(until));
    and_dimensions(sql, f);
    sql << " GROUP BY h, m ORDER BY h, m";
    std::vector<HourlySpend> out;
    std::lock_guard<std::mutex> lock(impl_->mu);
    Error e = store::in_transaction(*impl_->db, false, [&] {
      return impl_->db->query(sql.text(), sql.params(), [&](const store::Row& r) {
        HourlySpend h;
        h.hour_start_unix_nano = static_cast<uint64_t>(r.int64(0)) * kHour;
        std::string model = r.text(1);
        if (!model.empty()) h.model = std::move(model);
        h.cost_pico_usd = r.int64(2);
        if (h.cost_pico_usd != 0) out.push_back(std::move(h));
        return true;
      });
    });
    if (e) return e;
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::map<std::string, std::string>> Store::providers(
    const std::vector<std::string>& models) const {
  try {
    std::map<std::string, std::string> out;
    std::lock_guard<std::mutex> lock(impl_->mu);
    Error e = store::in_transaction(*impl_->db, false, [&]() -> Error {
      for (const std::string& model : models) {
        Error q = impl_->db->query(
            "SELECT provider FROM spans WHERE model = ?1 AND provider IS NOT NULL AND provider "
            "<> '' LIMIT 1",
            {Value::text(model)}, [&](const store::Row& r) {
              out[model] = r.text(0);
              return false;
            });
        if (q) return q;
      }
      return Error{};
    });
    if (e) return e;
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

// --- One conversation -------------------------------------------------------------

// The exception.message of the last exception event, else "".
static std::string last_exception_message(const std::vector<SpanEvent>& events) {
  for (auto e = events.rbegin(); e != events.rend(); ++e) {
    if (e->name != attr::kExceptionEventName) continue;
    for (const Attribute& a : e->attributes) {
      if (a.key == attr::kExceptionMessage) return store::typed_value_text(a.value);
    }
  }
  return "";
}

Expected<ConversationView> Store::conversation(std::string_view id) const {
  try {
    std::string conv(id);
    std::vector<SpanRow> rows;
    std::map<int64_t, std::pair<std::string, std::string>> content;  // span row → (input, output)
    std::map<int64_t, std::pair<std::string, std::vector<SpanEvent>>> told;  // → (status, events)
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      Sql sql;
      sql << "SELECT " << kRowColumns
          << ", attributes, status_message, events FROM spans WHERE trace_id IN (SELECT trace_id "
             "FROM spans WHERE "
             "conversation_id = "
          << Value::text(conv)
          << ") AND (conversation_id IS NULL OR conversation_id = " << Value::text(conv)
          << ") ORDER BY start_ns, id";
      Error damaged;
      std::vector<Attribute> attrs;
      Error e = store::in_transaction(*impl_->db, false, [&] {
        return impl_->db->query(sql.text(), sql.params(), [&](const store::Row& r) {
          rows.push_back(read_row(r));
          const SpanRow& row = rows.back();
          attrs.clear();
          std::string blob = r.blob(24);
          if (Error e = store::unpack_attributes(blob, &attrs)) {
            damaged = Error{e.code,
                            "span " + row.span_id + " of trace " + row.trace_id + ": " + e.message};
            return false;
          }
          // A key may repeat: its last value wins.
          for (const Attribute& a : attrs) {
            bool input = a.key == attr::kInputMessages;
            if (input || a.key == attr::kOutputMessages) {
              auto& slot = content[row.id];
              (input ? slot.first : slot.second) = store::typed_value_text(a.value);
            }
          }
          std::string message = r.text(25);
          std::string events = r.is_null(26) ? std::string() : r.blob(26);
          if (!message.empty() || !events.empty()) {
            auto& slot = told[row.id];
            slot.first = std::move(message);
            if (Error e = store::unpack_events(events, &slot.second)) {
              damaged = Error{
                  e.code, "span " + row.span_id + " of trace " + row.trace_id + ": " + e.message};
              return false;
            }
          }
          return true;
        });
      });
      if (e) return e;
      if (damaged) return damaged;
    }
    if (rows.empty()) {
      return Error{Error::not_found, "no conversation '" + conv + "' in the store"};
    }

    // Assign every span a turn (see ConversationView).
    std::unordered_map<std::string, const SpanRow*> by_key;
    std::map<std::string, std::optional<int64_t>> trace_min_turn;
    std::map<std::string, uint64_t> trace_start;
    for (const SpanRow& r : rows) {
      by_key[key_of(r.trace_id, r.span_id)] = &r;
      auto& m = trace_min_turn[r.trace_id];
      if (r.turn && (!m || *r.turn < *m)) m = r.turn;
      auto ts = trace_start.find(r.trace_id);
      if (ts == trace_start.end() || r.start < ts->second) trace_start[r.trace_id] = r.start;
    }
    int64_t max_turn = 0;
    for (auto& [trace, t] : trace_min_turn) {
      (void)trace;
      if (t) max_turn = std::max(max_turn, *t);
    }
    for (const SpanRow& r : rows) {
      if (r.turn) max_turn = std::max(max_turn, *r.turn);
    }
    std::vector<std::pair<uint64_t, std::string>> unturned;
    for (auto& [trace, t] : trace_min_turn) {
      if (!t) unturned.emplace_back(trace_start[trace], trace);
    }
    std::sort(unturned.begin(), unturned.end());
    std::map<std::string, int64_t> trace_turn;
    for (auto& [start, trace] : unturned) {
      (void)start;
      trace_turn[trace] = ++max_turn;
    }
    auto turn_of = [&](const SpanRow& r) -> int64_t {
      if (r.turn) return *r.turn;
      const SpanRow* cur = &r;
      for (int guard = 0; guard < 10000 && !cur->parent_span_id.empty(); ++guard) {
        auto it = by_key.find(key_of(cur->trace_id, cur->parent_span_id));
        if (it == by_key.end()) break;
        cur = it->second;
        if (cur->turn) return *cur->turn;
      }
      if (auto m = trace_min_turn[r.trace_id]) return *m;
      return trace_turn[r.trace_id];
    };

    std::map<int64_t, std::vector<const SpanRow*>> turns;
    for (const SpanRow& r : rows) turns[turn_of(r)].push_back(&r);

    ConversationView view;
    view.conversation_id = conv;
    std::set<std::string> users;
    for (auto& [turn, members] : turns) {
      TurnView tv;
      tv.turn = turn;
      std::set<std::string> in_turn;
      for (const SpanRow* r : members) in_turn.insert(key_of(r->trace_id, r->span_id));
      std::map<std::string, std::vector<const SpanRow*>> children;
      std::vector<const SpanRow*> roots;
      std::vector<std::pair<uint64_t, std::string>> traces;
      std::set<std::string> seen_traces;
      tv.start_unix_nano = members.front()->start;
      for (const SpanRow* r : members) {
        if (!r->parent_span_id.empty() && in_turn.count(key_of(r->trace_id, r->parent_span_id))) {
          children[key_of(r->trace_id, r->parent_span_id)].push_back(r);
        } else {
          roots.push_back(r);
        }
        if (seen_traces.insert(r->trace_id).second) traces.emplace_back(r->start, r->trace_id);
        tv.start_unix_nano = std::min(tv.start_unix_nano, r->start);
        tv.end_unix_nano = std::max(tv.end_unix_nano, r->end);
        if (r->cost) tv.cost_pico_usd += *r->cost;
        tv.input_tokens += r->input.value_or(0);
        tv.output_tokens += r->output.value_or(0);
        if (r->is_call()) ++tv.llm_calls;
        if (r->status == StatusCode::error) ++tv.errors;
        if (!r->user_id.empty()) users.insert(r->user_id);
      }
      std::sort(traces.begin(), traces.end());
      for (auto& t : traces) tv.trace_ids.push_back(t.second);
      std::sort(roots.begin(), roots.end(), earlier);
      for (auto& [k, list] : children) {
        (void)k;
        std::sort(list.begin(), list.end(), earlier);
      }
      // Depth first, iteratively (a hostile parent chain cannot blow the stack).
      std::vector<std::pair<const SpanRow*, int>> stack;
      for (auto it = roots.rbegin(); it != roots.rend(); ++it) stack.emplace_back(*it, 0);
      while (!stack.empty()) {
        auto [r, depth] = stack.back();
        stack.pop_back();
        SpanView sv;
        sv.trace_id = r->trace_id;
        sv.span_id = r->span_id;
        sv.parent_span_id = r->parent_span_id;
        sv.depth = depth;
        sv.name = r->name;
        sv.kind = r->kind;
        sv.model = r->model;
        sv.provider = r->provider;
        sv.start_unix_nano = r->start;
        sv.end_unix_nano = r->end;
        sv.input_tokens = r->input;
        sv.output_tokens = r->output;
        sv.cache_read_tokens = r->cache_read;
        sv.cache_write_tokens = r->cache_write;
        sv.reasoning_tokens = r->reasoning;
        sv.cost_pico_usd = r->cost;
        sv.error = r->error;
        sv.status = r->status;
        auto t = told.find(r->id);
        if (t != told.end()) {
          sv.error_message = t->second.first;
          sv.events = std::move(t->second.second);
          if (sv.error_message.empty()) sv.error_message = last_exception_message(sv.events);
        }
        auto c = content.find(r->id);
        if (c != content.end()) {
          if (!c->second.first.empty()) sv.input_messages = c->second.first;
          if (!c->second.second.empty()) sv.output_messages = c->second.second;
        }
        tv.spans.push_back(std::move(sv));
        auto kids = children.find(key_of(r->trace_id, r->span_id));
        if (kids != children.end()) {
          for (auto it = kids->second.rbegin(); it != kids->second.rend(); ++it) {
            stack.emplace_back(*it, depth + 1);
          }
        }
      }
      view.cost_pico_usd += tv.cost_pico_usd;
      tv.running_total_pico_usd = view.cost_pico_usd;
      view.input_tokens += tv.input_tokens;
      view.output_tokens += tv.output_tokens;
      view.llm_calls += tv.llm_calls;
      view.errors += tv.errors;
      view.turns.push_back(std::move(tv));
    }
    view.user_ids.assign(users.begin(), users.end());
    return view;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

// --- Listings ---------------------------------------------------------------------

Error Store::conversations(const ConversationQuery& query,
                           const RowSink<ConversationSummary>& sink) const {
  if (Error e = store::check_filter(query.filter)) return e;
  try {
    if (query.filter.workflow_type) {
      return Error{Error::invalid_argument,
                   "conversations are not filtered by workflow type (see workflows)"};
    }
    if (query.filter.model) {
      return Error{Error::invalid_argument, "conversations are not filtered by model (see report)"};
    }
    Sql sql;
    sql << "SELECT conversation_id, user_id, first_start_ns, last_end_ns, turns, spans, "
           "llm_calls, unpriced_calls, cost_pico, input_tokens, output_tokens, cache_read_tokens, "
           "cache_write_tokens, reasoning_tokens, errors, workflow_runs FROM conversations "
           "WHERE 1 = 1";
    const StoreFilter& f = query.filter;
    if (f.user_id) sql << " AND user_id = " << Value::text(*f.user_id);
    if (f.since_unix_nano)
      sql << " AND last_start_ns >= " << Value::of(clamp_ns(*f.since_unix_nano));
    if (f.until_unix_nano)
      sql << " AND first_start_ns < " << Value::of(clamp_ns(*f.until_unix_nano));
    SortColumn key = conversation_sort_column(query.sort);
    bool desc = query.descending.value_or(!key.text);
    sql << " ORDER BY " << key.column << (desc ? " DESC" : " ASC");
    if (!key.text) sql << ", conversation_id ASC";
    add_page(sql, query.page);
    std::lock_guard<std::mutex> lock(impl_->mu);
    return store::in_transaction(*impl_->db, false, [&] {
      return impl_->db->query(sql.text(), sql.params(), [&](const store::Row& r) {
        ConversationSummary c;
        c.conversation_id = r.text(0);
        c.user_id = r.text(1);
        c.first_seen_unix_nano = static_cast<uint64_t>(r.int64(2));
        c.last_seen_unix_nano = static_cast<uint64_t>(r.int64(3));
        c.turns = r.int64(4);
        c.spans = r.int64(5);
        c.llm_calls = r.int64(6);
        c.unpriced_calls = r.int64(7);
        c.cost_pico_usd = r.int64(8);
        c.input_tokens = r.int64(9);
        c.output_tokens = r.int64(10);
        c.cache_read_tokens = r.int64(11);
        c.cache_write_tokens = r.int64(12);
        c.reasoning_tokens = r.int64(13);
        c.errors = r.int64(14);
        c.workflow_runs = r.int64(15);
        return sink(c);
      });
    });
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::vector<ConversationSummary>> Store::conversations(
    const ConversationQuery& query) const {
  std::vector<ConversationSummary> out;
  if (Error e = collect<ConversationSummary>(
          [&](const RowSink<ConversationSummary>& s) { return conversations(query, s); }, &out)) {
    return e;
  }
  return out;
}

Error Store::workflows(const WorkflowQuery& query, const RowSink<WorkflowRun>& sink) const {
  if (Error e = store::check_filter(query.filter)) return e;
  try {
    const StoreFilter& f = query.filter;
    if (f.model) {
      return Error{Error::invalid_argument, "workflow runs are not filtered by model (see report)"};
    }
    SortColumn key = workflow_sort_column(query.sort);
    bool desc = query.descending.value_or(!key.text);
    // The order, with the columns that break ties. The runs are read a chunk
    // at a time, each chunk starting after the last run of the one before, so
    // that the steps of each chunk's runs can be read between chunks (a
    // streamed PostgreSQL result holds the connection) at any depth.
    struct Order {
      const char* column;
      bool descending;
    };
    std::vector<Order> order = {{key.column, desc}};
    if (query.sort == WorkflowSort::cost) order.push_back({"first_start_ns", false});
    if (!key.text) order.push_back({"workflow_id", false});
    auto key_value = [](const WorkflowRun& run,
                        const char* column) -> std::pair<int64_t, std::string> {
      std::string_view c(column);
      if (c == "cost_pico") return {run.cost_pico_usd, {}};
      if (c == "first_start_ns") return {static_cast<int64_t>(run.start_unix_nano), {}};
      if (c == "llm_calls") return {run.llm_calls, {}};
      if (c == "errors") return {run.errors, {}};
      return {0, run.workflow_id};
    };
    constexpr int64_t kChunk = 256;
    int64_t wanted = query.page.limit > 0 ? query.page.limit : kNoLimit;
    std::vector<std::pair<int64_t, std::string>> last;  // `order` values of the last run
    std::lock_guard<std::mutex> lock(impl_->mu);
    store::Backend& db = *impl_->db;
    return store::in_transaction(db, false, [&]() -> Error {
      bool first_chunk = true;
      while (wanted > 0) {
        Sql sql;
        sql << "SELECT " << kRunListColumns << " FROM workflow_runs WHERE 1 = 1";
        if (f.workflow_type) sql << " AND workflow_type = " << Value::text(*f.workflow_type);
        if (f.user_id) sql << " AND user_id = " << Value::text(*f.user_id);
        if (f.since_unix_nano) {
          sql << " AND last_start_ns >= " << Value::of(clamp_ns(*f.since_unix_nano));
        }
        if (f.until_unix_nano) {
          sql << " AND first_start_ns < " << Value::of(clamp_ns(*f.until_unix_nano));
        }
        if (query.min_cost_pico_usd) {
          sql << " AND cost_pico >= " << Value::of(*query.min_cost_pico_usd);
        }
        auto value = [&](size_t i) {
          const char* c = order[i].column;
          return std::string_view(c) == "workflow_id" ? Value::text(last[i].second)
                                                      : Value::of(last[i].first);
        };
        if (!last.empty()) {
          // After the last run in this order: (a, b, c) > (x, y, z), column by
          // column in each column's direction. The first column's bound on its
          // own is implied by that, and lets the planner seek the ordering
          // index to the last run instead of scanning from the start for every
          // chunk (which made listing every run quadratic).
          sql << " AND " << order[0].column << (order[0].descending ? " <= " : " >= ") << value(0)
              << " AND (";
          for (size_t i = 0; i < order.size(); ++i) {
            sql << (i ? " OR (" : "(");
            for (size_t j = 0; j < i; ++j) sql << order[j].column << " = " << value(j) << " AND ";
            sql << order[i].column << (order[i].descending ? " < " : " > ") << value(i) << ")";
          }
          sql << ")";
        }
        sql << " ORDER BY ";
        for (size_t i = 0; i < order.size(); ++i) {
          sql << (i ? ", " : "") << order[i].column << (order[i].descending ? " DESC" : " ASC");
        }
        int64_t n = std::min(kChunk, wanted);
        sql << " LIMIT " << Value::of(n) << " OFFSET "
            << Value::of(first_chunk ? std::max<int64_t>(0, query.page.offset) : 0);
        first_chunk = false;
        std::vector<WorkflowRun> runs;
        if (Error e = db.query(sql.text(), sql.params(), [&](const store::Row& r) {
              runs.push_back(read_run(r));
              return true;
            })) {
          return e;
        }
        if (runs.empty()) break;
        // Every span of these runs, for their costliest steps.
        std::map<std::string, std::vector<SpanRow>> spans;
        Error e = store::for_chunks(runs.size(), 64, [&](size_t at, size_t count) -> Error {
          Params p;
          for (size_t i = at; i < at + count; ++i) p.push_back(Value::text(runs[i].workflow_id));
          std::string text = "SELECT " + std::string(kRowColumns) +
                             " FROM spans WHERE workflow_id IN " + store::placeholders(1, count) +
                             " ORDER BY workflow_id, start_ns, id";
          return db.query(text, p, [&](const store::Row& r) {
            SpanRow row = read_row(r);
            spans[row.workflow_id].push_back(std::move(row));
            return true;
          });
        });
        if (e) return e;
        for (WorkflowRun& run : runs) {
          costliest_step(spans[run.workflow_id], &run);
          if (!sink(run)) return Error{};
        }
        wanted -= static_cast<int64_t>(runs.size());
        if (static_cast<int64_t>(runs.size()) < n) break;
        last.clear();
        for (const Order& o : order) last.push_back(key_value(runs.back(), o.column));
      }
      return Error{};
    });
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<std::vector<WorkflowRun>> Store::workflows(const WorkflowQuery& query) const {
  std::vector<WorkflowRun> out;
  if (Error e = collect<WorkflowRun>(
          [&](const RowSink<WorkflowRun>& s) { return workflows(query, s); }, &out)) {
    return e;
  }
  return out;
}

}  // namespace convtrace
