#include "store/schema.h"

#include <string>
#include <vector>

#include "convtrace/store.h"
#include "store/packed.h"
#include "store/rollup.h"
#include "store/sqlite_backend.h"

namespace convtrace::store {
namespace {

// Version 1 kept a row per attribute (tables attributes, event_attributes,
// link_attributes) and per event and link: about 22 b-tree inserts for a GenAI
// span. Version 2 packs a span's attributes, events and links into BLOB
// columns of its `spans` row (format: store/packed.h), so a span is one row
// plus its index entries, and reading a span back is one row. Resources keep
// their typed rows in resource_attributes: there is one per process, not per
// span.
//
// Version 2's `spans` is version 1's with the BLOB columns `attributes`,
// `events` and `links` added, and with the indexes the queries use only:
// spans_conversation, spans_workflow, and UNIQUE (trace_id, span_id).
//
// The extracted columns (conversation_id … error) are what the queries read;
// the packed columns are read only to give a span back whole (load_trace) and
// for captured content in the conversation view. Keeping them in the row
// makes the report's scan read more pages (a GenAI span's payload is about
// two thirds of its bytes): 35% more time for a cached 300k-span file, which
// a table of their own would save at the cost of a second insert per span
// (15-20% of the insert time).

struct Migration {
  const char* sql;
  // Converts the data where SQL alone cannot (runs after `sql`); may be null.
  Error (*convert)(Db& db);
  // Runs after `convert`; may be null.
  const char* finish_sql;
};

Error convert_v1_to_v2(Db& db);
Error convert_v3_to_v4(Db& db);

// Migration i brings a file from version i to version i + 1. Append only:
// a released migration is never edited, a change is a new migration.
const Migration kMigrations[] = {
    // 0 → 1: the first schema.
    {R"sql(
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
     nullptr, nullptr},
    // 1 → 2: attributes, events and links packed into the span's row.
    // The table is altered in place, not rebuilt and renamed: renaming
    // checks every view, and a view of the user's over a dropped table
    // would stop the migration.
    {R"sql(
-- Packed (store/packed.h), in their original order; NULL when there are none.
ALTER TABLE spans ADD COLUMN attributes BLOB;
ALTER TABLE spans ADD COLUMN events BLOB;
ALTER TABLE spans ADD COLUMN links BLOB;
)sql",
     convert_v1_to_v2,
     R"sql(
DROP TABLE link_attributes;
DROP TABLE links;
DROP TABLE event_attributes;
DROP TABLE events;
DROP TABLE attributes;
-- No query uses these: the report's filters are optional ("?1 IS NULL OR
-- …"), so it scans; conversations and workflows use the two indexes kept.
DROP INDEX spans_user;
DROP INDEX spans_workflow_type;
DROP INDEX spans_model;
DROP INDEX spans_start;
)sql"},
    // 2 → 3: the catalog's price of a span that carried a different cost of
    // its own (spans from other SDKs); NULL when they agree or either is missing.
    {R"sql(
ALTER TABLE spans ADD COLUMN catalog_cost_pico INTEGER;
)sql",
     nullptr, nullptr},
    // 3 → 4: roll-ups kept in the insert transaction (store/rollup.h), so
    // reports and listings cost the same at any store size; a start-time
    // index for the partial days of a time range and for retention; resource
    // attributes packed into their row as span attributes are.
    {R"sql(
-- Which distinct counts of the roll-ups this span is the first of (rollup.h).
ALTER TABLE spans ADD COLUMN firsts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX spans_start ON spans(start_ns);
ALTER TABLE resources ADD COLUMN attributes BLOB;
-- Sums per UTC day of span start, user, workflow type and model ('' = none).
CREATE TABLE rollup_daily (
  day INTEGER NOT NULL,
  user_id TEXT NOT NULL,
  workflow_type TEXT NOT NULL,
  model TEXT NOT NULL,
  spans INTEGER NOT NULL DEFAULT 0,
  llm_calls INTEGER NOT NULL DEFAULT 0,
  unpriced_calls INTEGER NOT NULL DEFAULT 0,
  cost_pico INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  cost_disagreements INTEGER NOT NULL DEFAULT 0,
  conv_user INTEGER NOT NULL DEFAULT 0,
  conv_model INTEGER NOT NULL DEFAULT 0,
  conv_type INTEGER NOT NULL DEFAULT 0,
  conv_day INTEGER NOT NULL DEFAULT 0,
  run_user INTEGER NOT NULL DEFAULT 0,
  run_model INTEGER NOT NULL DEFAULT 0,
  run_type INTEGER NOT NULL DEFAULT 0,
  run_day INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (day, user_id, workflow_type, model)
) WITHOUT ROWID;
-- The same sums one dimension at a time (rollup.h): user_day, user_month
-- (period: year * 12 + month - 1), model_day, type_day.
CREATE TABLE rollup_by (
  dimension TEXT NOT NULL,
  period INTEGER NOT NULL,
  value TEXT NOT NULL,
  spans INTEGER NOT NULL DEFAULT 0,
  llm_calls INTEGER NOT NULL DEFAULT 0,
  unpriced_calls INTEGER NOT NULL DEFAULT 0,
  cost_pico INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  cost_disagreements INTEGER NOT NULL DEFAULT 0,
  conv_user INTEGER NOT NULL DEFAULT 0,
  conv_model INTEGER NOT NULL DEFAULT 0,
  conv_type INTEGER NOT NULL DEFAULT 0,
  conv_day INTEGER NOT NULL DEFAULT 0,
  run_user INTEGER NOT NULL DEFAULT 0,
  run_model INTEGER NOT NULL DEFAULT 0,
  run_type INTEGER NOT NULL DEFAULT 0,
  run_day INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (dimension, period, value)
) WITHOUT ROWID;
CREATE INDEX rollup_daily_user ON rollup_daily(user_id, day);
CREATE INDEX rollup_daily_type ON rollup_daily(workflow_type, day);
CREATE TABLE conversations (
  id INTEGER PRIMARY KEY,
  conversation_id TEXT NOT NULL UNIQUE,
  user_id TEXT NOT NULL DEFAULT '',
  first_start_ns INTEGER NOT NULL DEFAULT 0,
  last_start_ns INTEGER NOT NULL DEFAULT 0,
  last_end_ns INTEGER NOT NULL DEFAULT 0,
  turns INTEGER NOT NULL DEFAULT 0,
  workflow_runs INTEGER NOT NULL DEFAULT 0,
  seen BLOB,
  spans INTEGER NOT NULL DEFAULT 0,
  llm_calls INTEGER NOT NULL DEFAULT 0,
  unpriced_calls INTEGER NOT NULL DEFAULT 0,
  cost_pico INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  cost_disagreements INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_last ON conversations(last_end_ns DESC, conversation_id);
CREATE INDEX conversations_cost ON conversations(cost_pico DESC, conversation_id);
-- By user alone: it changes only when a conversation's first user appears,
-- not with each batch (a user's conversations are few, and sorted when read).
CREATE INDEX conversations_user ON conversations(user_id);
CREATE TABLE workflow_runs (
  id INTEGER PRIMARY KEY,
  workflow_id TEXT NOT NULL UNIQUE,
  workflow_type TEXT NOT NULL DEFAULT '',
  conversation_id TEXT NOT NULL DEFAULT '',
  user_id TEXT NOT NULL DEFAULT '',
  trace_id TEXT NOT NULL DEFAULT '',
  first_start_ns INTEGER NOT NULL DEFAULT 0,
  last_start_ns INTEGER NOT NULL DEFAULT 0,
  last_end_ns INTEGER NOT NULL DEFAULT 0,
  cost_pico INTEGER NOT NULL DEFAULT 0,
  workflow_cost_pico INTEGER,
  seen BLOB,
  spans INTEGER NOT NULL DEFAULT 0,
  llm_calls INTEGER NOT NULL DEFAULT 0,
  unpriced_calls INTEGER NOT NULL DEFAULT 0,
  calls_cost_pico INTEGER NOT NULL DEFAULT 0,
  input_tokens INTEGER NOT NULL DEFAULT 0,
  output_tokens INTEGER NOT NULL DEFAULT 0,
  cache_read_tokens INTEGER NOT NULL DEFAULT 0,
  cache_write_tokens INTEGER NOT NULL DEFAULT 0,
  reasoning_tokens INTEGER NOT NULL DEFAULT 0,
  errors INTEGER NOT NULL DEFAULT 0,
  cost_disagreements INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX workflow_runs_cost ON workflow_runs(cost_pico DESC, first_start_ns, workflow_id);
-- No index by type: types are few, so the runs of one come from the cost
-- index at once, and each index changes with every batch of the run.
CREATE INDEX workflow_runs_start ON workflow_runs(first_start_ns DESC, workflow_id);
)sql",
     convert_v3_to_v4, "DROP TABLE resource_attributes;"},
    // 4 → 5: packed values written from now on give well-known keys as codes
    // (packed.h, format 2). Nothing to convert, since format 1 is still read;
    // the version says that a release that knows only format 1 cannot read
    // this file.
    {R"sql(
-- Packed attributes, events and links in format 2 from here on.
)sql",
     nullptr, nullptr},
};

constexpr int kMigrationCount = static_cast<int>(sizeof(kMigrations) / sizeof(kMigrations[0]));
static_assert(kMigrationCount == kStoreSchemaVersion, "one migration per schema version");

// Runs `select` (rows ordered by span row, first column the span row) and
// hands each row to `add`; whenever the span row changes, `flush` packs what
// was gathered for the previous one and binds it as ?1 of `update`, the span
// row as ?2.
template <typename Add, typename Flush>
Error pack_by_span(Db& db, const char* select, const char* update_sql, Add add, Flush flush) {
  auto rows = db.prepare(select);
  if (!rows) return rows.error();
  auto update = db.prepare(update_sql);
  if (!update) return update.error();
  std::string packed;
  int64_t current = 0;
  bool any = false;
  auto write = [&]() -> Error {
    flush(packed);
    update->bind_blob(1, packed);
    update->bind(2, current);
    int rc = update->step();
    update->reset();
    if (rc != SQLITE_DONE) return sqlite_error(db.raw(), rc, "cannot convert a span");
    return Error{};
  };
  int rc;
  while ((rc = rows->step()) == SQLITE_ROW) {
    int64_t span_row = rows->int64(0);
    if (any && span_row != current) {
      if (Error e = write()) return e;
    }
    current = span_row;
    any = true;
    add(*rows);
  }
  if (rc != SQLITE_DONE) return sqlite_error(db.raw(), rc, "cannot read version 1 spans");
  if (any) return write();
  return Error{};
}

// Fills the packed columns of spans from the version 1 tables.
Error convert_v1_to_v2(Db& db) {
  std::vector<Attribute> attrs;
  if (Error e = pack_by_span(
          db, "SELECT span_row, key, type, value FROM attributes ORDER BY span_row, seq",
          "UPDATE spans SET attributes = ?1 WHERE id = ?2",
          [&](const Stmt& row) {
            attrs.push_back(Attribute{row.text(1), read_typed_value(row, 2, 3)});
          },
          [&](std::string& out) {
            pack_attributes(attrs, out);
            attrs.clear();
          })) {
    return e;
  }

  // The LEFT JOINs give one row per attribute, or one row with NULLs for an
  // event (link) without attributes.
  std::vector<SpanEvent> events;
  int64_t event_id = -1;
  if (Error e = pack_by_span(
          db,
          "SELECT e.span_row, e.id, e.name, e.time_ns, e.dropped_attributes, a.key, a.type, "
          "a.value FROM events e LEFT JOIN event_attributes a ON a.event_id = e.id "
          "ORDER BY e.span_row, e.seq, a.seq",
          "UPDATE spans SET events = ?1 WHERE id = ?2",
          [&](const Stmt& row) {
            if (events.empty() || row.int64(1) != event_id) {
              event_id = row.int64(1);
              SpanEvent ev;
              ev.name = row.text(2);
              ev.time_unix_nano = static_cast<uint64_t>(row.int64(3));
              ev.dropped_attributes_count = static_cast<uint32_t>(row.int64(4));
              events.push_back(std::move(ev));
            }
            if (!row.is_null(5)) {
              events.back().attributes.push_back(
                  Attribute{row.text(5), read_typed_value(row, 6, 7)});
            }
          },
          [&](std::string& out) {
            pack_events(events, out);
            events.clear();
          })) {
    return e;
  }

  std::vector<SpanLink> links;
  int64_t link_id = -1;
  return pack_by_span(
      db,
      "SELECT l.span_row, l.id, l.trace_id, l.span_id, l.trace_state, l.flags, "
      "l.dropped_attributes, a.key, a.type, a.value FROM links l "
      "LEFT JOIN link_attributes a ON a.link_id = l.id ORDER BY l.span_row, l.seq, a.seq",
      "UPDATE spans SET links = ?1 WHERE id = ?2",
      [&](const Stmt& row) {
        if (links.empty() || row.int64(1) != link_id) {
          link_id = row.int64(1);
          SpanLink link;
          TraceId::from_hex(row.text(2), &link.trace_id);
          SpanId::from_hex(row.text(3), &link.span_id);
          link.trace_state = row.text(4);
          link.flags = static_cast<uint32_t>(row.int64(5));
          link.dropped_attributes_count = static_cast<uint32_t>(row.int64(6));
          links.push_back(std::move(link));
        }
        if (!row.is_null(7)) {
          links.back().attributes.push_back(Attribute{row.text(7), read_typed_value(row, 8, 9)});
        }
      },
      [&](std::string& out) {
        pack_links(links, out);
        links.clear();
      });
}

// Packs each resource's attribute rows into its row, and builds the roll-ups
// from the spans already stored.
Error convert_v3_to_v4(Db& db) {
  std::vector<Attribute> attrs;
  if (Error e = pack_by_span(
          db,
          "SELECT resource_id, key, type, value FROM resource_attributes ORDER BY resource_id, seq",
          "UPDATE resources SET attributes = ?1 WHERE id = ?2",
          [&](const Stmt& row) {
            attrs.push_back(Attribute{row.text(1), read_typed_value(row, 2, 3)});
          },
          [&](std::string& out) {
            pack_attributes(attrs, out);
            attrs.clear();
          })) {
    return e;
  }
  SqliteBackend backend(db, std::chrono::milliseconds(0));
  return backfill_rollups(backend);
}

}  // namespace

