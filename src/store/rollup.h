// Roll-ups: the sums the reports and listings read, kept in the transaction
// that stores the spans they sum, so that a report costs the same whatever the
// store's size. Private to the store.
//
// Four tables (DDL in each backend's schema):
//   rollup_daily   one row per (UTC day, user, workflow type, model) of span
//                  start: spans, calls, tokens, exact cost, errors, and the
//                  distinct counts below. Empty text stands for "none". What a
//                  report filtered by user or workflow type reads.
//   rollup_by      the same sums per (dimension, period, value), one
//                  dimension at a time: user by day and by month, model by
//                  day, workflow type by day. What a report without those
//                  filters reads: with many users, rollup_daily has nearly a
//                  row per conversation, these a row per user and month.
//   conversations  one row per conversation id: user, first/last seen, turns,
//                  the same sums, workflow runs.
//   workflow_runs  one row per workflow id: type, conversation, user, trace,
//                  first/last seen, its cost, the same sums.
//
// Distinct counts are sums too. A span is marked (column spans.firsts, bits
// below) when it is the first stored span of its conversation with its user,
// model, workflow type and day, and likewise for its workflow run (and the
// run's conversation). A roll-up row counts the marks of its spans, so the
// "conversations" of a user is the number of conversations with a span of
// that user, counted where the first such span falls. Every number a report
// shows is therefore a sum over spans: over rollup_daily for whole days, over
// the spans themselves for the partial days at the edges of a time range, with
// the same result. Retention removes whole days and gives the marks the
// removed spans held to the first span left of each conversation and run.
//
// Which conversations and runs have been seen with which value is kept in the
// summary row (column `seen`), so deciding a mark reads one row per member.
// On PostgreSQL those rows are locked for the transaction (lock_clause), so
// two collectors storing spans of one conversation take turns at it. A
// summary not stored yet has no row to lock: it is inserted with the rest at
// the end, and when another writer inserted it first (both stored the first
// spans of one conversation at once), the later one does its transaction
// again and then finds the row. New conversations and runs are most of a
// team's traffic, and writing each once instead of creating an empty row to
// lock and rewriting it took a fifth of the database's time off a batch.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "store/backend.h"

namespace convtrace::store {

// Bits of spans.firsts.
enum First : int64_t {
  kConvUser = 1 << 0,
  kConvModel = 1 << 1,
  kConvType = 1 << 2,
  kConvDay = 1 << 3,
  kRunUser = 1 << 4,
  kRunModel = 1 << 5,
  kRunType = 1 << 6,
  kRunDay = 1 << 7,
  kRunConversation = 1 << 8,
  kConvBits = kConvUser | kConvModel | kConvType | kConvDay,
  kRunBits = kRunUser | kRunModel | kRunType | kRunDay | kRunConversation,
};

// The rollup_daily counters, in the order of kCounterColumns: bit i of
// spans.firsts is counter i.
inline constexpr int kCounters = 8;
inline constexpr const char* kCounterColumns[kCounters] = {"conv_user", "conv_model", "conv_type",
                                                           "conv_day",  "run_user",   "run_model",
                                                           "run_type",  "run_day"};

// What one span adds to the roll-ups. Text fields are empty for "none".
struct Facts {
  std::string trace_id, span_id;
  uint64_t start_unix_nano = 0, end_unix_nano = 0;
  std::string conversation_id, user_id, workflow_id, workflow_type, model;
  std::optional<int64_t> turn, input, output, cache_read, cache_write, reasoning, cost, wf_cost;
  // The catalog's cost, kept only when it differs from the cost the span carried.
  std::optional<int64_t> catalog_cost;
  bool error = false;  // error status
  bool root = false;   // no parent, or a remote one: where a trace (or a service's part) starts
  int64_t firsts = 0;  // marks: as stored (when re-read), then as decided
  int64_t stored_firsts = 0;

  bool is_call() const { return input || output || cost; }
};

// Sums shared by roll-up rows and summaries.
struct Sums {
  int64_t spans = 0, llm_calls = 0, unpriced_calls = 0, cost_pico = 0;
  int64_t input_tokens = 0, output_tokens = 0, cache_read_tokens = 0, cache_write_tokens = 0;
  int64_t reasoning_tokens = 0, errors = 0;
  int64_t cost_disagreements = 0;  // spans with a catalog_cost
  void add(const Facts& f);
};

// The columns of the Sums, in the order of its fields, in every roll-up and
// summary table (workflow_runs names cost_pico calls_cost_pico).
inline constexpr int kSumCount = 11;
inline constexpr const char* kSumColumns[kSumCount] = {"spans",
                                                       "llm_calls",
                                                       "unpriced_calls",
                                                       "cost_pico",
                                                       "input_tokens",
                                                       "output_tokens",
                                                       "cache_read_tokens",
                                                       "cache_write_tokens",
                                                       "reasoning_tokens",
                                                       "errors",
                                                       "cost_disagreements"};

// The span columns Facts are read from (read_facts), for queries that re-read
// stored spans.
extern const char* const kFactsColumns;
Facts read_facts(const Row& row);

class Aggregator {
 public:
  struct Delta {
    Sums sums;
    std::array<int64_t, kCounters> counts{};
  };

  struct Mode {
    // Add each span's sums to rollup_daily. False when rebuilding summaries of
    // spans rollup_daily already counts (after retention removed some).
    bool rollup_sums = true;
    // Maintain conversation summaries and the conversation marks (kConvBits).
    bool conversations = true;
    // Maintain workflow run summaries and the run marks (kRunBits).
    bool runs = true;
  };

