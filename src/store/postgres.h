// The PostgreSQL Backend: the team store that several collectors write at
// once. Private to the store.
//
// Spans are partitioned by UTC day of their start (spans_YYYYMMDD, created on
// demand), so retention drops whole partitions. A span is identified by its
// trace id, span id and start time (a partitioned table's unique key must
// include the partition key; a retried span has the same start time). The
// schema is applied under an advisory lock, so processes that start together
// apply each migration exactly once; table convtrace_schema logs them.
// Text columns are COLLATE "C" (byte order, as SQLite compares); text that
// PostgreSQL cannot hold (a NUL byte, invalid UTF-8) is stored with U+FFFD in
// its place — the packed attributes keep the exact bytes.
//
// A lost connection (a server restart) fails the call with `unavailable`; the
// next call connects again.
#pragma once

#include <memory>
#include <string>

#include "convtrace/store.h"
#include "store/backend.h"

namespace convtrace::store {

// Connects to the database at `uri` (libpq URI or connection string; the
// password from it, PGPASSWORD or ~/.pgpass), creates or migrates the schema
// as StoreOptions say, and sets *version to its schema version.
Expected<std::unique_ptr<Backend>> open_postgresql(const std::string& uri,
                                                   const StoreOptions& options, int* version);

}  // namespace convtrace::store
