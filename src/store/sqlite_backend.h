// The SQLite Backend: one file, WAL mode, one writer at a time. Private to the store.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <unordered_map>

#include "convtrace/store.h"
#include "store/backend.h"
#include "store/sqlite.h"

namespace convtrace::store {

class SqliteBackend : public Backend {
 public:
  // Runs on `db`, which must outlive it (a migration borrows the connection).
  SqliteBackend(Db& db, std::chrono::milliseconds busy_timeout);
  // Owns `db`.
  SqliteBackend(Db&& db, std::chrono::milliseconds busy_timeout);

  std::string_view name() const override { return "sqlite"; }
  Error begin(bool write) override;
  Error commit() override;
  void rollback() noexcept override;
  Error query(std::string_view sql, const Params& params, const RowFn& row) override;
  Expected<int64_t> exec(std::string_view sql, const Params& params) override;
  size_t max_params() const override;
  Expected<int64_t> insert_rows(std::string_view table, std::string_view columns, size_t count,
                                const Params& values) override;
  std::string_view lock_clause() const override { return ""; }
  Error prepare_days(const std::vector<int64_t>&) override { return Error{}; }
  Expected<int64_t> delete_spans_before(int64_t day) override;

  Db& db() { return *db_; }

 private:
  Expected<Stmt*> statement(std::string_view sql);
  void bind(Stmt& st, const Value* values, size_t n);

  Db owned_;
  Db* db_;
  std::chrono::milliseconds busy_timeout_;
  // Prepared statements by their SQL; cleared when it grows past a bound
  // (statements with IN lists come in a few sizes only).
  std::unordered_map<std::string, Stmt> cache_;
};

// Opens (creating unless read-only) the SQLite file at `path` and migrates it
// as StoreOptions say; sets *version to its schema version.
Expected<std::unique_ptr<Backend>> open_sqlite(const std::string& path, const StoreOptions& options,
                                               int* version);

}  // namespace convtrace::store