int read_schema_version(Db& db) {
  auto stmt = db.prepare("PRAGMA user_version");
  if (!stmt || stmt->step() != SQLITE_ROW) return -1;
  return static_cast<int>(stmt->int64(0));
}

Error migrate(Db& db, std::chrono::milliseconds busy_timeout, int target_version) {
  // WAL lets readers (the CLI) run while a collector writes. A file on a
  // read-only medium keeps its mode; the version check below reports it.
  // 16 KiB pages for a new file (an existing one keeps its size). The WAL
  // takes a page per frame and two write calls per frame: with the default
  // 4 KiB, those system calls were a third of the time to insert a batch.
  // Must come before WAL mode is set, which writes the file header.
  db.exec("PRAGMA page_size=16384", "cannot set the page size");
  db.exec("PRAGMA journal_mode=WAL", "cannot enable WAL");
  db.exec("PRAGMA synchronous=NORMAL", "cannot set synchronous");

  if (target_version < 1 || target_version > kStoreSchemaVersion) {
    return Error{Error::invalid_argument,
                 "no schema version " + std::to_string(target_version) + " to migrate to"};
  }
  int version = read_schema_version(db);
  if (version == target_version) return Error{};
  if (version > kStoreSchemaVersion) {
    return Error{Error::io_error, "database schema version " + std::to_string(version) +
                                      " is newer than this convtrace (" +
                                      std::to_string(kStoreSchemaVersion) + ")"};
  }
  if (Error e = db.begin_write(busy_timeout)) return e;
  // Another process may have migrated while we waited for the lock.
  version = read_schema_version(db);
  if (version < 0 || version >= target_version) {
    db.rollback();
    if (version == target_version) return Error{};
    return Error{Error::io_error, version < 0
                                      ? std::string("cannot read the database schema version")
                                      : "database schema version " + std::to_string(version) +
                                            " is newer than this convtrace"};
  }
  for (int v = version; v < target_version; ++v) {
    const Migration& m = kMigrations[v];
    Error e = db.exec(m.sql, "cannot migrate the database schema");
    if (!e && m.convert) e = m.convert(db);
    if (!e && m.finish_sql) e = db.exec(m.finish_sql, "cannot migrate the database schema");
    if (e) {
      db.rollback();
      return e;
    }
  }
  std::string set_version = "PRAGMA user_version=" + std::to_string(target_version);
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
