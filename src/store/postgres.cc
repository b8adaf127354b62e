#include "store/postgres.h"

#include <libpq-fe.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <set>
#include <unordered_map>

#include "common/utf8.h"
#include "store/rollup.h"

namespace convtrace::store {
namespace {

// Advisory lock keys (per database): schema migrations, partition creation.
constexpr int64_t kSchemaLock = 0x636f6e7674726301;     // "convtrac" 01
constexpr int64_t kPartitionLock = 0x636f6e7674726302;  // "convtrac" 02

// Migrations of the PostgreSQL schema, by the version they bring it to. The
// first is version 4 (SQLite's versions 1 to 3 came before PostgreSQL was
// supported); SQLite and PostgreSQL move to each later version together.
// Append only.
struct Migration {
  int version;
  const char* sql;
};

const Migration kMigrations[] = {
    {4, R"sql(
CREATE TABLE resources (
  id BIGSERIAL PRIMARY KEY,
  fingerprint TEXT COLLATE "C" NOT NULL UNIQUE,
  service_name TEXT COLLATE "C",
  attributes BYTEA
);
CREATE TABLE scopes (
  id BIGSERIAL PRIMARY KEY,
  name TEXT COLLATE "C" NOT NULL,
  version TEXT COLLATE "C" NOT NULL,
  UNIQUE (name, version)
);
CREATE TABLE spans (
  id BIGSERIAL NOT NULL,
  trace_id TEXT COLLATE "C" NOT NULL,
  span_id TEXT COLLATE "C" NOT NULL,
  parent_span_id TEXT COLLATE "C",
  trace_state TEXT COLLATE "C" NOT NULL,
  flags BIGINT NOT NULL,
  parent_is_remote BIGINT NOT NULL,
  name TEXT COLLATE "C" NOT NULL,
  kind BIGINT NOT NULL,
  start_ns BIGINT NOT NULL,
  end_ns BIGINT NOT NULL,
  status_code BIGINT NOT NULL,
  status_message TEXT COLLATE "C" NOT NULL,
  dropped_attributes BIGINT NOT NULL,
  dropped_events BIGINT NOT NULL,
  dropped_links BIGINT NOT NULL,
  resource_id BIGINT,
  scope_id BIGINT,
  conversation_id TEXT COLLATE "C",
  turn BIGINT,
  user_id TEXT COLLATE "C",
  workflow_id TEXT COLLATE "C",
  workflow_type TEXT COLLATE "C",
  genai_kind TEXT COLLATE "C",
  model TEXT COLLATE "C",
  provider TEXT COLLATE "C",
  input_tokens BIGINT,
  output_tokens BIGINT,
  cache_read_tokens BIGINT,
  cache_write_tokens BIGINT,
  reasoning_tokens BIGINT,
  cost_pico BIGINT,
  workflow_cost_pico BIGINT,
  error TEXT COLLATE "C",
  attributes BYTEA,
  events BYTEA,
  links BYTEA,
  firsts BIGINT NOT NULL DEFAULT 0,
  catalog_cost_pico BIGINT,
  UNIQUE (trace_id, span_id, start_ns)
) PARTITION BY RANGE (start_ns);
CREATE INDEX spans_conversation ON spans(conversation_id, turn) WHERE conversation_id IS NOT NULL;
CREATE INDEX spans_workflow ON spans(workflow_id) WHERE workflow_id IS NOT NULL;
CREATE INDEX spans_start ON spans(start_ns);
CREATE TABLE rollup_daily (
  day BIGINT NOT NULL,
  user_id TEXT COLLATE "C" NOT NULL,
  workflow_type TEXT COLLATE "C" NOT NULL,
  model TEXT COLLATE "C" NOT NULL,
  spans BIGINT NOT NULL DEFAULT 0,
  llm_calls BIGINT NOT NULL DEFAULT 0,
  unpriced_calls BIGINT NOT NULL DEFAULT 0,
  cost_pico BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  cache_read_tokens BIGINT NOT NULL DEFAULT 0,
  cache_write_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  cost_disagreements BIGINT NOT NULL DEFAULT 0,
  conv_user BIGINT NOT NULL DEFAULT 0,
  conv_model BIGINT NOT NULL DEFAULT 0,
  conv_type BIGINT NOT NULL DEFAULT 0,
  conv_day BIGINT NOT NULL DEFAULT 0,
  run_user BIGINT NOT NULL DEFAULT 0,
  run_model BIGINT NOT NULL DEFAULT 0,
  run_type BIGINT NOT NULL DEFAULT 0,
  run_day BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (day, user_id, workflow_type, model)
);
-- The same sums one dimension at a time (rollup.h): user_day, user_month
-- (period: year * 12 + month - 1), model_day, type_day.
CREATE TABLE rollup_by (
  dimension TEXT COLLATE "C" NOT NULL,
  period BIGINT NOT NULL,
  value TEXT COLLATE "C" NOT NULL,
  spans BIGINT NOT NULL DEFAULT 0,
  llm_calls BIGINT NOT NULL DEFAULT 0,
  unpriced_calls BIGINT NOT NULL DEFAULT 0,
  cost_pico BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  cache_read_tokens BIGINT NOT NULL DEFAULT 0,
  cache_write_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  cost_disagreements BIGINT NOT NULL DEFAULT 0,
  conv_user BIGINT NOT NULL DEFAULT 0,
  conv_model BIGINT NOT NULL DEFAULT 0,
  conv_type BIGINT NOT NULL DEFAULT 0,
  conv_day BIGINT NOT NULL DEFAULT 0,
  run_user BIGINT NOT NULL DEFAULT 0,
  run_model BIGINT NOT NULL DEFAULT 0,
  run_type BIGINT NOT NULL DEFAULT 0,
  run_day BIGINT NOT NULL DEFAULT 0,
  PRIMARY KEY (dimension, period, value)
);
CREATE INDEX rollup_daily_user ON rollup_daily(user_id, day);
CREATE INDEX rollup_daily_type ON rollup_daily(workflow_type, day);
CREATE TABLE conversations (
  id BIGSERIAL PRIMARY KEY,
  conversation_id TEXT COLLATE "C" NOT NULL UNIQUE,
  user_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  first_start_ns BIGINT NOT NULL DEFAULT 0,
  last_start_ns BIGINT NOT NULL DEFAULT 0,
  last_end_ns BIGINT NOT NULL DEFAULT 0,
  turns BIGINT NOT NULL DEFAULT 0,
  workflow_runs BIGINT NOT NULL DEFAULT 0,
  seen BYTEA,
  spans BIGINT NOT NULL DEFAULT 0,
  llm_calls BIGINT NOT NULL DEFAULT 0,
  unpriced_calls BIGINT NOT NULL DEFAULT 0,
  cost_pico BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  cache_read_tokens BIGINT NOT NULL DEFAULT 0,
  cache_write_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  cost_disagreements BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX conversations_last ON conversations(last_end_ns DESC, conversation_id);
CREATE INDEX conversations_cost ON conversations(cost_pico DESC, conversation_id);
-- By user alone: it changes only when a conversation's first user appears,
-- not with each batch (a user's conversations are few, and sorted when read).
CREATE INDEX conversations_user ON conversations(user_id);
CREATE TABLE workflow_runs (
  id BIGSERIAL PRIMARY KEY,
  workflow_id TEXT COLLATE "C" NOT NULL UNIQUE,
  workflow_type TEXT COLLATE "C" NOT NULL DEFAULT '',
  conversation_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  user_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  trace_id TEXT COLLATE "C" NOT NULL DEFAULT '',
  first_start_ns BIGINT NOT NULL DEFAULT 0,
  last_start_ns BIGINT NOT NULL DEFAULT 0,
  last_end_ns BIGINT NOT NULL DEFAULT 0,
  cost_pico BIGINT NOT NULL DEFAULT 0,
  workflow_cost_pico BIGINT,
  seen BYTEA,
  spans BIGINT NOT NULL DEFAULT 0,
  llm_calls BIGINT NOT NULL DEFAULT 0,
  unpriced_calls BIGINT NOT NULL DEFAULT 0,
  calls_cost_pico BIGINT NOT NULL DEFAULT 0,
  input_tokens BIGINT NOT NULL DEFAULT 0,
  output_tokens BIGINT NOT NULL DEFAULT 0,
  cache_read_tokens BIGINT NOT NULL DEFAULT 0,
  cache_write_tokens BIGINT NOT NULL DEFAULT 0,
  reasoning_tokens BIGINT NOT NULL DEFAULT 0,
  errors BIGINT NOT NULL DEFAULT 0,
  cost_disagreements BIGINT NOT NULL DEFAULT 0
);
CREATE INDEX workflow_runs_cost ON workflow_runs(cost_pico DESC, first_start_ns, workflow_id);
-- No index by type: types are few, so the runs of one come from the cost
-- index at once, and each index changes with every batch of the run.
CREATE INDEX workflow_runs_start ON workflow_runs(first_start_ns DESC, workflow_id);
)sql"},
    // The key dictionary of the packed columns (store/packed.h, format 2):
    // nothing to convert, as with SQLite's version 5.
    {5, R"sql(
-- Packed attributes, events and links in format 2 from here on.
)sql"},
};

constexpr int kLatest = 5;
static_assert(kLatest == kStoreSchemaVersion, "a PostgreSQL migration for every schema version");

// Error of a failed result (or of the connection when there is none).
Error pg_error(PGconn* conn, const PGresult* res, std::string_view what) {
  std::string message(what);
  message += ": ";
  const char* text = res ? PQresultErrorMessage(res) : nullptr;
  message += text && *text ? text : PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
  std::string_view s = state ? state : "";
  if (PQstatus(conn) != CONNECTION_OK || s.substr(0, 2) == "08" || s.substr(0, 3) == "57P" ||
      s.substr(0, 2) == "53" || s == "40001" || s == "40P01" || s == "55P03" || s == "57014") {
    return Error{Error::unavailable, message};
  }
  if (s.substr(0, 2) == "42" || s.substr(0, 2) == "22" || s.substr(0, 2) == "23") {
    return Error{Error::internal, message};
  }
  return Error{Error::io_error, message};
}

// True when `s` is what a text column holds: valid UTF-8 without NUL bytes.
// Spans arrive valid (store/admit.h); a NUL byte, or a query's own text, may
// still not be.
bool storable_text(std::string_view s) {
  return std::memchr(s.data(), 0, s.size()) == nullptr && utf8::valid(s);
}

// `s` made storable: repaired (common/utf8.h), each NUL byte as U+FFFD.
void append_storable(std::string_view s, std::string& out) {
  for (;;) {
    size_t nul = s.find('\0');
    utf8::append_repaired(s.substr(0, nul), out);
    if (nul == std::string_view::npos) return;
    out += utf8::kReplacement;
    s.remove_prefix(nul + 1);
  }
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return 0;
}

class PgRow : public Row {
 public:
  PgRow(const PGresult* res, int row) : res_(res), row_(row) {}
  bool is_null(int col) const override { return PQgetisnull(res_, row_, col) != 0; }
  int64_t int64(int col) const override {
    if (is_null(col)) return 0;
    return std::strtoll(PQgetvalue(res_, row_, col), nullptr, 10);
  }
  std::string text(int col) const override {
    return std::string(PQgetvalue(res_, row_, col),
                       static_cast<size_t>(PQgetlength(res_, row_, col)));
  }
  std::string blob(int col) const override {
    // bytea's text form: \x then two hex digits a byte.
    const char* v = PQgetvalue(res_, row_, col);
    size_t n = static_cast<size_t>(PQgetlength(res_, row_, col));
    std::string out;
    if (n < 2 || v[0] != '\\' || v[1] != 'x') return out;
    out.reserve((n - 2) / 2);
    for (size_t i = 2; i + 1 < n; i += 2) {
      out += static_cast<char>(hex_digit(v[i]) << 4 | hex_digit(v[i + 1]));
    }
    return out;
  }

 private:
  const PGresult* res_;
  int row_;
};

struct ResultDeleter {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

// "spans_YYYYMMDD" for a Unix day.
std::string partition_name(int64_t day) {
  std::string date = day_text(day);
  date.erase(std::remove(date.begin(), date.end(), '-'), date.end());
  return "spans_" + date;
}

class PgBackend : public Backend {
 public:
  PgBackend(PGconn* conn, const StoreOptions& options) : conn_(conn), options_(options) {}
  ~PgBackend() override { PQfinish(conn_); }

  std::string_view name() const override { return "postgresql"; }

  // Session settings, on every (re)connection.
  Error configure() {
    PQsetNoticeProcessor(
        conn_, [](void*, const char*) {}, nullptr);
    std::string sql = "SET lock_timeout = " + std::to_string(options_.busy_timeout.count()) +
                      "; SET bytea_output = 'hex'; SET client_min_messages = warning";
    if (options_.read_only) sql += "; SET default_transaction_read_only = on";
    return simple(sql.c_str(), "cannot configure the session");
  }

  Error begin(bool write) override {
    if (Error e = connected()) return e;
    const char* sql = write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY";
    Error e = simple(sql, "cannot start a transaction");
    if (e && PQstatus(conn_) != CONNECTION_OK) {
      // The server went away since the last call (a restart): try once more.
      if (Error again = connected()) return again;
      e = simple(sql, "cannot start a transaction");
    }
    return e;
  }

  Error commit() override {
    Error e = simple("COMMIT", "cannot commit");
    if (e) rollback();
    return e;
  }

  void rollback() noexcept override {
    if (PQstatus(conn_) == CONNECTION_OK) {
      Result r(PQexec(conn_, "ROLLBACK"));
    }
  }

  Error query(std::string_view sql, const Params& params, const RowFn& row) override {
    auto name = prepared(sql, params.size());
    if (!name) return name.error();
    Bound b = bind(params);
    if (!PQsendQueryPrepared(conn_, name->c_str(), static_cast<int>(params.size()), b.values.data(),
                             b.lengths.data(), b.formats.data(), 0)) {
      return pg_error(conn_, nullptr, "cannot send a query");
    }
    PQsetSingleRowMode(conn_);
    Error e;
    bool wanted = true;
    while (PGresult* raw = PQgetResult(conn_)) {
      Result res(raw);
      ExecStatusType st = PQresultStatus(raw);
      if (st == PGRES_SINGLE_TUPLE) {
        if (wanted && !e) wanted = row(PgRow(raw, 0));
      } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && !e) {
        e = pg_error(conn_, raw, "query failed");
        forget_partitions_if_missing(raw);
      }
    }
    return e;
  }

  Expected<int64_t> exec(std::string_view sql, const Params& params) override {
    auto name = prepared(sql, params.size());
    if (!name) return name.error();
    Bound b = bind(params);
    Result res(PQexecPrepared(conn_, name->c_str(), static_cast<int>(params.size()),
                              b.values.data(), b.lengths.data(), b.formats.data(), 0));
    ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
      Error e = pg_error(conn_, res.get(), "statement failed");
      forget_partitions_if_missing(res.get());
      return e;
    }
    return static_cast<int64_t>(std::strtoll(PQcmdTuples(res.get()), nullptr, 10));
  }

  size_t max_params() const override { return 65535; }

  // Multi-row statements of up to 128 rows (and within the parameter limit).
  Expected<int64_t> insert_rows(std::string_view table, std::string_view columns, size_t count,
                                const Params& values) override {
    if (count == 0) return int64_t{0};
    const size_t rows = values.size() / count;
    const size_t max = std::max<size_t>(1, std::min<size_t>(128, max_params() / count));
    int64_t inserted = 0;
    Error e = for_chunks(rows, max, [&](size_t at, size_t n) -> Error {
      Params chunk(values.begin() + static_cast<long>(at * count),
                   values.begin() + static_cast<long>((at + n) * count));
      std::string sql = "INSERT INTO " + std::string(table) + "(" + std::string(columns) +
                        ") VALUES " + placeholders(n, count) + " ON CONFLICT DO NOTHING";
      auto changed = exec(sql, chunk);
      if (!changed) return changed.error();
      inserted += *changed;
      return Error{};
    });
    if (e) return e;
    return inserted;
  }
  std::string_view lock_clause() const override { return " FOR UPDATE"; }

  Error prepare_days(const std::vector<int64_t>& days) override {
    std::vector<int64_t> missing;
    for (int64_t d : days) {
      if (!days_.count(d)) missing.push_back(d);
    }
    if (missing.empty()) return Error{};
    if (Error e = connected()) return e;
    // In a transaction of its own, before the one that inserts: creating a
    // partition locks the parent table, which must not wait for writers that
    // wait for this transaction's locks.
    std::string sql =
        "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kPartitionLock) + ");";
    // The day of INT64_MAX nanoseconds (2262-04-11), the last the store holds,
    // ends past what BIGINT counts: its partition takes every later value.
    constexpr int64_t kLastDay = std::numeric_limits<int64_t>::max() / kNanosPerDay;
    for (int64_t d : missing) {
      sql += " CREATE TABLE IF NOT EXISTS " + partition_name(d) +
             " PARTITION OF spans FOR VALUES FROM (" + std::to_string(d * kNanosPerDay) + ") TO (" +
             (d >= kLastDay ? std::string("MAXVALUE") : std::to_string((d + 1) * kNanosPerDay)) +
             ");";
    }
    sql += " COMMIT";
    if (Error e = simple(sql.c_str(), "cannot create the day's partition of spans")) {
      rollback();
      return e;
    }
    days_.insert(missing.begin(), missing.end());
    return Error{};
  }

  Expected<int64_t> delete_spans_before(int64_t day) override {
    // The partitions wholly before the day, by their upper bound.
    std::vector<std::pair<std::string, int64_t>> parts;
    Error e = query(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'spans'::regclass",
        {}, [&](const Row& r) {
          std::string bound = r.text(1);
          size_t to = bound.find("TO (");
          if (to == std::string::npos) return true;
          size_t digits = bound.find_first_of("0123456789", to);
          if (digits == std::string::npos) return true;
          int64_t upper = std::strtoll(bound.c_str() + digits, nullptr, 10);
          if (upper <= day * kNanosPerDay) parts.emplace_back(r.text(0), upper);
          return true;
        });
    if (e) return e;
    int64_t removed = 0;
    for (const auto& [part, upper] : parts) {
      Error count = query("SELECT COUNT(*) FROM " + part, {}, [&](const Row& r) {
        removed += r.int64(0);
        return false;
      });
      if (count) return count;
      if (auto dropped = exec("DROP TABLE " + part, {}); !dropped) return dropped.error();
      days_.erase(upper / kNanosPerDay - 1);
    }
    return removed;
  }

  Error simple(const char* sql, std::string_view what) {
    Result res(PQexec(conn_, sql));
    ExecStatusType st = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
    if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) return pg_error(conn_, res.get(), what);
    return Error{};
  }

