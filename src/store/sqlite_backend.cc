#include "store/sqlite_backend.h"

#include <sys/stat.h>

#include <algorithm>
#include <string>

#include "store/rollup.h"
#include "store/schema.h"

namespace convtrace::store {
namespace {

constexpr size_t kMaxCachedStatements = 128;
// How much WAL a writer lets accumulate before checkpointing it (see open_sqlite).
constexpr int64_t kCheckpointBytes = int64_t{64} << 20;

class SqliteRow : public Row {
 public:
  explicit SqliteRow(const Stmt& stmt) : stmt_(stmt) {}
  bool is_null(int col) const override { return stmt_.is_null(col); }
  int64_t int64(int col) const override { return stmt_.int64(col); }
  std::string text(int col) const override { return stmt_.text(col); }
  std::string blob(int col) const override {
    const void* p = sqlite3_column_blob(stmt_.raw(), col);
    int n = sqlite3_column_bytes(stmt_.raw(), col);
    return p ? std::string(static_cast<const char*>(p), static_cast<size_t>(n)) : std::string();
  }

 private:
  const Stmt& stmt_;
};

// The file's page size in bytes (16 KiB for files this version creates).
int64_t page_size(Db& db) {
  auto stmt = db.prepare("PRAGMA page_size");
  if (!stmt || stmt->step() != SQLITE_ROW || stmt->int64(0) <= 0) return 4096;
  return stmt->int64(0);
}

}  // namespace

SqliteBackend::SqliteBackend(Db& db, std::chrono::milliseconds busy_timeout)
    : db_(&db), busy_timeout_(busy_timeout) {}

SqliteBackend::SqliteBackend(Db&& db, std::chrono::milliseconds busy_timeout)
    : owned_(std::move(db)), db_(&owned_), busy_timeout_(busy_timeout) {}

Error SqliteBackend::begin(bool write) {
  if (write) return db_->begin_write(busy_timeout_);
  return db_->exec("BEGIN", "cannot start a read transaction");
}

Error SqliteBackend::commit() {
  Error e = db_->exec("COMMIT", "cannot commit");
  if (e) db_->rollback();
  return e;
}

void SqliteBackend::rollback() noexcept { db_->rollback(); }

Expected<Stmt*> SqliteBackend::statement(std::string_view sql) {
  auto it = cache_.find(std::string(sql));
  if (it == cache_.end()) {
    if (cache_.size() >= kMaxCachedStatements) cache_.clear();
    auto stmt = db_->prepare(sql);
    if (!stmt) return stmt.error();
    it = cache_.emplace(std::string(sql), std::move(*stmt)).first;
  }
  return &it->second;
}

void SqliteBackend::bind(Stmt& st, const Value* values, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    int col = static_cast<int>(i + 1);
    const Value& v = values[i];
    switch (v.type) {
      case Value::Type::null:
        st.bind_null(col);
        break;
      case Value::Type::integer:
        st.bind(col, v.integer);
        break;
      case Value::Type::text:
        st.bind(col, v.bytes);
        break;
      case Value::Type::blob:
        st.bind_blob(col, v.bytes);
        break;
    }
  }
}

Expected<int64_t> SqliteBackend::insert_rows(std::string_view table, std::string_view columns,
                                             size_t count, const Params& values) {
  // Several rows a statement: each run of one opens its cursors on the table
  // and every index, whatever it inserts. 16 rows a statement took a fifth
  // off the instructions of a 512-span batch (bench/RESULTS.md, B7); 64 did
  // no better.
  if (count == 0) return int64_t{0};
  const size_t max = std::max<size_t>(1, std::min<size_t>(16, max_params() / count));
  int64_t inserted = 0;
  size_t prepared_rows = 0;  // the rows of `stmt`, which chunks of one size share
  Stmt* stmt = nullptr;
  Error e = for_chunks(values.size() / count, max, [&](size_t at, size_t n) -> Error {
    if (n != prepared_rows) {
      auto st = statement("INSERT INTO " + std::string(table) + "(" + std::string(columns) +
                          ") VALUES " + placeholders(n, count) + " ON CONFLICT DO NOTHING");
      if (!st) return st.error();
      stmt = *st;
      prepared_rows = n;
    }
    bind(*stmt, values.data() + at * count, n * count);
    int rc = stmt->step();
    stmt->reset();
    if (rc != SQLITE_DONE) return sqlite_error(db_->raw(), rc, "cannot insert a row");
    inserted += sqlite3_changes(db_->raw());
    return Error{};
  });
  if (e) return e;
  return inserted;
}

