// The questions the CLI asks: reports, a conversation turn by turn, workflow runs.
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "convtrace/attributes.h"
#include "store/admit.h"
#include "store/packed.h"
#include "store/store_impl.h"

namespace convtrace {
namespace {

using store::Stmt;

// Filter clause over `spans`; parameters ?1..?4 (see bind_filter).
constexpr std::string_view kFilterSql =
    "(?1 IS NULL OR start_ns >= ?1) AND (?2 IS NULL OR start_ns < ?2) AND "
    "(?3 IS NULL OR user_id = ?3) AND (?4 IS NULL OR workflow_type = ?4)";

void bind_filter(Stmt& stmt, const StoreFilter& f) {
  if (f.since_unix_nano) stmt.bind(1, static_cast<int64_t>(*f.since_unix_nano));
  if (f.until_unix_nano) stmt.bind(2, static_cast<int64_t>(*f.until_unix_nano));
  if (f.user_id) stmt.bind(3, std::string_view(*f.user_id));
  if (f.workflow_type) stmt.bind(4, std::string_view(*f.workflow_type));
}

std::string_view group_expression(ReportGroup group) {
  switch (group) {
    case ReportGroup::user:
      return "user_id";
    case ReportGroup::model:
      return "model";
    case ReportGroup::workflow_type:
      return "workflow_type";
    case ReportGroup::conversation:
      return "conversation_id";
    case ReportGroup::day:
      return "strftime('%Y-%m-%d', start_ns / 1000000000, 'unixepoch')";
  }
  return "user_id";
}

constexpr std::string_view kIsCallSql =
    "(input_tokens IS NOT NULL OR output_tokens IS NOT NULL OR cost_pico IS NOT NULL)";

// One span row as the conversation and workflow views need it.
struct Row {
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

Row read_row(const Stmt& s) {
  Row r;
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

Expected<std::vector<Row>> read_rows(store::Db& db, Stmt& stmt) {
  std::vector<Row> rows;
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) rows.push_back(read_row(stmt));
  stmt.reset();
  if (rc != SQLITE_DONE) return store::sqlite_error(db.raw(), rc, "cannot read spans");
  return rows;
}

std::string key_of(const std::string& trace, const std::string& span) { return trace + span; }

bool earlier(const Row* a, const Row* b) {
  return a->start != b->start ? a->start < b->start : a->id < b->id;
}

}  // namespace

Expected<std::vector<ReportRow>> Store::report(const ReportQuery& query) const {
  if (Error e = store::check_filter(query.filter)) return e;
  try {
    std::string sql = "SELECT ";
    sql += group_expression(query.by);
    sql += " AS g, COALESCE(SUM(cost_pico), 0), SUM(CASE WHEN ";
    sql += kIsCallSql;
    sql +=
        " THEN 1 ELSE 0 END), SUM(CASE WHEN cost_pico IS NULL AND (input_tokens IS NOT NULL OR "
        "output_tokens IS NOT NULL) THEN 1 ELSE 0 END), COALESCE(SUM(input_tokens), 0), "
        "COALESCE(SUM(output_tokens), 0), COALESCE(SUM(cache_read_tokens), 0), "
        "COALESCE(SUM(cache_write_tokens), 0), COALESCE(SUM(reasoning_tokens), 0), "
        "COUNT(DISTINCT conversation_id), COUNT(DISTINCT workflow_id), "
        "SUM(CASE WHEN status_code = 2 THEN 1 ELSE 0 END), COUNT(catalog_cost_pico) FROM spans "
        "WHERE ";
    sql += kFilterSql;
    sql += " GROUP BY g ORDER BY ";
    sql += query.by == ReportGroup::day ? "g ASC" : "2 DESC, g ASC";

    std::lock_guard<std::mutex> lock(impl_->mu);
    auto stmt = impl_->db.prepare(sql);
    if (!stmt) return stmt.error();
    bind_filter(*stmt, query.filter);
    std::vector<ReportRow> out;
    int rc;
    while ((rc = stmt->step()) == SQLITE_ROW) {
      ReportRow r;
      if (!stmt->is_null(0)) r.group = stmt->text(0);
      r.cost_pico_usd = stmt->int64(1);
      r.llm_calls = stmt->int64(2);
      r.unpriced_calls = stmt->int64(3);
      r.input_tokens = stmt->int64(4);
      r.output_tokens = stmt->int64(5);
      r.cache_read_tokens = stmt->int64(6);
      r.cache_write_tokens = stmt->int64(7);
      r.reasoning_tokens = stmt->int64(8);
      r.conversations = stmt->int64(9);
      r.workflow_runs = stmt->int64(10);
      r.errors = stmt->int64(11);
      r.cost_disagreements = stmt->int64(12);
      out.push_back(std::move(r));
    }
    if (rc != SQLITE_DONE) return store::sqlite_error(impl_->db.raw(), rc, "cannot run the report");
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

Expected<ConversationView> Store::conversation(std::string_view id) const {
  try {
    std::string conv(id);
    std::vector<Row> rows;
    std::map<int64_t, std::pair<std::string, std::string>> content;  // span row → (input, output)
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      std::string sql = "SELECT ";
      sql += kRowColumns;
      sql +=
          " FROM spans WHERE trace_id IN (SELECT DISTINCT trace_id FROM spans WHERE "
          "conversation_id = ?1) AND (conversation_id IS NULL OR conversation_id = ?1) "
          "ORDER BY start_ns, id";
      auto stmt = impl_->db.prepare(sql);
      if (!stmt) return stmt.error();
      stmt->bind(1, std::string_view(conv));
      auto got = read_rows(impl_->db, *stmt);
      if (!got) return got.error();
      rows = std::move(*got);

      auto msgs = impl_->db.prepare("SELECT attributes FROM spans WHERE id = ?1");
      if (!msgs) return msgs.error();
      std::vector<Attribute> attrs;
      for (const Row& r : rows) {
        msgs->bind(1, r.id);
        int rc = msgs->step();
        if (rc == SQLITE_ROW) {
          attrs.clear();
          if (Error e = store::unpack_attributes(store::blob_view(*msgs, 0), &attrs)) {
            msgs->reset();
            return Error{e.code,
                         "span " + r.span_id + " of trace " + r.trace_id + ": " + e.message};
          }
          // A key may repeat: its last value wins.
          for (const Attribute& a : attrs) {
            bool input = a.key == attr::kInputMessages;
            if (input || a.key == attr::kOutputMessages) {
              auto& slot = content[r.id];
              (input ? slot.first : slot.second) = store::typed_value_text(a.value);
            }
          }
          rc = SQLITE_DONE;
        }
        msgs->reset();
        if (rc != SQLITE_DONE) {
          return store::sqlite_error(impl_->db.raw(), rc, "cannot read captured content");
        }
      }
    }
    if (rows.empty()) {
      return Error{Error::not_found, "no conversation '" + conv + "' in the store"};
    }

    // Assign every span a turn (see ConversationView).
    std::unordered_map<std::string, const Row*> by_key;
    std::map<std::string, std::optional<int64_t>> trace_min_turn;
    std::map<std::string, uint64_t> trace_start;
    for (const Row& r : rows) {
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
    for (const Row& r : rows) {
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
    auto turn_of = [&](const Row& r) -> int64_t {
      if (r.turn) return *r.turn;
      const Row* cur = &r;
      for (int guard = 0; guard < 10000 && !cur->parent_span_id.empty(); ++guard) {
        auto it = by_key.find(key_of(cur->trace_id, cur->parent_span_id));
        if (it == by_key.end()) break;
        cur = it->second;
        if (cur->turn) return *cur->turn;
      }
      if (auto m = trace_min_turn[r.trace_id]) return *m;
      return trace_turn[r.trace_id];
    };

    std::map<int64_t, std::vector<const Row*>> turns;
    for (const Row& r : rows) turns[turn_of(r)].push_back(&r);

    ConversationView view;
    view.conversation_id = conv;
    std::set<std::string> users;
    for (auto& [turn, members] : turns) {
      TurnView tv;
      tv.turn = turn;
      std::set<std::string> in_turn;
      for (const Row* r : members) in_turn.insert(key_of(r->trace_id, r->span_id));
      std::map<std::string, std::vector<const Row*>> children;
      std::vector<const Row*> roots;
      std::vector<std::pair<uint64_t, std::string>> traces;
      std::set<std::string> seen_traces;
      tv.start_unix_nano = members.front()->start;
      for (const Row* r : members) {
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
      std::vector<std::pair<const Row*, int>> stack;
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

Expected<std::vector<WorkflowRun>> Store::workflows(const WorkflowQuery& query) const {
  if (Error e = store::check_filter(query.filter)) return e;
  try {
    std::vector<Row> rows;
    {
      std::lock_guard<std::mutex> lock(impl_->mu);
      std::string sql = "SELECT ";
      sql += kRowColumns;
      sql +=
          " FROM spans WHERE workflow_id IN (SELECT DISTINCT workflow_id FROM spans WHERE "
          "workflow_id IS NOT NULL AND ";
      sql += kFilterSql;
      sql += ") ORDER BY workflow_id, start_ns, id";
      auto stmt = impl_->db.prepare(sql);
      if (!stmt) return stmt.error();
      bind_filter(*stmt, query.filter);
      auto got = read_rows(impl_->db, *stmt);
      if (!got) return got.error();
      rows = std::move(*got);
    }

    std::vector<WorkflowRun> out;
    size_t i = 0;
    while (i < rows.size()) {
      size_t j = i;
      while (j < rows.size() && rows[j].workflow_id == rows[i].workflow_id) ++j;
      std::unordered_map<std::string, const Row*> by_key;
      for (size_t k = i; k < j; ++k) by_key[key_of(rows[k].trace_id, rows[k].span_id)] = &rows[k];
      auto parent_of = [&](const Row* r) -> const Row* {
        if (r->parent_span_id.empty()) return nullptr;
        auto it = by_key.find(key_of(r->trace_id, r->parent_span_id));
        return it == by_key.end() ? nullptr : it->second;
      };
      // The workflow span: the one carrying the workflow total, else the
      // earliest span whose parent is outside the run.
      const Row* top = nullptr;
      for (size_t k = i; k < j && !top; ++k) {
        if (rows[k].wf_cost) top = &rows[k];
      }
      for (size_t k = i; k < j && !top; ++k) {
        if (!parent_of(&rows[k])) top = &rows[k];
      }
      if (!top) top = &rows[i];

      WorkflowRun run;
      run.workflow_id = top->workflow_id;
      run.workflow_type = top->workflow_type;
      run.trace_id = top->trace_id;
      run.start_unix_nano = top->start;
      run.end_unix_nano = top->end;
      int64_t summed = 0;
      std::map<const Row*, int64_t> step_cost;
      for (size_t k = i; k < j; ++k) {
        const Row& r = rows[k];
        if (run.workflow_type.empty()) run.workflow_type = r.workflow_type;
        if (run.conversation_id.empty()) run.conversation_id = r.conversation_id;
        if (run.user_id.empty()) run.user_id = r.user_id;
        run.start_unix_nano = std::min(run.start_unix_nano, r.start);
        run.end_unix_nano = std::max(run.end_unix_nano, r.end);
        if (r.is_call()) ++run.llm_calls;
        run.input_tokens += r.input.value_or(0);
        run.output_tokens += r.output.value_or(0);
        if (r.status == StatusCode::error) ++run.errors;
        if (!r.cost) continue;
        summed += *r.cost;
        const Row* step = &r;
        for (int guard = 0; guard < 10000 && step != top; ++guard) {
          const Row* p = parent_of(step);
          if (!p || p == top) break;
          step = p;
        }
        step_cost[step] += *r.cost;
      }
      if (top->wf_cost) {
        run.cost_pico_usd = *top->wf_cost;
        run.cost_from_workflow_span = true;
      } else {
        run.cost_pico_usd = summed;
      }
      for (auto& [step, cost] : step_cost) {
        if (run.costliest_step.empty() || cost > run.costliest_step_cost_pico_usd ||
            (cost == run.costliest_step_cost_pico_usd && step->name < run.costliest_step)) {
          run.costliest_step = step->name;
          run.costliest_step_cost_pico_usd = cost;
        }
      }
      if (!query.min_cost_pico_usd || run.cost_pico_usd >= *query.min_cost_pico_usd) {
        out.push_back(std::move(run));
      }
      i = j;
    }
    std::sort(out.begin(), out.end(), [](const WorkflowRun& a, const WorkflowRun& b) {
      if (a.cost_pico_usd != b.cost_pico_usd) return a.cost_pico_usd > b.cost_pico_usd;
      return a.start_unix_nano != b.start_unix_nano ? a.start_unix_nano < b.start_unix_nano
                                                    : a.workflow_id < b.workflow_id;
    });
    return out;
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

}  // namespace convtrace