  PGconn* conn() { return conn_; }

 private:
  struct Bound {
    std::string arena;  // text values, NUL-terminated, back to back
    std::vector<const char*> values;
    std::vector<int> lengths, formats;
  };

  // Integers and text go as text (NUL-terminated), blobs as binary bytea.
  Bound bind(const Params& params) {
    Bound b;
    size_t size = 0;
    for (const Value& v : params) size += v.type == Value::Type::text ? v.bytes.size() + 4 : 24;
    b.arena.reserve(size);
    std::vector<size_t> offsets(params.size(), std::string::npos);
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (v.type == Value::Type::integer) {
        offsets[i] = b.arena.size();
        b.arena += std::to_string(v.integer);
        b.arena += '\0';
      } else if (v.type == Value::Type::text) {
        offsets[i] = b.arena.size();
        if (storable_text(v.bytes)) {
          b.arena.append(v.bytes);
        } else {
          append_storable(v.bytes, b.arena);
        }
        b.arena += '\0';
      }
    }
    b.values.resize(params.size());
    b.lengths.resize(params.size());
    b.formats.resize(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      const Value& v = params[i];
      if (v.type == Value::Type::blob) {
        b.values[i] = v.bytes.data() ? v.bytes.data() : "";
        b.lengths[i] = static_cast<int>(v.bytes.size());
        b.formats[i] = 1;
      } else if (v.type == Value::Type::null) {
        b.values[i] = nullptr;
      } else {
        b.values[i] = b.arena.data() + offsets[i];
      }
    }
    return b;
  }

