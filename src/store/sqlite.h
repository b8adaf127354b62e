// A thin RAII layer over the SQLite C API: a connection, prepared statements,
// and the mapping of SQLite result codes to convtrace errors. Private to the store.
#pragma once

#include <sqlite3.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include "convtrace/expected.h"

namespace convtrace::store {

// Maps a SQLite result code to an Error naming `what` and SQLite's message.
Error sqlite_error(sqlite3* db, int rc, std::string_view what);

// A prepared statement. Move-only; finalized when destroyed.
class Stmt {
 public:
  Stmt() = default;
  explicit Stmt(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~Stmt();
  Stmt(Stmt&& other) noexcept : stmt_(other.stmt_) { other.stmt_ = nullptr; }
  Stmt& operator=(Stmt&& other) noexcept;
  Stmt(const Stmt&) = delete;
  Stmt& operator=(const Stmt&) = delete;

  // Parameters are 1-based. Text and blobs are not copied: they must outlive
  // the next step().
  void bind(int i, int64_t v) { sqlite3_bind_int64(stmt_, i, v); }
  void bind(int i, double v) { sqlite3_bind_double(stmt_, i, v); }
  void bind(int i, std::string_view v) {
    sqlite3_bind_text(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void bind_blob(int i, std::string_view v) {
    sqlite3_bind_blob(stmt_, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
  }
  void bind_null(int i) { sqlite3_bind_null(stmt_, i); }
  void bind_opt(int i, const std::optional<int64_t>& v) {
    if (v) {
      bind(i, *v);
    } else {
      bind_null(i);
    }
  }
  void bind_opt(int i, const std::string* v) {
    if (v) {
      bind(i, std::string_view(*v));
    } else {
      bind_null(i);
    }
  }

  // SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  // Makes the statement ready to run again, with every parameter unbound.
  void reset() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }

  bool is_null(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }
  int type(int col) const { return sqlite3_column_type(stmt_, col); }
  int64_t int64(int col) const { return sqlite3_column_int64(stmt_, col); }
  double real(int col) const { return sqlite3_column_double(stmt_, col); }
  std::string text(int col) const;
  std::optional<int64_t> opt_int64(int col) const {
    return is_null(col) ? std::nullopt : std::optional<int64_t>(int64(col));
  }

  sqlite3_stmt* raw() const { return stmt_; }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

// One connection. Move-only; closed when destroyed.
class Db {
 public:
  Db() = default;
  ~Db();
  Db(Db&& other) noexcept : db_(other.db_) { other.db_ = nullptr; }
  Db& operator=(Db&& other) noexcept {
    std::swap(db_, other.db_);
    return *this;
  }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // Opens `path` read-write (creating it) or read-only, with the busy timeout set.
  static Expected<Db> open(const std::string& path, bool read_only,
                           std::chrono::milliseconds busy_timeout);

  // Runs SQL without results (schema, pragmas, transaction control).
  Error exec(const char* sql, std::string_view what);
  Expected<Stmt> prepare(std::string_view sql);
  // Starts a write transaction (BEGIN IMMEDIATE), retrying while another
  // connection holds the lock, until `busy_timeout` has passed.
  Error begin_write(std::chrono::milliseconds busy_timeout);
  void rollback() noexcept;

  sqlite3* raw() const { return db_; }

 private:
  explicit Db(sqlite3* db) : db_(db) {}
  sqlite3* db_ = nullptr;
};

}  // namespace convtrace::store
