// The store's SQLite schema and its migrations. Private to the store.
#pragma once

#include <chrono>

#include "convtrace/expected.h"
#include "convtrace/store.h"
#include "store/sqlite.h"

namespace convtrace::store {

// Value type codes of the typed attribute columns (`type`) and of the packed
// form (store/packed.h).
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

// Brings the file to `target_version` (in one write transaction), and turns
// on WAL mode. io_error when the file's version is newer than this build.
// Only tests ask for an older version than kStoreSchemaVersion (to build files
// as an earlier release wrote them).
Error migrate(Db& db, std::chrono::milliseconds busy_timeout,
              int target_version = kStoreSchemaVersion);

// PRAGMA user_version of the file; -1 when it cannot be read.
int read_schema_version(Db& db);

}  // namespace convtrace::store