  // Reconnects when the connection was lost; a reconnection forgets what the
  // old session had prepared.
  Error connected() {
    if (PQstatus(conn_) == CONNECTION_OK) return Error{};
    PQreset(conn_);
    prepared_.clear();
    days_.clear();
    if (PQstatus(conn_) != CONNECTION_OK) {
      return pg_error(conn_, nullptr, "cannot reach PostgreSQL");
    }
    return configure();
  }

  // The name of `sql` prepared on this connection, with ?N as $N.
  Expected<std::string> prepared(std::string_view sql, size_t nparams) {
    if (Error e = connected()) return e;
    auto it = prepared_.find(std::string(sql));
    if (it != prepared_.end()) return it->second;
    // ?N → $N; a bare ? → the number after the highest so far (as SQLite).
    std::string text;
    text.reserve(sql.size() + sql.size() / 2);
    bool quoted = false;
    size_t highest = 0;
    for (size_t i = 0; i < sql.size(); ++i) {
      char c = sql[i];
      if (c == '\'') quoted = !quoted;
      if (quoted || c != '?') {
        text += c;
        continue;
      }
      size_t n = 0, j = i + 1;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9') n = n * 10 + (sql[j++] - '0');
      if (j == i + 1) n = highest + 1;
      highest = std::max(highest, n);
      text += '$';
      text += std::to_string(n);
      i = j - 1;
    }
    if (prepared_.size() >= 256) {
      // Bounded: statements with IN lists come in a few sizes only, but a
      // long-lived collector should not collect them forever.
      Result r(PQexec(conn_, "DEALLOCATE ALL"));
      prepared_.clear();
    }
    std::string name = "ct" + std::to_string(++statements_);
    Result res(PQprepare(conn_, name.c_str(), text.c_str(), static_cast<int>(nparams), nullptr));
    if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
      return pg_error(conn_, res.get(), "cannot prepare a statement");
    }
    prepared_.emplace(std::string(sql), name);
    return name;
  }

  // A partition another process dropped (retention) is created again when
  // needed: forget the days known when an insert found none.
  void forget_partitions_if_missing(const PGresult* res) {
    const char* state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    if (state && std::strcmp(state, "23514") == 0) days_.clear();
  }

  PGconn* conn_;
  StoreOptions options_;
  std::unordered_map<std::string, std::string> prepared_;
  uint64_t statements_ = 0;
  std::set<int64_t> days_;  // partitions known to exist
};

