// The database a Store runs on, behind one small interface. Private to the store.
//
// SQLite (the embedded default, one file) and PostgreSQL (the team store that
// several collectors write at once) both implement Backend; the writer, the
// roll-ups, retention and every query are written once above it, in the SQL
// both databases speak — as LevelDB's Env keeps the platform out of the
// engine. What genuinely differs lives here and nowhere else:
//
//   - placeholders: statements are written with ?1, ?2, … or a bare ?, which
//     takes the number after the highest before it (PostgreSQL's backend
//     rewrites them to $1, $2, …);
//   - row locks (lock_clause): PostgreSQL writers lock the summary rows they
//     will rewrite; SQLite has one writer at a time anyway;
//   - bulk loading (insert_rows): statements of 16 rows on SQLite (each run
//     of a statement has a set-up cost of its own), of up to 128 rows on
//     PostgreSQL (a round trip per row would cost more than the row);
//   - where spans live (prepare_days, delete_spans_before): PostgreSQL keeps
//     one partition per day and drops whole partitions; SQLite deletes rows;
//   - the schema's DDL and its migrations (each backend's own file), under
//     one version number, kStoreSchemaVersion.
//
// The SQL both speak, as used here: INSERT … ON CONFLICT … DO NOTHING / DO
// UPDATE SET x = t.x + excluded.x, RETURNING, row values, LIMIT/OFFSET, CASE,
// COALESCE, integer arithmetic and &. Text is compared byte by byte on both
// (PostgreSQL columns are COLLATE "C"), so ORDER BY gives the same order.
// Money and counts are BIGINT; a SUM is read back as an integer on both.
//
// Not thread-safe: the Store serializes every call on its mutex.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"

namespace convtrace::store {

// A statement parameter. Text and blobs are views: they must outlive the call
// they are passed to.
struct Value {
  enum class Type { null, integer, text, blob };
  Type type = Type::null;
  int64_t integer = 0;
  std::string_view bytes;

  static Value null() { return Value{}; }
  static Value of(int64_t v) { return Value{Type::integer, v, {}}; }
  static Value text(std::string_view v) { return Value{Type::text, 0, v}; }
  static Value blob(std::string_view v) { return Value{Type::blob, 0, v}; }
  static Value of(const std::optional<int64_t>& v) { return v ? of(*v) : null(); }
};

using Params = std::vector<Value>;

// One row of a result, valid only during the callback that receives it.
class Row {
 public:
  virtual ~Row() = default;
  virtual bool is_null(int col) const = 0;
  // 0 for NULL.
  virtual int64_t int64(int col) const = 0;
  // Empty for NULL.
  virtual std::string text(int col) const = 0;
  virtual std::string blob(int col) const = 0;

  std::optional<int64_t> opt_int64(int col) const {
    return is_null(col) ? std::nullopt : std::optional<int64_t>(int64(col));
  }
};

// Receives each row; returns false to stop early. It must not run statements
// on the backend (a streamed PostgreSQL result holds the connection).
using RowFn = std::function<bool(const Row&)>;

class Backend {
 public:
  virtual ~Backend() = default;

  // "sqlite" or "postgresql".
  virtual std::string_view name() const = 0;

  // A transaction. Reads in one see one snapshot. A write transaction on
  // SQLite holds the file's write lock (waiting up to the busy timeout); on
  // PostgreSQL, concurrent writers are kept consistent by row locks and
  // additive upserts. Errors: unavailable (locked, connection lost — retry),
  // io_error, internal.
  virtual Error begin(bool write) = 0;
  virtual Error commit() = 0;
  virtual void rollback() noexcept = 0;

  // Runs `sql` (placeholders ?1, ?2, … or ?) and hands each row to `row`.
  virtual Error query(std::string_view sql, const Params& params, const RowFn& row) = 0;
  // Runs `sql`; returns the number of rows it changed.
  virtual Expected<int64_t> exec(std::string_view sql, const Params& params) = 0;
  // Most parameters one statement may take.
  virtual size_t max_params() const = 0;
  // Inserts rows into `table`: `values` holds them one after the other, one
  // value for each of the `count` comma-separated `columns`. Rows that conflict
  // with stored ones (a unique key) are left out. Returns how many went in.
  virtual Expected<int64_t> insert_rows(std::string_view table, std::string_view columns,
                                        size_t count, const Params& values) = 0;

  // " FOR UPDATE" where readers must lock the rows they will rewrite, else "".
  virtual std::string_view lock_clause() const = 0;
  // Makes room for spans starting on these days (Unix days), before the
  // write transaction that inserts them begins.
  virtual Error prepare_days(const std::vector<int64_t>& days) = 0;
  // Inside a write transaction: removes every span starting before Unix day
  // `day`; returns how many went.
  virtual Expected<int64_t> delete_spans_before(int64_t day) = 0;
};

// Nanoseconds in a day; spans, roll-ups and retention count days in UTC.
inline constexpr int64_t kNanosPerDay = 86'400'000'000'000LL;

// The Unix day (UTC) of a time in Unix nanoseconds.
inline int64_t day_of(uint64_t unix_nano) {
  return static_cast<int64_t>(unix_nano / static_cast<uint64_t>(kNanosPerDay));
}

}  // namespace convtrace::store