  Aggregator(Backend& db, Mode mode) : db_(db), mode_(mode) {}

  // Reads — and on PostgreSQL locks — the summaries of the conversations and
  // runs `facts` belong to; those not stored yet start empty. Call inside a
  // write transaction, before add().
  Error load(const std::vector<Facts>& facts);
  // Adds one span, in storing order, and decides its marks (f.firsts).
  void add(Facts& f);
  // Writes the roll-up changes and the summaries.
  Error write();
  // After write() failed: true when another writer stored the first spans of
  // a conversation or run this one took to be new. The transaction must be
  // rolled back and done again; load() then finds that summary.
  bool raced() const { return raced_; }

 private:
  struct Seen {
    std::set<std::string> values;
    // True when `value` (with its tag) is new; records it.
    bool first(char tag, std::string_view value);
  };
  struct Conversation {
    std::string user_id;
    uint64_t first_start = 0, last_start = 0, last_end = 0;
    int64_t turns = 0, workflow_runs = 0;
    Sums sums;
    Seen seen;
    bool stored = false;  // read by load(), else new
  };
  struct Run {
    std::string workflow_type, conversation_id, user_id, trace_id;
    uint64_t first_start = 0, last_start = 0, last_end = 0;
    std::optional<int64_t> wf_cost;
    Sums sums;
    Seen seen;
    bool stored = false;  // read by load(), else new
  };
  struct Key {
    int64_t day;
    std::string user_id, workflow_type, model;
    bool operator<(const Key& o) const;
  };
  struct NarrowKey {
    const char* dimension;  // one of kUserDay … kTypeDay
    int64_t period;
    std::string value;
    bool operator<(const NarrowKey& o) const;
  };

  // A summary table's statements, made once: "INSERT INTO t(columns) VALUES "
  // and the endings for stored rows (rewritten) and new ones (kept if there).
  struct Summary {
    Summary(const char* table, const char* key, const std::string& columns, size_t count,
            const char* what);
    std::string insert, rewrite, keep_stored;
    std::string what;  // in messages: "conversation", "workflow run"
    size_t count;      // columns
  };
  using RowIsStored = std::function<bool(size_t)>;
  // Appends row i's values to the parameters; `blob` holds what they view.
  using BindRow = std::function<void(size_t, Params&, std::string& blob)>;
  Error write_summaries(const Summary& table, size_t rows, const RowIsStored& stored,
                        const BindRow& bind);
  Error load_conversations(const std::vector<std::string>& ids);
  Error load_runs(const std::vector<std::string>& ids);
  Error write_rollups();
  Error write_conversations();
  Error write_runs();

  Backend& db_;
  Mode mode_;
  bool raced_ = false;
  std::map<std::string, Conversation> conversations_;
  std::map<std::string, Run> runs_;
  std::map<Key, Delta> deltas_;
  std::map<NarrowKey, Delta> narrow_;
  // The span added last: its keys, and what they led to. std::map keeps
  // element addresses, so the pointers stay valid.
  struct Last {
    // Declared, so that clang sees std::optional<Last> as constructible
    // before the member initializers below are parsed.
    Last() {}
    int64_t day = 0;
    std::string user_id, model, workflow_type, workflow_id, conversation_id;
    std::optional<int64_t> turn;
    Run* run = nullptr;
    Conversation* conversation = nullptr;
    std::array<Delta*, 5> deltas{};
  };
  std::optional<Last> last_;
};

// Calls fn(begin, count) over [0, n) in chunks of at most `max` items, the
// rest in powers of two, so statements built per chunk come in few shapes
// (and prepared statements are reused).
template <typename Fn>
Error for_chunks(size_t n, size_t max, Fn fn) {
  size_t at = 0;
  while (at < n) {
    size_t left = n - at, count = max;
    if (left < max) {
      count = 1;
      while (count * 2 <= left) count *= 2;
    }
    if (Error e = fn(at, count)) return e;
    at += count;
  }
  return Error{};
}

// "YYYY-MM-DD" of a Unix day (UTC).
std::string day_text(int64_t day);
// The month (year × 12 + month − 1) of a Unix day, and the Unix day it starts on.
int64_t month_of(int64_t day);
int64_t month_start(int64_t month);

// The dimensions of rollup_by.
inline constexpr const char* kUserDay = "user_day";
inline constexpr const char* kUserMonth = "user_month";
inline constexpr const char* kModelDay = "model_day";
inline constexpr const char* kTypeDay = "type_day";

// "(?, ?, …), (…)" placeholders for `rows` rows of `cols` values each. A bare
// ? takes the number after the highest before it (in SQLite and, rewritten,
// in PostgreSQL), so these may follow ?1 … ?k. Numbered placeholders cost
// SQLite time quadratic in their count to prepare; these do not.
std::string placeholders(size_t rows, size_t cols);

// Re-reads every span of the conversations and runs given, in storing order,
// and rebuilds their summaries and marks (spans.firsts), adjusting the
// roll-up counts by the marks that moved. Used after retention removed some
// of their spans. Inside a write transaction; the summaries must have been
// deleted first.
Error rebuild_summaries(Backend& db, const std::vector<std::string>& conversations,
                        const std::vector<std::string>& runs);

// Builds every roll-up and summary from the stored spans (a file that had
// none: the migration to schema version 4). Inside a write transaction.
Error backfill_rollups(Backend& db);

}  // namespace convtrace::store