// The schema version of the database; 0 when it has none.
Expected<int> read_version(PgBackend& db) {
  int version = 0;
  bool exists = false;
  Error e = db.query("SELECT to_regclass('convtrace_schema') IS NOT NULL", {}, [&](const Row& r) {
    exists = r.text(0) == "t";
    return false;
  });
  if (e) return e;
  if (!exists) return 0;
  e = db.query("SELECT MAX(version) FROM convtrace_schema", {}, [&](const Row& r) {
    version = static_cast<int>(r.int64(0));
    return false;
  });
  if (e) return e;
  return version;
}

// Applies the migrations the database lacks, once: every process takes the
// advisory lock first, and reads the version only while holding it.
Error migrate(PgBackend& db) {
  std::string lock = "BEGIN; SELECT pg_advisory_xact_lock(" + std::to_string(kSchemaLock) +
                     "); CREATE TABLE IF NOT EXISTS convtrace_schema (version INTEGER PRIMARY KEY, "
                     "applied_at TIMESTAMPTZ NOT NULL DEFAULT now())";
  if (Error e = db.simple(lock.c_str(), "cannot lock the schema")) {
    db.rollback();
    return e;
  }
  auto version = read_version(db);
  if (!version) {
    db.rollback();
    return version.error();
  }
  if (*version > kLatest) {
    db.rollback();
    return Error{Error::io_error, "database schema version " + std::to_string(*version) +
                                      " is newer than this convtrace (" + std::to_string(kLatest) +
                                      ")"};
  }
  for (const Migration& m : kMigrations) {
    if (m.version <= *version) continue;
    std::string sql = std::string(m.sql) + "; INSERT INTO convtrace_schema(version) VALUES (" +
                      std::to_string(m.version) + ")";
    if (Error e = db.simple(sql.c_str(), "cannot migrate the database schema")) {
      db.rollback();
      return e;
    }
  }
  return db.commit();
}

}  // namespace

