// The embedded store: spans in one SQLite file, and the queries behind the CLI.
//
//   auto store = convtrace::Store::open("convtrace.db");   // Expected<std::unique_ptr<Store>>
//   if (!store) { std::cerr << store.error().message << '\n'; return 1; }
//   auto rows = (*store)->report({convtrace::ReportGroup::user});
//
// The file holds every span exactly as recorded — every attribute (typed, unknown
// keys included), event, link, resource and scope — plus columns extracted from
// the GenAI attributes (conversation, turn, user, workflow, model, tokens and the
// cost in integer pico-USD) so the questions the CLI answers are indexed queries.
// Nothing is dropped on the way in. A span stored twice (same trace and span id,
// e.g. an OTLP client retrying) is kept once.
//
// The schema is versioned (`PRAGMA user_version`); opening a file migrates it to
// kStoreSchemaVersion. The file is in WAL mode, so readers never block the
// writer, and several processes may write one file: writes wait for each other
// up to the busy timeout. Statements are always prepared, never built from
// values.
//
// Thread-safety: a Store may be used from several threads; calls are serialized
// on its one connection. Nothing here throws; failures are Error values
// (io_error: the file cannot be opened, read or written, is read-only or full;
// unavailable: another writer held the lock past the busy timeout; not_found: no
// such conversation).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/exporter.h"
#include "convtrace/pricing.h"
#include "convtrace/span_data.h"

namespace convtrace {

// The schema version this build writes. Files with a newer version are refused.
inline constexpr int kStoreSchemaVersion = 3;

struct StoreOptions {
  // Opens an existing file for queries only: nothing is created or migrated
  // (but see migrate_older).
  bool read_only = false;
  // With read_only: a file an earlier convtrace wrote (older schema version)
  // is first migrated to kStoreSchemaVersion, in one write transaction as a
  // writable open would, and then opened read-only. Without it such a file is
  // refused (io_error).
  bool migrate_older = false;
  // How long a write waits for another connection (or process) to release the
  // file before it fails with `unavailable`.
  std::chrono::milliseconds busy_timeout{5000};
  // Prices spans stored with token counts and a known model but no cost of
  // their own (spans from other SDKs through `convtrace collect`). Null: the
  // built-in catalog. See "Sending from Python/JS/other SDKs" in README.md.
  std::shared_ptr<const Pricing> pricing;
};

// Time and attribute filters shared by the queries. Times are Unix nanoseconds
// of a span's start; `since` is inclusive, `until` exclusive. A bound past
// 2262-04-11T23:47:16.854775807Z (the latest time the store holds, INT64_MAX
// nanoseconds) makes the query fail with invalid_argument.
struct StoreFilter {
  std::optional<uint64_t> since_unix_nano;
  std::optional<uint64_t> until_unix_nano;
  std::optional<std::string> user_id;
  std::optional<std::string> workflow_type;
};

enum class ReportGroup { user, model, workflow_type, conversation, day };

// "user", "model", "workflow-type", "conversation", "day".
std::string_view to_string(ReportGroup group);
// The inverse of to_string; invalid_argument for anything else ("workflow_type"
// is accepted too).
Expected<ReportGroup> parse_report_group(std::string_view text);

struct ReportQuery {
  ReportGroup by = ReportGroup::user;
  StoreFilter filter;
};

// One group of a report. Sums run over every matching span; only spans that
// recorded usage carry tokens and cost, so nothing is counted twice.
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
  // Spans that carried a cost of their own that the catalog prices
  // differently (the sent cost is the one summed).
  int64_t cost_disagreements = 0;
};

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
  StatusCode status = StatusCode::unset;
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
// Every span of a trace that touches the conversation is shown.
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

struct WorkflowQuery {
  StoreFilter filter;
  std::optional<int64_t> min_cost_pico_usd;  // runs costing less are left out
};

// One run of a workflow (one workflow.id).
struct WorkflowRun {
  std::string workflow_id;
  std::string workflow_type;
  std::string conversation_id;
  std::string user_id;
  std::string trace_id;
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

class Store {
 public:
  // Opens (creating unless read-only) the SQLite file at `path` and migrates it
  // to kStoreSchemaVersion. Errors: io_error (cannot open, not a database,
  // schema newer than this build, read-only file that needs migrating),
  // unavailable (locked past the busy timeout).
  static Expected<std::unique_ptr<Store>> open(const std::string& path, StoreOptions options = {});
  ~Store();
  Store(const Store&) = delete;
  Store& operator=(const Store&) = delete;

  // Stores `batch` in one transaction: all spans or none. Spans already stored
  // are skipped. A start, end or event time past 2262-04-11T23:47:16.854775807Z
  // is an invalid_argument error naming the span (nothing is stored); text that
  // is not valid UTF-8 is stored with each ill-formed sequence replaced by
  // U+FFFD (and an `invalid_utf8` warning counted).
  Error insert(const SpanBatch& batch);
  Error insert(const std::vector<SpanData>& spans);

  // Cost and tokens grouped by `query.by`, costliest first (`day`: oldest first).
  Expected<std::vector<ReportRow>> report(const ReportQuery& query) const;
  // Conversation `id` turn by turn; not_found when no span carries it.
  Expected<ConversationView> conversation(std::string_view id) const;
  // Workflow runs matching `query`, costliest first.
  Expected<std::vector<WorkflowRun>> workflows(const WorkflowQuery& query) const;

  // Every stored span of trace `trace_id` (32 hex digits), as recorded, by start
  // time. Attributes, events and links come back in their original order.
  Expected<std::vector<SpanData>> load_trace(std::string_view trace_id) const;
  // Number of spans stored.
  Expected<int64_t> span_count() const;
  // The file's schema version (PRAGMA user_version).
  int schema_version() const;

  struct Impl;  // internal

 private:
  explicit Store(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// A SpanExporter writing into the SQLite file at `path` (see Store). Each
// export_batch is one transaction. When the file is locked past the busy
// timeout, read-only, or full, export_batch returns ExportResult::failure and
// counts a warning ("sqlite_export_failed"); it never throws. Errors at
// creation as for Store::open. `path` may be a SQLite "file:" URI.
Expected<std::unique_ptr<SpanExporter>> make_sqlite_exporter(const std::string& path,
                                                             StoreOptions options = {});

}  // namespace convtrace