Error SqliteBackend::query(std::string_view sql, const Params& params, const RowFn& row) {
  auto st = statement(sql);
  if (!st) return st.error();
  Stmt& stmt = **st;
  bind(stmt, params.data(), params.size());
  SqliteRow view(stmt);
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
    if (!row(view)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  Error e;
  if (rc != SQLITE_DONE) e = sqlite_error(db_->raw(), rc, "query failed");
  stmt.reset();
  return e;
}

Expected<int64_t> SqliteBackend::exec(std::string_view sql, const Params& params) {
  auto st = statement(sql);
  if (!st) return st.error();
  Stmt& stmt = **st;
  bind(stmt, params.data(), params.size());
  int rc;
  while ((rc = stmt.step()) == SQLITE_ROW) {
  }
  Error e;
  if (rc != SQLITE_DONE) e = sqlite_error(db_->raw(), rc, "statement failed");
  stmt.reset();
  if (e) return e;
  return static_cast<int64_t>(sqlite3_changes(db_->raw()));
}

size_t SqliteBackend::max_params() const {
  return static_cast<size_t>(sqlite3_limit(db_->raw(), SQLITE_LIMIT_VARIABLE_NUMBER, -1));
}

Expected<int64_t> SqliteBackend::delete_spans_before(int64_t day) {
  return exec("DELETE FROM spans WHERE start_ns < ?1", {Value::of(day * kNanosPerDay)});
}

Expected<std::unique_ptr<Backend>> open_sqlite(const std::string& path, const StoreOptions& options,
                                               int* version) {
  struct stat st;
  if (options.read_only && path.rfind("file:", 0) != 0 && ::stat(path.c_str(), &st) != 0) {
    return Error{Error::not_found, "no store at " + path};
  }
  auto db = Db::open(path, options.read_only, options.busy_timeout);
  if (!db) return db.error();
  if (options.read_only) {
    int v = read_schema_version(*db);
    if (v < 0) return Error{Error::io_error, path + " is not a convtrace database"};
    // Version 0 is a SQLite file convtrace never wrote: not ours to change.
    if (options.migrate_older && v >= 1 && v < kStoreSchemaVersion) {
      Error e;
      auto writable = Db::open(path, false, options.busy_timeout);
      if (!writable) {
        e = writable.error();
      } else {
        e = migrate(*writable, options.busy_timeout);
      }
      if (e) {
        return Error{e.code, path + " has schema version " + std::to_string(v) +
                                 " and cannot be migrated to version " +
                                 std::to_string(kStoreSchemaVersion) + ": " + e.message};
      }
      v = read_schema_version(*db);
    }
    if (v != kStoreSchemaVersion) {
      return Error{Error::io_error, path + " has schema version " + std::to_string(v) +
                                        ", this convtrace reads version " +
                                        std::to_string(kStoreSchemaVersion)};
    }
  } else {
    if (Error e = migrate(*db, options.busy_timeout)) return Error{e.code, path + ": " + e.message};
    // A batch dirties pages all over the summaries' indexes; with SQLite's
    // default cache (2 MiB) they spilled into the WAL several times per
    // transaction. Readers keep the default. 32 MiB would read a quarter as
    // much back from a large file, but takes a writing process to about
    // 58 MiB, too close to the 64 MiB every command must stay within.
    db->exec("PRAGMA cache_size=-16384", "cannot size the page cache");
    // SQLite checkpoints the WAL into the database once it holds 1000 pages
    // by default; a batch into a large store writes 600-1500 pages (the
    // summaries' indexes are keyed by user, cost and conversation, so each
    // span lands on pages of its own), which checkpointed, and synced the
    // file twice, after nearly every commit. Checkpointing at 64 MiB syncs
    // once per several commits and writes a page rewritten by each of them
    // (the current day's roll-ups, the tails of the time-ordered indexes)
    // once. The WAL stays within about 64 MiB plus one transaction, and is
    // cut back to 64 MiB when it restarts.
    const std::string limit = "PRAGMA journal_size_limit=" + std::to_string(kCheckpointBytes);
    db->exec(limit.c_str(), "cannot limit the WAL");
    sqlite3_wal_autocheckpoint(db->raw(), static_cast<int>(kCheckpointBytes / page_size(*db)));
  }
  *version = read_schema_version(*db);
  return std::unique_ptr<Backend>(new SqliteBackend(std::move(*db), options.busy_timeout));
}

}  // namespace convtrace::store