Expected<std::unique_ptr<Backend>> open_postgresql(const std::string& uri,
                                                   const StoreOptions& options, int* version) {
  const std::string where = redact_location(uri);
  const char* keys[] = {"dbname", "fallback_application_name", nullptr};
  const char* values[] = {uri.c_str(), "convtrace", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (!conn) return Error{Error::internal, "out of memory connecting to " + where};
  auto db = std::make_unique<PgBackend>(conn, options);
  if (PQstatus(conn) != CONNECTION_OK) {
    Error e = pg_error(conn, nullptr, "cannot connect to " + where);
    e.code = Error::unavailable;
    return e;
  }
  if (Error e = db->configure()) return e;
  auto v = read_version(*db);
  if (!v) return v.error();
  if (options.read_only) {
    if (*v == 0) return Error{Error::not_found, "no convtrace store in " + where};
    if (*v < kLatest && options.migrate_older) {
      // Migrating writes: on a connection of its own, without the read-only
      // session setting.
      StoreOptions writable = options;
      writable.read_only = false;
      int ignored = 0;
      auto w = open_postgresql(uri, writable, &ignored);
      if (!w) return w.error();
      v = read_version(*db);
      if (!v) return v.error();
    }
    if (*v != kLatest) {
      return Error{Error::io_error, where + " has schema version " + std::to_string(*v) +
                                        ", this convtrace reads version " +
                                        std::to_string(kLatest)};
    }
  } else if (*v != kLatest) {
    if (Error e = migrate(*db)) return Error{e.code, where + ": " + e.message};
    v = read_version(*db);
    if (!v) return v.error();
  }
  *version = *v;
  return std::unique_ptr<Backend>(std::move(db));
}

}  // namespace convtrace::store
