#include "store/rollup.h"

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "common/varint.h"

namespace convtrace::store {
namespace {

// "spans, llm_calls, …" of kSumColumns, with `cost` for the cost column.
std::string sums_list(const char* cost) {
  std::string out;
  for (const char* col : kSumColumns) {
    if (!out.empty()) out += ", ";
    out += std::strcmp(col, "cost_pico") == 0 ? cost : col;
  }
  return out;
}

const std::string kSumsColumns = sums_list("cost_pico");
constexpr size_t kSumsCount = kSumCount;
// workflow_runs keeps its calls' cost apart from the run's cost.
const std::string kRunSumsColumns = sums_list("calls_cost_pico");

constexpr const char* kConversationColumns =
    "conversation_id, user_id, first_start_ns, last_start_ns, last_end_ns, turns, "
    "workflow_runs, seen, ";
constexpr size_t kConversationCount = 8 + kSumsCount;
constexpr const char* kRunColumns =
    "workflow_id, workflow_type, conversation_id, user_id, trace_id, first_start_ns, "
    "last_start_ns, last_end_ns, cost_pico, workflow_cost_pico, seen, ";
constexpr size_t kRunCount = 11 + kSumsCount;

// Spans re-read at a time when summaries are rebuilt.
constexpr int64_t kPage = 4096;

// The fields of `s`, in the order of kSumColumns.
std::array<int64_t*, kSumCount> fields(Sums& s) {
  return {&s.spans,
          &s.llm_calls,
          &s.unpriced_calls,
          &s.cost_pico,
          &s.input_tokens,
          &s.output_tokens,
          &s.cache_read_tokens,
          &s.cache_write_tokens,
          &s.reasoning_tokens,
          &s.errors,
          &s.cost_disagreements};
}

void push_sums(Params& p, Sums s) {
  for (int64_t* v : fields(s)) p.push_back(Value::of(*v));
}

Sums read_sums(const Row& r, int col) {
  Sums s;
  for (int64_t* v : fields(s)) *v = r.int64(col++);
  return s;
}

std::string encode_seen(const std::set<std::string>& values) {
  std::string out;
  for (const std::string& v : values) {
    append_varint(out, v.size());
    out += v;
  }
  return out;
}

Error decode_seen(std::string_view data, std::set<std::string>* out) {
  size_t at = 0;
  while (at < data.size()) {
    uint64_t n = 0;
    int shift = 0;
    for (;;) {
      if (at >= data.size() || shift > 63) {
        return Error{Error::io_error, "damaged summary: bad length"};
      }
      uint8_t b = static_cast<uint8_t>(data[at++]);
      n |= static_cast<uint64_t>(b & 0x7f) << shift;
      shift += 7;
      if (!(b & 0x80)) break;
    }
    if (n > data.size() - at) return Error{Error::io_error, "damaged summary: value past the end"};
    out->emplace_hint(out->end(), data.substr(at, n));
    at += n;
  }
  return Error{};
}

// "col = excluded.col, …" for every column of `columns` after the first.
std::string set_excluded(std::string_view columns) {
  std::string out;
  size_t at = columns.find(',');
  while (at != std::string_view::npos) {
    size_t start = columns.find_first_not_of(", ", at);
    if (start == std::string_view::npos) break;
    size_t end = columns.find(',', start);
    std::string_view col = columns.substr(start, end == std::string_view::npos ? end : end - start);
    while (!col.empty() && col.back() == ' ') col.remove_suffix(1);
    if (!out.empty()) out += ", ";
    out += std::string(col) + " = excluded." + std::string(col);
    at = end;
  }
  return out;
}

// Reads `sql` (taking ?1 as the id after which to start, ordered by id,
// limited to kPage) page by page; calls `page` with each page of facts.
template <typename Page>
Error each_page(Backend& db, const std::string& sql, Params params, Page page) {
  int64_t after = -1;
  params.insert(params.begin(), Value::of(after));
  for (;;) {
    params[0] = Value::of(after);
    std::vector<Facts> facts;
    std::vector<int64_t> ids;
    Error e = db.query(sql, params, [&](const Row& r) {
      ids.push_back(r.int64(0));
      facts.push_back(read_facts(r));
      return true;
    });
    if (e) return e;
    if (facts.empty()) return Error{};
    after = ids.back();
    if (Error e2 = page(facts)) return e2;
    if (static_cast<int64_t>(facts.size()) < kPage) return Error{};
  }
}

// Writes the marks decided for spans whose marks changed.
Error store_firsts(Backend& db, const std::vector<Facts>& facts) {
  for (const Facts& f : facts) {
    if (f.firsts == f.stored_firsts) continue;
    auto n = db.exec(
        "UPDATE spans SET firsts = ?1 WHERE trace_id = ?2 AND span_id = ?3 AND start_ns = ?4",
        {Value::of(f.firsts), Value::text(f.trace_id), Value::text(f.span_id),
         Value::of(static_cast<int64_t>(f.start_unix_nano))});
    if (!n) return n.error();
  }
  return Error{};
}

Error aggregate_pages(Backend& db, const std::string& sql, const Params& params,
                      Aggregator::Mode mode) {
  return each_page(db, sql, params, [&](std::vector<Facts>& facts) -> Error {
    Aggregator agg(db, mode);
    if (Error e = agg.load(facts)) return e;
    for (Facts& f : facts) agg.add(f);
    if (Error e = agg.write()) return e;
    return store_firsts(db, facts);
  });
}

}  // namespace

// "YYYY-MM-DD" of a Unix day (proleptic Gregorian, UTC).
std::string day_text(int64_t day) {
  int64_t z = day + 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  int64_t y = yoe + era * 400;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  if (m <= 2) ++y;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04lld-%02lld-%02lld", static_cast<long long>(y),
                static_cast<long long>(m), static_cast<long long>(d));
  return buf;
}

