// The store: spans in one SQLite file or in a PostgreSQL database, and the
// queries behind the CLI (and any other front end: every number it shows comes
// from one of these functions).
//
//   auto store = convtrace::Store::open("convtrace.db");   // Expected<std::unique_ptr<Store>>
//   // or Store::open("postgresql://collector@db.internal/convtrace")
//   if (!store) { std::cerr << store.error().message << '\n'; return 1; }
//   auto rows = (*store)->report({convtrace::ReportGroup::user});
//
// The store holds every span exactly as recorded — every attribute (typed,
// unknown keys included), event, link, resource and scope — plus columns
// extracted from the GenAI attributes (conversation, turn, user, workflow,
// model, tokens and the cost in integer pico-USD). Nothing is dropped on the
// way in. A span stored twice (same trace and span id, e.g. an OTLP client
// retrying) is kept once and counted once.
//
// Reports and listings read roll-ups (per day × user × workflow type × model,
// per conversation, per workflow run) that are kept in the same transaction
// as the spans they sum, so they answer in the same time at any store size
// and are exact to the pico-USD. Listings take a sort, a limit and an offset,
// and stream their rows.
//
// Where: a path (or SQLite "file:" URI) is an SQLite file in WAL mode —
// readers never block the writer, and several processes may write one file
// (writes wait for each other up to the busy timeout). A "postgresql://" or
// "postgres://" URI (libpq's syntax; the password comes from the URI, from
// PGPASSWORD or from ~/.pgpass, and is never printed) is a PostgreSQL
// database that several collectors write at once: spans are partitioned by
// day, and the schema is created and migrated once however many processes
// start together. The results of every query are the same on both.
//
// The schema is versioned; opening migrates it to kStoreSchemaVersion.
// Statements are always prepared, never built from values.
//
// Thread-safety: a Store may be used from several threads; calls are
// serialized on its one connection. Nothing here throws; failures are Error
// values (not_found: no store at a path opened read-only, no such
// conversation; io_error: the file or database cannot be opened, read or
// written, is read-only or full; unavailable: another writer held the lock
// past the busy timeout, or the database server cannot be reached — retry;
// invalid_argument: a query the store cannot answer).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/exporter.h"
#include "convtrace/pricing.h"
#include "convtrace/span_data.h"

