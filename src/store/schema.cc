#include "store/schema.h"

#include <string>

#include "convtrace/store.h"

namespace convtrace::store {
namespace {

// Migration i brings a file from version i to version i + 1. Append only:
// a released migration is never edited, a change is a new migration.
const char* const kMigrations[] = {
    // 0 → 1: the first schema.
    R"sql(
CREATE TABLE resources (
  id INTEGER PRIMARY KEY,
  fingerprint TEXT NOT NULL UNIQUE,  -- canonical form of the attributes
  service_name TEXT
);
CREATE TABLE resource_attributes (
  resource_id INTEGER NOT NULL REFERENCES resources(id),
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  type INTEGER NOT NULL,
  value,
  PRIMARY KEY (resource_id, seq)
) WITHOUT ROWID;
CREATE TABLE scopes (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  UNIQUE (name, version)
);
CREATE TABLE spans (
  id INTEGER PRIMARY KEY,
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  parent_span_id TEXT,
  trace_state TEXT NOT NULL,
  flags INTEGER NOT NULL,
  parent_is_remote INTEGER NOT NULL,
  name TEXT NOT NULL,
  kind INTEGER NOT NULL,
  start_ns INTEGER NOT NULL,
  end_ns INTEGER NOT NULL,
  status_code INTEGER NOT NULL,
  status_message TEXT NOT NULL,
  dropped_attributes INTEGER NOT NULL,
  dropped_events INTEGER NOT NULL,
  dropped_links INTEGER NOT NULL,
  resource_id INTEGER REFERENCES resources(id),
  scope_id INTEGER REFERENCES scopes(id),
  -- Extracted from the attributes, for queries.
  conversation_id TEXT,
  turn INTEGER,
  user_id TEXT,
  workflow_id TEXT,
  workflow_type TEXT,
  genai_kind TEXT,
  model TEXT,
  provider TEXT,
  input_tokens INTEGER,
  output_tokens INTEGER,
  cache_read_tokens INTEGER,
  cache_write_tokens INTEGER,
  reasoning_tokens INTEGER,
  cost_pico INTEGER,
  workflow_cost_pico INTEGER,
  error TEXT,
  UNIQUE (trace_id, span_id)
);
CREATE INDEX spans_conversation ON spans(conversation_id, turn) WHERE conversation_id IS NOT NULL;
CREATE INDEX spans_user ON spans(user_id, start_ns) WHERE user_id IS NOT NULL;
CREATE INDEX spans_workflow_type ON spans(workflow_type, start_ns) WHERE workflow_type IS NOT NULL;
CREATE INDEX spans_workflow ON spans(workflow_id) WHERE workflow_id IS NOT NULL;
CREATE INDEX spans_model ON spans(model) WHERE model IS NOT NULL;
CREATE INDEX spans_start ON spans(start_ns);
CREATE TABLE attributes (
  span_row INTEGER NOT NULL REFERENCES spans(id),
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  type INTEGER NOT NULL,
  value,
  PRIMARY KEY (span_row, seq)
) WITHOUT ROWID;
CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  span_row INTEGER NOT NULL REFERENCES spans(id),
  seq INTEGER NOT NULL,
  name TEXT NOT NULL,
  time_ns INTEGER NOT NULL,
  dropped_attributes INTEGER NOT NULL,
  UNIQUE (span_row, seq)
);
CREATE TABLE event_attributes (
  event_id INTEGER NOT NULL REFERENCES events(id),
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  type INTEGER NOT NULL,
  value,
  PRIMARY KEY (event_id, seq)
) WITHOUT ROWID;
CREATE TABLE links (
  id INTEGER PRIMARY KEY,
  span_row INTEGER NOT NULL REFERENCES spans(id),
  seq INTEGER NOT NULL,
  trace_id TEXT NOT NULL,
  span_id TEXT NOT NULL,
  trace_state TEXT NOT NULL,
  flags INTEGER NOT NULL,
  dropped_attributes INTEGER NOT NULL,
  UNIQUE (span_row, seq)
);
CREATE TABLE link_attributes (
  link_id INTEGER NOT NULL REFERENCES links(id),
  seq INTEGER NOT NULL,
  key TEXT NOT NULL,
  type INTEGER NOT NULL,
  value,
  PRIMARY KEY (link_id, seq)
) WITHOUT ROWID;
)sql",
};

constexpr int kMigrationCount = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
static_assert(kMigrationCount == kStoreSchemaVersion, "one migration per schema version");

}  // namespace

int read_schema_version(Db& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt || stmt->step() != SQLITE_ROW) return -1;
  return static_cast<int>(stmt->int64(0));
}

Error migrate(Db& db, std::chrono::milliseconds busy_timeout) {
  // WAL lets readers (the CLI) run while a collector writes. A file on a
  // read-only medium keeps its mode; the version check below reports it.
  db.exec("PRAGMA journal_mode=WAL", "cannot enable WAL");
  db.exec("PRAGMA synchronous=NORMAL", "cannot set synchronous");

  int version = read_schema_version(db);
  if (version == kStoreSchemaVersion) return Error{};
  if (version > kStoreSchemaVersion) {
    return Error{Error::io_error, "database schema version " + std::to_string(version) +
                                      " is newer than this convtrace (" +
                                      std::to_string(kStoreSchemaVersion) + ")"};
  }
  if (Error e = db.begin_write(busy_timeout)) return e;
  // Another process may have migrated while we waited for the lock.
  version = read_schema_version(db);
  if (version < 0 || version >= kStoreSchemaVersion) {
    db.rollback();
    if (version == kStoreSchemaVersion) return Error{};
    return Error{Error::io_error, version < 0
                                      ? std::string("cannot read the database schema version")
                                      : "database schema version " + std::to_string(version) +
                                            " is newer than this convtrace"};
  }
  for (int v = version; v < kStoreSchemaVersion; ++v) {
    if (Error e = db.exec(kMigrations[v], "cannot migrate the database schema")) {
      db.rollback();
      return e;
    }
  }
  std::string set_version = "PRAGMA user_version=" + std::to_string(kStoreSchemaVersion);
  if (Error e = db.exec(set_version.c_str(), "cannot set the schema version")) {
    db.rollback();
    return e;
  }
  if (Error e = db.exec("COMMIT", "cannot commit the schema migration")) {
    db.rollback();
    return e;
  }
  return Error{};
}

}  // namespace convtrace::store
