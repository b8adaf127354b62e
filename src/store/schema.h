// The store's SQLite schema and its migrations. Private to the store.
#pragma once

#include <chrono>

#include "convtrace/expected.h"
#include "store/sqlite.h"

namespace convtrace::store {

// Value type codes of the attribute tables (column `type`).
enum class ValueType : int {
  string = 1,
  boolean = 2,
  integer = 3,
  real = 4,
  string_array = 5,
  bool_array = 6,
  int_array = 7,
  real_array = 8,
};

// Brings the file to kStoreSchemaVersion (in one write transaction), and turns
// on WAL mode. io_error when the file's version is newer than this build.
Error migrate(Db& db, std::chrono::milliseconds busy_timeout);

// PRAGMA user_version of the file; -1 when it cannot be read.
int read_schema_version(Db& db);

}  // namespace convtrace::store