namespace convtrace {

// The schema version this build writes. Files with a newer version are refused.
inline constexpr int kStoreSchemaVersion = 5;

struct StoreOptions {
  // Opens an existing store for queries only: nothing is created or migrated
  // (but see migrate_older). A path where no file is: not_found.
  bool read_only = false;
  // With read_only: a file an earlier convtrace wrote (older schema version)
  // is first migrated to kStoreSchemaVersion, in one write transaction as a
  // writable open would, and then opened read-only. Without it such a file is
  // refused (io_error).
  bool migrate_older = false;
  // How long a write waits for another connection (or process) to release the
  // file (PostgreSQL: a row or table lock) before it fails with `unavailable`.
  std::chrono::milliseconds busy_timeout{5000};
  // Prices spans stored with token counts and a known model but no cost of
  // their own (spans from other SDKs through `convtrace collect`). Null: the
  // built-in catalog. See "Sending from Python/JS/other SDKs" in README.md.
  std::shared_ptr<const Pricing> pricing;
};

// True for a "postgresql://" or "postgres://" location.
bool is_postgresql_location(std::string_view location);
// `location` with any password replaced by "***", for messages.
std::string redact_location(std::string_view location);

// Time and attribute filters shared by the queries. Times are Unix nanoseconds
// of a span's start; `since` is inclusive, `until` exclusive. An empty user or
// workflow type on a span counts as none. A bound past
// 2262-04-11T23:47:16.854775807Z (the latest time the store holds, INT64_MAX
// nanoseconds) makes the query fail with invalid_argument.
struct StoreFilter {
  std::optional<uint64_t> since_unix_nano;
  std::optional<uint64_t> until_unix_nano;
  std::optional<std::string> user_id;
  std::optional<std::string> workflow_type;
  // The model of a call (response model, else request model). Reports only —
  // the listings of conversations and workflow runs refuse it (invalid_argument);
  // a report's cost, calls and tokens are then that model's, while its
  // conversations and workflow_runs count as without the filter.
  std::optional<std::string> model;
};

// Which rows of a listing: `limit` rows (0: all) after skipping `offset`.
struct Page {
  int64_t limit = 0;
  int64_t offset = 0;
};

enum class ReportGroup { user, model, workflow_type, conversation, day };

// "user", "model", "workflow-type", "conversation", "day".
std::string_view to_string(ReportGroup group);
// The inverse of to_string; invalid_argument for anything else ("workflow_type"
// is accepted too).
Expected<ReportGroup> parse_report_group(std::string_view text);

// What a report is ordered by. Every order ends with the group (ascending),
// so equal rows come in the same order every time, on every backend.
enum class ReportSort {
  cost,
  group,
  llm_calls,
  input_tokens,
  output_tokens,
  conversations,
  workflow_runs,
  errors
};
// "cost", "group", "llm-calls", "input-tokens", "output-tokens",
// "conversations", "runs", "errors"; parse: invalid_argument for others.
std::string_view to_string(ReportSort sort);
Expected<ReportSort> parse_report_sort(std::string_view text);

struct ReportQuery {
  // `{ReportGroup::model}`, `{ReportGroup::user, filter}`; set the rest by name.
  ReportQuery(ReportGroup by_group = ReportGroup::user, StoreFilter where = {})
      : by(by_group), filter(std::move(where)) {}
  ReportGroup by;
  StoreFilter filter;
  // Default: cost, costliest first (`day`: group, oldest first).
  std::optional<ReportSort> sort;
  // Default: descending for numbers, ascending for the group.
  std::optional<bool> descending;
  Page page;
};

// One group of a report. Sums run over every matching span; only spans that
// recorded usage carry tokens and cost, so nothing is counted twice.
//
// `conversations` and `workflow_runs` count the distinct conversations (runs)
// with a span in the group. Under a time range or another filter, each is
// counted where the first of its spans in the group falls: a conversation
// that began before `since` and went on is not counted again.
struct ReportRow {
  std::optional<std::string> group;  // nullopt: spans without that attribute
  int64_t cost_pico_usd = 0;
  int64_t llm_calls = 0;       // spans that recorded usage (tokens or cost)
  int64_t unpriced_calls = 0;  // … of which carry no cost (unknown model)
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t conversations = 0;  // distinct conversation ids
  int64_t workflow_runs = 0;  // distinct workflow ids
  int64_t errors = 0;         // spans with error status
  int64_t spans = 0;          // spans in the group
  // Spans that carried a cost of their own that the catalog prices
  // differently (the sent cost is the one summed).
  int64_t cost_disagreements = 0;
};

// How long the model calls (spans that recorded usage) of one group took:
// nearest-rank percentiles of their durations (end - start).
struct LatencyRow {
  std::optional<std::string> group;  // nullopt: calls without that attribute
  int64_t calls = 0;
  uint64_t p50_nano = 0;
  uint64_t p95_nano = 0;
  uint64_t p99_nano = 0;
  uint64_t max_nano = 0;
};

// The cost of one model's calls that began in one UTC hour: a segment of an
// hourly spend chart.
struct HourlySpend {
  uint64_t hour_start_unix_nano = 0;
  std::optional<std::string> model;  // nullopt: calls without a model
  int64_t cost_pico_usd = 0;
};

// The longest range spend_by_hour() reads, in days: an hour-by-hour chart of
// more would have thousands of bars, and reading the spans of weeks takes
// seconds on a large store.
constexpr int64_t kMaxHourlySpendDays = 31;

// One span of a conversation turn, in tree order.
struct SpanView {
  std::string trace_id;        // 32 hex digits
  std::string span_id;         // 16 hex digits
  std::string parent_span_id;  // empty for a root
  int depth = 0;               // 0 for the topmost span of the turn
  std::string name;
  std::string kind;  // gen_ai.l9.span.kind ("llm", "tool", …), may be empty
  std::string model;
  std::string provider;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  std::optional<int64_t> input_tokens;
  std::optional<int64_t> output_tokens;
  std::optional<int64_t> cache_read_tokens;
  std::optional<int64_t> cache_write_tokens;
  std::optional<int64_t> reasoning_tokens;
  std::optional<int64_t> cost_pico_usd;
  std::string error;  // error.type, else the status description; empty when fine
  // What went wrong in words: the status description, else the message of the
  // last exception event ("upstream timeout after 30s"); empty when none.
  std::string error_message;
  StatusCode status = StatusCode::unset;
  // The span's events (exceptions among them), in recorded order.
  std::vector<SpanEvent> events;
  std::optional<std::string> input_messages;   // gen_ai.input.messages, when captured
  std::optional<std::string> output_messages;  // gen_ai.output.messages, when captured
};

struct TurnView {
  int64_t turn = 0;
  std::vector<std::string> trace_ids;  // by first start time
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  int64_t cost_pico_usd = 0;
  int64_t running_total_pico_usd = 0;  // this turn and every turn before it
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t llm_calls = 0;
  int64_t errors = 0;
  std::vector<SpanView> spans;  // depth first, siblings by start time
};

// A conversation turn by turn. Spans carry their turn (gen_ai.conversation.turn);
// a span without one takes the turn of its nearest ancestor, else the smallest
// turn in its trace. A trace without any turn (spans from SDKs that do not count
// turns) is one turn: such traces follow in time order after the highest
// counted turn (so with no counted turns at all, turn n is the n-th trace).
// Every span of a trace that touches the conversation is shown, and counted in
// its totals — also spans that do not carry the conversation id themselves.
struct ConversationView {
  std::string conversation_id;
  std::vector<std::string> user_ids;  // sorted
  int64_t cost_pico_usd = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t llm_calls = 0;
  int64_t errors = 0;
  std::vector<TurnView> turns;  // ascending turn
};

// One conversation in the list of conversations: its summary, kept as its
// spans are stored. Its sums cover the spans that carry the conversation id.
struct ConversationSummary {
  std::string conversation_id;
  std::string user_id;                // the first user seen in it; empty when none
  uint64_t first_seen_unix_nano = 0;  // earliest span start
  uint64_t last_seen_unix_nano = 0;   // latest span end
  // Distinct turn numbers, plus one per root span without a turn (from SDKs
  // that do not count turns, each trace is a turn): as the conversation view
  // counts them when such a trace's root span carries the conversation id.
  int64_t turns = 0;
  int64_t spans = 0;
  int64_t llm_calls = 0;
  int64_t unpriced_calls = 0;
  int64_t cost_pico_usd = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t cache_read_tokens = 0;
  int64_t cache_write_tokens = 0;
  int64_t reasoning_tokens = 0;
  int64_t errors = 0;
  int64_t workflow_runs = 0;
};

enum class ConversationSort { last_seen, first_seen, cost, turns, llm_calls, errors, id };
// "last-seen", "first-seen", "cost", "turns", "llm-calls", "errors", "id".
std::string_view to_string(ConversationSort sort);
Expected<ConversationSort> parse_conversation_sort(std::string_view text);

struct ConversationQuery {
  // user_id: conversations whose (first) user it is; since/until:
  // conversations with a span starting in the range. workflow_type is not a
  // filter of conversations (invalid_argument).
  StoreFilter filter;
  ConversationSort sort = ConversationSort::last_seen;
  std::optional<bool> descending;  // default: descending, `id` ascending
  Page page;
};

enum class WorkflowSort { cost, start, llm_calls, errors, id };
// "cost", "start", "llm-calls", "errors", "id".
std::string_view to_string(WorkflowSort sort);
Expected<WorkflowSort> parse_workflow_sort(std::string_view text);

struct WorkflowQuery {
  // workflow_type, user_id: runs of that type (user); since/until: runs with
  // a span starting in the range.
  StoreFilter filter;
  std::optional<int64_t> min_cost_pico_usd;  // runs costing less are left out
  WorkflowSort sort = WorkflowSort::cost;    // costliest first
  std::optional<bool> descending;            // default: descending, `id` ascending
  Page page;
};

// One run of a workflow (one workflow.id).
struct WorkflowRun {
  std::string workflow_id;
  std::string workflow_type;
  std::string conversation_id;
  std::string user_id;
  std::string trace_id;  // of the workflow span (else of the first span stored)
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  // workflow.total_cost_pico_usd of the workflow span (or its USD form, from
  // other SDKs); when no span carries it, the sum of the calls' own costs.
  int64_t cost_pico_usd = 0;
  bool cost_from_workflow_span = false;
  int64_t llm_calls = 0;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t errors = 0;
  // The costliest direct child of the workflow span, counting everything below
  // it (without a workflow span: the costliest single span). Empty when nothing
  // in the run has a cost.
  std::string costliest_step;
  int64_t costliest_step_cost_pico_usd = 0;
};

// What prune removed.
struct PruneResult {
  uint64_t before_unix_nano = 0;  // spans starting before this midnight (UTC) went
  int64_t spans = 0;
  int64_t conversations = 0;  // conversations no span is left of
  int64_t workflow_runs = 0;  // runs no span is left of
};

// Receives each row of a streamed result; returns false to stop.
template <typename T>
using RowSink = std::function<bool(const T&)>;

class Store {
 public:
  // Opens the store at `location` — an SQLite file (created unless read-only)
  // or a PostgreSQL URI — and migrates it to kStoreSchemaVersion. Errors:
  // not_found (read-only and no file there), io_error (cannot open, not a
  // database, schema newer than this build, read-only store that needs
  // migrating), unavailable (locked past the busy timeout, server down).
  static Expected<std::unique_ptr<Store>> open(const std::string& location,
                                               StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Stores `batch` in one transaction, with its roll-ups: all spans or none.
  // Spans already stored are skipped (and not counted again). A start, end or
  // event time past 2262-04-11T23:47:16.854775807Z is an invalid_argument
  // error naming the span (nothing is stored); text that is not valid UTF-8 is
  // stored with each ill-formed sequence replaced by U+FFFD (and an
  // `invalid_utf8` warning counted).
  //
  // Inserts from several threads at once share transactions (group commit):
  // one that arrives while another is being written waits, then is stored
  // together with the others that waited. Each still gets its own result, and
  // success means its spans are committed.
  Error insert(const SpanBatch& batch);
  Error insert(const std::vector<SpanData>& spans);
  // Write transactions the inserts have taken so far (one per group, and one
  // more per insert retried alone after its group failed).
  uint64_t write_transactions() const;

  // Cost and tokens grouped by `query.by`, in `query.sort` order. Reads the
  // roll-ups (and, for the partial days at the edges of a time range, the
  // spans of at most half a day each: of those hours, or of the rest of a day
  // taken whole); `conversation` reads every span in the range — for a list
  // of conversations at any store size, see conversations().
  Expected<std::vector<ReportRow>> report(const ReportQuery& query) const;
  Error report(const ReportQuery& query, const RowSink<ReportRow>& row) const;
  // The sums of report() over every group at once (group: nullopt); its
  // `conversations` and `workflow_runs` are 0 (count them by a grouping).
  Expected<ReportRow> report_total(const StoreFilter& filter) const;

  // Call latency by `by` (user or model; others: invalid_argument) under
  // `filter`, groups in ascending order. Reads the calls' spans in the range,
  // not the roll-ups: it takes longer the more calls the range holds, and
  // holds the durations of one group at a time.
  Expected<std::vector<LatencyRow>> latency(ReportGroup by, const StoreFilter& filter) const;

  // Cost per UTC hour and model under `filter`, by hour then model, the
  // pairs with a cost only: the same sums as report() by day, an hour at a
  // time. Reads the spans in the range, so `since` and `until` are required
  // and at most kMaxHourlySpendDays apart (invalid_argument otherwise).
  Expected<std::vector<HourlySpend>> spend_by_hour(const StoreFilter& filter) const;
  // The provider named by the calls of each of `models` (the first one found:
  // a model served by two providers shows one of them), for the models whose
  // calls named any. Reads a model's spans until one names its provider.
  Expected<std::map<std::string, std::string>> providers(
      const std::vector<std::string>& models) const;

  // Conversation `id` turn by turn; not_found when no span carries it.
  Expected<ConversationView> conversation(std::string_view id) const;
  // Conversations, from their summaries, in `query.sort` order.
  Expected<std::vector<ConversationSummary>> conversations(const ConversationQuery& query) const;
  Error conversations(const ConversationQuery& query,
                      const RowSink<ConversationSummary>& row) const;

  // Workflow runs matching `query`, in `query.sort` order (costliest first).
  Expected<std::vector<WorkflowRun>> workflows(const WorkflowQuery& query) const;
  Error workflows(const WorkflowQuery& query, const RowSink<WorkflowRun>& row) const;

  // Removes every span starting before the UTC midnight at or before
  // `before_unix_nano` (whole days: on PostgreSQL, their partitions), with
  // their share of every roll-up and summary, in one transaction: reports
  // after it equal reports computed from the spans left. A time past
  // 2262-04-11T23:47:16.854775807Z is invalid_argument.
  Expected<PruneResult> prune(uint64_t before_unix_nano);

  // Every stored span of trace `trace_id` (32 hex digits), as recorded, by start
  // time. Attributes, events and links come back in their original order.
  Expected<std::vector<SpanData>> load_trace(std::string_view trace_id) const;
  // Number of spans stored.
  Expected<int64_t> span_count() const;
  // The schema version of the store.
  int schema_version() const;
  // "sqlite" or "postgresql".
  std::string_view backend_name() const;
  // Where the store is, with any password replaced by "***".
  const std::string& location() const;

  struct Impl;  // internal

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A SpanExporter writing into the store at `location` (see Store::open). Each
// export_batch is one transaction. When the store is locked past the busy
// timeout, unreachable, read-only, or full, export_batch returns
// ExportResult::failure and counts a warning ("<backend>_export_failed", e.g.
// "sqlite_export_failed"); it never throws. Errors at creation as for
// Store::open.
Expected<std::unique_ptr<SpanExporter>> make_store_exporter(const std::string& location,
                                                            StoreOptions options = {});
// The same; the name the SDK has always used (`location` may be a
// PostgreSQL URI too).
Expected<std::unique_ptr<SpanExporter>> make_sqlite_exporter(const std::string& location,
                                                             StoreOptions options = {});

}  // namespace convtrace