int64_t month_of(int64_t day) {
  std::string date = day_text(day);  // YYYY-MM-DD
  return std::stoll(date.substr(0, date.size() - 6)) * 12 +
         std::stoll(date.substr(date.size() - 5, 2)) - 1;
}

int64_t month_start(int64_t month) {
  // Days since 1970-01-01 of the civil date (y, m, 1).
  int64_t y = month / 12, m = month % 12 + 1;
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

const char* const kFactsColumns =
    "id, trace_id, span_id, start_ns, end_ns, status_code, conversation_id, turn, user_id, "
    "workflow_id, workflow_type, model, input_tokens, output_tokens, cache_read_tokens, "
    "cache_write_tokens, reasoning_tokens, cost_pico, workflow_cost_pico, firsts, "
    "parent_span_id, parent_is_remote, catalog_cost_pico";

Facts read_facts(const Row& r) {
  Facts f;
  f.trace_id = r.text(1);
  f.span_id = r.text(2);
  f.start_unix_nano = static_cast<uint64_t>(r.int64(3));
  f.end_unix_nano = static_cast<uint64_t>(r.int64(4));
  f.error = r.int64(5) == 2;  // StatusCode::error
  f.conversation_id = r.text(6);
  f.turn = r.opt_int64(7);
  f.user_id = r.text(8);
  f.workflow_id = r.text(9);
  f.workflow_type = r.text(10);
  f.model = r.text(11);
  f.input = r.opt_int64(12);
  f.output = r.opt_int64(13);
  f.cache_read = r.opt_int64(14);
  f.cache_write = r.opt_int64(15);
  f.reasoning = r.opt_int64(16);
  f.cost = r.opt_int64(17);
  f.wf_cost = r.opt_int64(18);
  f.firsts = f.stored_firsts = r.int64(19);
  f.root = r.is_null(20) || r.text(20).empty() || r.int64(21) != 0;
  f.catalog_cost = r.opt_int64(22);
  return f;
}

void Sums::add(const Facts& f) {
  ++spans;
  if (f.is_call()) ++llm_calls;
  if (!f.cost && (f.input || f.output)) ++unpriced_calls;
  cost_pico += f.cost.value_or(0);
  input_tokens += f.input.value_or(0);
  output_tokens += f.output.value_or(0);
  cache_read_tokens += f.cache_read.value_or(0);
  cache_write_tokens += f.cache_write.value_or(0);
  reasoning_tokens += f.reasoning.value_or(0);
  if (f.error) ++errors;
  if (f.catalog_cost) ++cost_disagreements;
}

std::string placeholders(size_t rows, size_t cols) {
  std::string out;
  out.reserve(rows * (cols * 3 + 4));
  for (size_t r = 0; r < rows; ++r) {
    out += r ? ", (" : "(";
    for (size_t c = 0; c < cols; ++c) out += c ? ", ?" : "?";
    out += ')';
  }
  return out;
}

bool Aggregator::Seen::first(char tag, std::string_view value) {
  std::string key;
  key.reserve(value.size() + 1);
  key += tag;
  key += value;
  return values.insert(std::move(key)).second;
}

bool Aggregator::NarrowKey::operator<(const NarrowKey& o) const {
  int c = std::strcmp(dimension, o.dimension);
  if (c != 0) return c < 0;
  if (period != o.period) return period < o.period;
  return value < o.value;
}

bool Aggregator::Key::operator<(const Key& o) const {
  if (day != o.day) return day < o.day;
  if (user_id != o.user_id) return user_id < o.user_id;
  if (workflow_type != o.workflow_type) return workflow_type < o.workflow_type;
  return model < o.model;
}

Error Aggregator::load(const std::vector<Facts>& facts) {
  std::set<std::string> convs, runs;
  for (const Facts& f : facts) {
    if (mode_.conversations && !f.conversation_id.empty()) convs.insert(f.conversation_id);
    if (mode_.runs && !f.workflow_id.empty()) runs.insert(f.workflow_id);
  }
  // Conversations before runs, each in key order: every writer locks in the
  // same order, so two never wait for each other in a cycle.
  if (Error e = load_conversations({convs.begin(), convs.end()})) return e;
  return load_runs({runs.begin(), runs.end()});
}

Error Aggregator::load_conversations(const std::vector<std::string>& ids) {
  size_t max = std::min<size_t>(256, db_.max_params());
  return for_chunks(ids.size(), max, [&](size_t at, size_t n) -> Error {
    Params p;
    for (size_t i = at; i < at + n; ++i) p.push_back(Value::text(ids[i]));
    std::string sql = std::string("SELECT ") + kConversationColumns + kSumsColumns +
                      " FROM conversations WHERE conversation_id IN " + placeholders(1, n) +
                      std::string(db_.lock_clause());
    Error decode;
    Error e = db_.query(sql, p, [&](const Row& r) {
      Conversation c;
      c.user_id = r.text(1);
      c.first_start = static_cast<uint64_t>(r.int64(2));
      c.last_start = static_cast<uint64_t>(r.int64(3));
      c.last_end = static_cast<uint64_t>(r.int64(4));
      c.turns = r.int64(5);
      c.workflow_runs = r.int64(6);
      decode = decode_seen(r.blob(7), &c.seen.values);
      c.sums = read_sums(r, 8);
      c.stored = true;
      conversations_[r.text(0)] = std::move(c);
      return !decode;
    });
    if (e || decode) return e ? e : decode;
    for (size_t i = at; i < at + n; ++i) conversations_.try_emplace(ids[i]);  // new ones
    return Error{};
  });
}

Error Aggregator::load_runs(const std::vector<std::string>& ids) {
  size_t max = std::min<size_t>(256, db_.max_params());
  return for_chunks(ids.size(), max, [&](size_t at, size_t n) -> Error {
    Params p;
    for (size_t i = at; i < at + n; ++i) p.push_back(Value::text(ids[i]));
    std::string sql = std::string("SELECT ") + kRunColumns + kRunSumsColumns +
                      " FROM workflow_runs WHERE workflow_id IN " + placeholders(1, n) +
                      std::string(db_.lock_clause());
    Error decode;
    Error e = db_.query(sql, p, [&](const Row& r) {
      Run run;
      run.workflow_type = r.text(1);
      run.conversation_id = r.text(2);
      run.user_id = r.text(3);
      run.trace_id = r.text(4);
      run.first_start = static_cast<uint64_t>(r.int64(5));
      run.last_start = static_cast<uint64_t>(r.int64(6));
      run.last_end = static_cast<uint64_t>(r.int64(7));
      // column 8 (cost_pico) is derived: written, never read back
      run.wf_cost = r.opt_int64(9);
      decode = decode_seen(r.blob(10), &run.seen.values);
      run.sums = read_sums(r, 11);
      run.stored = true;
      runs_[r.text(0)] = std::move(run);
      return !decode;
    });
    if (e || decode) return e ? e : decode;
    for (size_t i = at; i < at + n; ++i) runs_.try_emplace(ids[i]);  // new ones
    return Error{};
  });
}

void Aggregator::add(Facts& f) {
  const int64_t day = day_of(f.start_unix_nano);
  auto widen = [&](uint64_t& first_start, uint64_t& last_start, uint64_t& last_end, bool fresh) {
    if (fresh) {
      first_start = last_start = f.start_unix_nano;
      last_end = f.end_unix_nano;
      return;
    }
    first_start = std::min(first_start, f.start_unix_nano);
    last_start = std::max(last_start, f.start_unix_nano);
    last_end = std::max(last_end, f.end_unix_nano);
  };
  // Spans of a batch mostly share their run, conversation, user, model, type
  // and day with the span before: then no value is new, and the look-ups
  // (string keys) are skipped.
  const bool same_dims = last_ && last_->day == day && last_->user_id == f.user_id &&
                         last_->model == f.model && last_->workflow_type == f.workflow_type;
  const bool same_run = same_dims && last_->workflow_id == f.workflow_id &&
                        last_->conversation_id == f.conversation_id;
  const bool same_conversation = same_dims && last_->conversation_id == f.conversation_id;

  int64_t run_bits = f.stored_firsts & kRunBits;
  if (mode_.runs) {
    run_bits = 0;
    Run* r = nullptr;
    if (same_run) {
      r = last_->run;
    } else if (!f.workflow_id.empty()) {
      auto it = runs_.find(f.workflow_id);
      if (it != runs_.end()) r = &it->second;
    }
    if (r) {
      widen(r->first_start, r->last_start, r->last_end, r->sums.spans == 0);
      if (r->workflow_type.empty()) r->workflow_type = f.workflow_type;
      if (r->conversation_id.empty()) r->conversation_id = f.conversation_id;
      if (r->user_id.empty()) r->user_id = f.user_id;
      // The run's trace is its workflow span's (the one carrying the total).
      if (f.wf_cost && !r->wf_cost) {
        r->wf_cost = f.wf_cost;
        r->trace_id = f.trace_id;
      } else if (r->trace_id.empty()) {
        r->trace_id = f.trace_id;
      }
      r->sums.add(f);
      if (!same_run) {
        const std::string day_key = std::to_string(day);
        if (r->seen.first('u', f.user_id)) run_bits |= kRunUser;
        if (r->seen.first('m', f.model)) run_bits |= kRunModel;
        if (r->seen.first('t', f.workflow_type)) run_bits |= kRunType;
        if (r->seen.first('d', day_key)) run_bits |= kRunDay;
        if (r->seen.first('c', f.conversation_id)) run_bits |= kRunConversation;
      }
    }
    if (!last_) last_.emplace();
    last_->run = r;
  }

  int64_t conv_bits = f.stored_firsts & kConvBits;
  if (mode_.conversations) {
    conv_bits = 0;
    Conversation* c = nullptr;
    if (same_conversation) {
      c = last_->conversation;
    } else if (!f.conversation_id.empty()) {
      auto it = conversations_.find(f.conversation_id);
      if (it != conversations_.end()) c = &it->second;
    }
    if (c) {
      widen(c->first_start, c->last_start, c->last_end, c->sums.spans == 0);
      if (c->user_id.empty()) c->user_id = f.user_id;
      c->sums.add(f);
      if (!same_conversation) {
        const std::string day_key = std::to_string(day);
        if (c->seen.first('u', f.user_id)) conv_bits |= kConvUser;
        if (c->seen.first('m', f.model)) conv_bits |= kConvModel;
        if (c->seen.first('t', f.workflow_type)) conv_bits |= kConvType;
        if (c->seen.first('d', day_key)) conv_bits |= kConvDay;
      }
      // Turns: each distinct turn number, plus each root span without one
      // (SDKs that do not count turns: a trace is a turn). As the
      // conversation view counts them when such a trace's root carries the
      // conversation id; remembering every trace instead would make each
      // batch cost more as a conversation grows.
      if (f.turn) {
        if (!(same_conversation && last_->turn == f.turn) &&
            c->seen.first('n', std::to_string(*f.turn))) {
          ++c->turns;
        }
      } else if (f.root) {
        ++c->turns;
      }
      if (run_bits & kRunConversation) ++c->workflow_runs;
    }
    if (!last_) last_.emplace();
    last_->conversation = c;
  }

  f.firsts = run_bits | conv_bits;
  auto count = [&](Delta& d) {
    if (mode_.rollup_sums) d.sums.add(f);
    for (int i = 0; i < kCounters; ++i) {
      d.counts[static_cast<size_t>(i)] += ((f.firsts >> i) & 1) - ((f.stored_firsts >> i) & 1);
    }
  };
  if (!last_) last_.emplace();
  Last& l = *last_;
  if (!same_dims || !l.deltas[0]) {
    l.deltas[0] = &deltas_[Key{day, f.user_id, f.workflow_type, f.model}];
    l.deltas[1] = &narrow_[NarrowKey{kUserDay, day, f.user_id}];
    l.deltas[2] = &narrow_[NarrowKey{kUserMonth, month_of(day), f.user_id}];
    l.deltas[3] = &narrow_[NarrowKey{kModelDay, day, f.model}];
    l.deltas[4] = &narrow_[NarrowKey{kTypeDay, day, f.workflow_type}];
  }
  for (Delta* d : l.deltas) count(*d);
  l.day = day;
  if (!same_dims) {
    l.user_id = f.user_id;
    l.model = f.model;
    l.workflow_type = f.workflow_type;
  }
  if (!same_run) l.workflow_id = f.workflow_id;
  if (!same_conversation) l.conversation_id = f.conversation_id;
  l.turn = f.turn;
}

Error Aggregator::write() {
  if (Error e = write_rollups()) return e;
  if (Error e = write_conversations()) return e;
  return write_runs();
}

// Adds each delta to its row of `table` (keys first, then the sums and
// counters), creating the rows not there yet: one statement per chunk, rows in
// key order so that concurrent writers lock them in the same order.
template <typename K, typename Bind>
Error upsert_sums(Backend& db, const char* table, const char* key_columns, size_t key_count,
                  const std::map<K, Aggregator::Delta>& deltas, Bind bind_key) {
  std::vector<std::pair<const K*, const Aggregator::Delta*>> rows;
  for (const auto& [key, delta] : deltas) {
    bool zero = delta.sums.spans == 0;
    for (int64_t c : delta.counts) zero = zero && c == 0;
    if (!zero) rows.emplace_back(&key, &delta);
  }
  const size_t cols = key_count + kSumsCount + kCounters;
  std::string set;
  std::string counters;
  auto add = [&](const char* col) {
    set += std::string(set.empty() ? "" : ", ") + col + " = " + table + "." + col + " + excluded." +
           col;
  };
  for (const char* col : kSumColumns) add(col);
  for (const char* col : kCounterColumns) {
    counters += std::string(", ") + col;
    add(col);
  }
  size_t max = std::max<size_t>(1, std::min<size_t>(128, db.max_params() / cols));
  return for_chunks(rows.size(), max, [&](size_t at, size_t n) -> Error {
    Params p;
    for (size_t i = at; i < at + n; ++i) {
      bind_key(*rows[i].first, p);
      push_sums(p, rows[i].second->sums);
      for (int64_t c : rows[i].second->counts) p.push_back(Value::of(c));
    }
    std::string sql = std::string("INSERT INTO ") + table + "(" + key_columns + ", " +
                      kSumsColumns + counters + ") VALUES " + placeholders(n, cols) +
                      " ON CONFLICT(" + key_columns + ") DO UPDATE SET " + set;
    auto r = db.exec(sql, p);
    return r ? Error{} : r.error();
  });
}

Error Aggregator::write_rollups() {
  if (Error e = upsert_sums(db_, "rollup_daily", "day, user_id, workflow_type, model", 4, deltas_,
                            [](const Key& k, Params& p) {
                              p.push_back(Value::of(k.day));
                              p.push_back(Value::text(k.user_id));
                              p.push_back(Value::text(k.workflow_type));
                              p.push_back(Value::text(k.model));
                            })) {
    return e;
  }
  return upsert_sums(db_, "rollup_by", "dimension, period, value", 3, narrow_,
                     [](const NarrowKey& k, Params& p) {
                       p.push_back(Value::text(k.dimension));
                       p.push_back(Value::of(k.period));
                       p.push_back(Value::text(k.value));
                     });
}

Aggregator::Summary::Summary(const char* table, const char* key, const std::string& columns,
                             size_t count, const char* what)
    : insert(std::string("INSERT INTO ") + table + "(" + columns + ") VALUES "),
      rewrite(" ON CONFLICT(" + std::string(key) + ") DO UPDATE SET " + set_excluded(columns)),
      keep_stored(" ON CONFLICT(" + std::string(key) + ") DO NOTHING"),
      what(what),
      count(count) {}

// Summaries read by load() are rewritten in place. Those it did not find are
// inserted, and must not be there by now: another writer that stored the
// first spans of the same conversation or run meanwhile (it inserted the row
// after this transaction looked) wins, and this transaction is done again
// (raced()), when it finds that row and locks it.
Error Aggregator::write_summaries(const Summary& table, size_t rows, const RowIsStored& stored,
                                  const BindRow& bind) {
  const size_t count = table.count;
  const size_t max = std::max<size_t>(1, std::min<size_t>(64, db_.max_params() / count));
  for (bool existing : {true, false}) {
    std::vector<size_t> picked;
    for (size_t i = 0; i < rows; ++i) {
      if (stored(i) == existing) picked.push_back(i);
    }
    Error e = for_chunks(picked.size(), max, [&](size_t at, size_t n) -> Error {
      Params p;
      std::vector<std::string> blobs(n);
      for (size_t i = at; i < at + n; ++i) bind(picked[i], p, blobs[i - at]);
      std::string sql =
          table.insert + placeholders(n, count) + (existing ? table.rewrite : table.keep_stored);
      auto changed = db_.exec(sql, p);
      if (!changed) return changed.error();
      if (!existing && *changed != static_cast<int64_t>(n)) {
        raced_ = true;
        return Error{Error::unavailable, "another writer stored the first spans of the same " +
                                             table.what + " meanwhile; retry"};
      }
      return Error{};
    });
    if (e) return e;
  }
  return Error{};
}

Error Aggregator::write_conversations() {
  std::vector<std::pair<const std::string*, const Conversation*>> rows;
  for (const auto& [id, c] : conversations_) rows.emplace_back(&id, &c);
  static const Summary table("conversations", "conversation_id",
                             std::string(kConversationColumns) + kSumsColumns, kConversationCount,
                             "conversation");
  return write_summaries(
      table, rows.size(), [&](size_t i) { return rows[i].second->stored; },
      [&](size_t i, Params& p, std::string& seen) {
        const Conversation& c = *rows[i].second;
        seen = encode_seen(c.seen.values);
        p.push_back(Value::text(*rows[i].first));
        p.push_back(Value::text(c.user_id));
        p.push_back(Value::of(static_cast<int64_t>(c.first_start)));
        p.push_back(Value::of(static_cast<int64_t>(c.last_start)));
        p.push_back(Value::of(static_cast<int64_t>(c.last_end)));
        p.push_back(Value::of(c.turns));
        p.push_back(Value::of(c.workflow_runs));
        p.push_back(Value::blob(seen));
        push_sums(p, c.sums);
      });
}

Error Aggregator::write_runs() {
  std::vector<std::pair<const std::string*, const Run*>> rows;
  for (const auto& [id, r] : runs_) rows.emplace_back(&id, &r);
  static const Summary table("workflow_runs", "workflow_id",
                             std::string(kRunColumns) + kRunSumsColumns, kRunCount, "workflow run");
  return write_summaries(
      table, rows.size(), [&](size_t i) { return rows[i].second->stored; },
      [&](size_t i, Params& p, std::string& seen) {
        const Run& r = *rows[i].second;
        seen = encode_seen(r.seen.values);
        p.push_back(Value::text(*rows[i].first));
        p.push_back(Value::text(r.workflow_type));
        p.push_back(Value::text(r.conversation_id));
        p.push_back(Value::text(r.user_id));
        p.push_back(Value::text(r.trace_id));
        p.push_back(Value::of(static_cast<int64_t>(r.first_start)));
        p.push_back(Value::of(static_cast<int64_t>(r.last_start)));
        p.push_back(Value::of(static_cast<int64_t>(r.last_end)));
        // A run costs its workflow span's total when one was recorded, else
        // the sum of its calls.
        p.push_back(Value::of(r.wf_cost.value_or(r.sums.cost_pico)));
        p.push_back(Value::of(r.wf_cost));
        p.push_back(Value::blob(seen));
        push_sums(p, r.sums);
      });
}

Error rebuild_summaries(Backend& db, const std::vector<std::string>& conversations,
                        const std::vector<std::string>& runs) {
  // Runs first: a conversation's run count reads the runs' marks.
  auto rebuild = [&](const std::vector<std::string>& ids, const char* column,
                     Aggregator::Mode mode) {
    return for_chunks(ids.size(), 64, [&](size_t at, size_t n) -> Error {
      Params p;
      for (size_t i = at; i < at + n; ++i) p.push_back(Value::text(ids[i]));
      std::string sql = std::string("SELECT ") + kFactsColumns + " FROM spans WHERE id > ?1 AND " +
                        column + " IN " + placeholders(1, n) + " ORDER BY id LIMIT " +
                        std::to_string(kPage);
      return aggregate_pages(db, sql, p, mode);
    });
  };
  if (Error e = rebuild(runs, "workflow_id", {false, false, true})) return e;
  return rebuild(conversations, "conversation_id", {false, true, false});
}

Error backfill_rollups(Backend& db) {
  std::string sql = std::string("SELECT ") + kFactsColumns +
                    " FROM spans WHERE id > ?1 ORDER BY id LIMIT " + std::to_string(kPage);
  return aggregate_pages(db, sql, {}, {true, true, true});
}

}  // namespace convtrace::store
