// Files written with schema version 1 (a row per attribute, event and link),
// 2 and 3 (a column for the catalog's cost of spans from other SDKs) migrate
// to the current version with every span, attribute, event and link intact,
// and with the roll-ups of version 4 built from the spans.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <limits>

#include "convtrace/attributes.h"
#include "convtrace/store.h"
#include "store/packed.h"
#include "store/schema.h"
#include "store/sqlite.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using testing::TempDir;

// Writes `s` as version 1 did: the spans row with its extracted columns, then
// one row per attribute, event, event attribute, link and link attribute.
void write_v1(store::Db& db, const SpanData& s, int64_t resource_id) {
  std::string scratch;
  auto run = [&](store::Stmt& st) {
    int rc = st.step();
    ASSERT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(db.raw());
    st.reset();
  };
  auto attrs_into = [&](const char* table, const char* owner_col, int64_t owner,
                        const std::vector<Attribute>& attrs) {
    std::string sql = std::string("INSERT INTO ") + table + "(" + owner_col +
                      ", seq, key, type, value) VALUES(?1, ?2, ?3, ?4, ?5)";
    auto st = db.prepare(sql);
    ASSERT_TRUE(st) << st.error().message;
    for (size_t i = 0; i < attrs.size(); ++i) {
      st->bind(1, owner);
      st->bind(2, static_cast<int64_t>(i));
      st->bind(3, std::string_view(attrs[i].key));
      store::bind_typed_value(*st, 4, 5, attrs[i].value, scratch);
      run(*st);
    }
  };

  auto span = db.prepare(
      "INSERT INTO spans(trace_id, span_id, parent_span_id, trace_state, flags, "
      "parent_is_remote, name, kind, start_ns, end_ns, status_code, status_message, "
      "dropped_attributes, dropped_events, dropped_links, resource_id, conversation_id, turn, "
      "user_id, input_tokens, cost_pico) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, "
      "?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21)");
  ASSERT_TRUE(span) << span.error().message;
  std::string trace = s.trace_id.hex(), id = s.span_id.hex(), parent = s.parent_span_id.hex();
  span->bind(1, std::string_view(trace));
  span->bind(2, std::string_view(id));
  if (s.parent_span_id.valid()) span->bind(3, std::string_view(parent));
  span->bind(4, std::string_view(s.trace_state));
  span->bind(5, int64_t{s.flags});
  span->bind(6, int64_t{s.parent_is_remote});
  span->bind(7, std::string_view(s.name));
  span->bind(8, static_cast<int64_t>(s.kind));
  span->bind(9, static_cast<int64_t>(s.start_unix_nano));
  span->bind(10, static_cast<int64_t>(s.end_unix_nano));
  span->bind(11, static_cast<int64_t>(s.status.code));
  span->bind(12, std::string_view(s.status.description));
  span->bind(13, int64_t{s.dropped_attributes_count});
  span->bind(14, int64_t{s.dropped_events_count});
  span->bind(15, int64_t{s.dropped_links_count});
  span->bind(16, resource_id);
  span->bind_opt(17, find_string(s.attributes, attr::kConversationId));
  if (const int64_t* turn = find_int(s.attributes, attr::kConversationTurn)) span->bind(18, *turn);
  span->bind_opt(19, find_string(s.attributes, attr::kUserId));
  if (const int64_t* in = find_int(s.attributes, attr::kInputTokens)) span->bind(20, *in);
  if (const int64_t* c = find_int(s.attributes, attr::kCostPicoUsd)) span->bind(21, *c);
  run(*span);
  int64_t row = sqlite3_last_insert_rowid(db.raw());

  attrs_into("attributes", "span_row", row, s.attributes);
  for (size_t i = 0; i < s.events.size(); ++i) {
    const SpanEvent& ev = s.events[i];
    auto st = db.prepare(
        "INSERT INTO events(span_row, seq, name, time_ns, dropped_attributes) "
        "VALUES(?1, ?2, ?3, ?4, ?5)");
    ASSERT_TRUE(st);
    st->bind(1, row);
    st->bind(2, static_cast<int64_t>(i));
    st->bind(3, std::string_view(ev.name));
    st->bind(4, static_cast<int64_t>(ev.time_unix_nano));
    st->bind(5, int64_t{ev.dropped_attributes_count});
    run(*st);
    attrs_into("event_attributes", "event_id", sqlite3_last_insert_rowid(db.raw()), ev.attributes);
  }
  for (size_t i = 0; i < s.links.size(); ++i) {
    const SpanLink& link = s.links[i];
    auto st = db.prepare(
        "INSERT INTO links(span_row, seq, trace_id, span_id, trace_state, flags, "
        "dropped_attributes) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)");
    ASSERT_TRUE(st);
    std::string lt = link.trace_id.hex(), ls = link.span_id.hex();
    st->bind(1, row);
    st->bind(2, static_cast<int64_t>(i));
    st->bind(3, std::string_view(lt));
    st->bind(4, std::string_view(ls));
    st->bind(5, std::string_view(link.trace_state));
    st->bind(6, int64_t{link.flags});
    st->bind(7, int64_t{link.dropped_attributes_count});
    run(*st);
    attrs_into("link_attributes", "link_id", sqlite3_last_insert_rowid(db.raw()), link.attributes);
  }
}

TraceId trace_of(uint8_t n) {
  TraceId t;
  t.bytes[0] = 0x11;
  t.bytes[15] = n;
  return t;
}

SpanId span_of(uint8_t n) {
  SpanId s;
  s.bytes[0] = 0x22;
  s.bytes[7] = n;
  return s;
}

// Spans as version 1 held them: every value type (in the forms version 1
// could read back: arrays of doubles lose infinities, NaN is stored as NULL),
// events with and without attributes, links, a span with nothing but its name.
std::vector<SpanData> v1_spans() {
  std::vector<SpanData> out;
  SpanData a;
  a.trace_id = trace_of(1);
  a.span_id = span_of(1);
  a.trace_state = "k=v";
  a.flags = 1;
  a.name = "chat gpt-4o";
  a.kind = SpanKind::client;
  a.start_unix_nano = 1700000000000000000ULL;
  a.end_unix_nano = 1700000000500000000ULL;
  a.status = {StatusCode::error, "boom"};
  a.dropped_attributes_count = 4;
  a.attributes = {
      {std::string(attr::kConversationId), std::string("conv_1")},
      {std::string(attr::kConversationTurn), int64_t{2}},
      {std::string(attr::kUserId), std::string("acme")},
      {std::string(attr::kInputTokens), int64_t{100}},
      {std::string(attr::kCostPicoUsd), int64_t{4440000000}},
      {std::string(attr::kInputMessages), std::string("héllo \"there\"\n")},
      {std::string(attr::kOutputMessages), std::string("")},
      {"b", true},
      {"b.false", false},
      {"i", std::numeric_limits<int64_t>::min()},
      {"r", 0.1},
      {"r.inf", std::numeric_limits<double>::infinity()},
      {"s.long", std::string(100000, 'z')},
      {"s.empty", std::string()},
      {"ss", std::vector<std::string>{"a", "b\"q", "c\n", "ü", ""}},
      {"bs", std::vector<bool>{true, false}},
      {"is", std::vector<int64_t>{1, -2, 9007199254740993}},
      {"rs", std::vector<double>{0.1, -2.5e-300, 3}},
      {"ss.empty", std::vector<std::string>{}},
      {"bs.empty", std::vector<bool>{}},
      {"is.empty", std::vector<int64_t>{}},
      {"rs.empty", std::vector<double>{}},
      {"dup", int64_t{1}},
      {"dup", int64_t{2}},
  };
  SpanEvent ev;
  ev.name = "exception";
  ev.time_unix_nano = 1700000000100000000ULL;
  ev.dropped_attributes_count = 2;
  ev.attributes = {{std::string(attr::kExceptionType), std::string("std::runtime_error")},
                   {"exception.count", int64_t{3}}};
  SpanEvent bare;
  bare.name = "marker";
  bare.time_unix_nano = 1700000000200000000ULL;
  a.events = {ev, bare, ev};
  SpanLink link;
  link.trace_id = trace_of(9);
  link.span_id = span_of(9);
  link.trace_state = "x=y";
  link.flags = 1;
  link.dropped_attributes_count = 1;
  link.attributes = {{"link.kind", std::string("follows")}};
  SpanLink bare_link;
  bare_link.trace_id = trace_of(8);
  bare_link.span_id = span_of(8);
  a.links = {link, bare_link};
  out.push_back(a);

  SpanData b;  // a child with nothing but a name
  b.trace_id = trace_of(1);
  b.span_id = span_of(2);
  b.parent_span_id = span_of(1);
  b.name = "step";
  b.start_unix_nano = a.start_unix_nano + 1;
  b.end_unix_nano = a.start_unix_nano + 2;
  out.push_back(b);

  SpanData c = a;  // another trace, attributes only on its event
  c.trace_id = trace_of(2);
  c.attributes.clear();
  c.links.clear();
  out.push_back(c);
  return out;
}

void expect_same(const std::vector<Attribute>& got, const std::vector<Attribute>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].key, want[i].key);
    EXPECT_TRUE(got[i].value == want[i].value) << want[i].key;
  }
}

void expect_same(const SpanData& got, const SpanData& want) {
  EXPECT_EQ(got.trace_id, want.trace_id);
  EXPECT_EQ(got.span_id, want.span_id);
  EXPECT_EQ(got.parent_span_id, want.parent_span_id);
  EXPECT_EQ(got.trace_state, want.trace_state);
  EXPECT_EQ(got.flags, want.flags);
  EXPECT_EQ(got.name, want.name);
  EXPECT_EQ(got.kind, want.kind);
  EXPECT_EQ(got.start_unix_nano, want.start_unix_nano);
  EXPECT_EQ(got.end_unix_nano, want.end_unix_nano);
  EXPECT_EQ(got.status.code, want.status.code);
  EXPECT_EQ(got.status.description, want.status.description);
  EXPECT_EQ(got.dropped_attributes_count, want.dropped_attributes_count);
  expect_same(got.attributes, want.attributes);
  ASSERT_EQ(got.events.size(), want.events.size());
  for (size_t i = 0; i < got.events.size(); ++i) {
    EXPECT_EQ(got.events[i].name, want.events[i].name);
    EXPECT_EQ(got.events[i].time_unix_nano, want.events[i].time_unix_nano);
    EXPECT_EQ(got.events[i].dropped_attributes_count, want.events[i].dropped_attributes_count);
    expect_same(got.events[i].attributes, want.events[i].attributes);
  }
  ASSERT_EQ(got.links.size(), want.links.size());
  for (size_t i = 0; i < got.links.size(); ++i) {
    EXPECT_EQ(got.links[i].trace_id, want.links[i].trace_id);
    EXPECT_EQ(got.links[i].span_id, want.links[i].span_id);
    EXPECT_EQ(got.links[i].trace_state, want.links[i].trace_state);
    EXPECT_EQ(got.links[i].flags, want.links[i].flags);
    EXPECT_EQ(got.links[i].dropped_attributes_count, want.links[i].dropped_attributes_count);
    expect_same(got.links[i].attributes, want.links[i].attributes);
  }
}

// A version 1 file holding v1_spans(), built by running only the first migration.
void make_v1_file(const std::string& path) {
  auto db = store::Db::open(path, false, std::chrono::milliseconds(1000));
  ASSERT_TRUE(db) << db.error().message;
  Error e = store::migrate(*db, std::chrono::milliseconds(1000), 1);
  ASSERT_FALSE(e) << e.message;
  ASSERT_EQ(store::read_schema_version(*db), 1);
  ASSERT_FALSE(
      db->exec("INSERT INTO resources(id, fingerprint, service_name) "
               "VALUES(1, 'fp', 'svc')",
               "resource"));
  ASSERT_FALSE(
      db->exec("INSERT INTO resource_attributes(resource_id, seq, key, type, value) "
               "VALUES(1, 0, 'service.name', 1, 'svc')",
               "resource attribute"));
  for (const SpanData& s : v1_spans()) write_v1(*db, s, 1);
}

bool has_table(const std::string& path, const char* name) {
  sqlite3* db = nullptr;
  if (sqlite3_open(path.c_str(), &db) != SQLITE_OK) return false;
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE name = ?1", -1, &st, nullptr);
  sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
  bool found = sqlite3_step(st) == SQLITE_ROW;
  sqlite3_finalize(st);
  sqlite3_close(db);
  return found;
}

TEST(Migration, VersionOneFileKeepsEveryAttributeEventAndLink) {
  TempDir dir;
  std::string path = dir.file("v1.db");
  make_v1_file(path);
  ASSERT_TRUE(has_table(path, "attributes"));

  auto store = Store::open(path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), kStoreSchemaVersion);
  EXPECT_EQ(*(*store)->span_count(), 3);
  for (const char* gone :
       {"attributes", "events", "event_attributes", "links", "link_attributes", "spans_user",
        "spans_workflow_type", "spans_model", "resource_attributes"}) {
    EXPECT_FALSE(has_table(path, gone)) << gone;
  }
  // Version 4: roll-ups built from the migrated spans, a start-time index.
  for (const char* added : {"rollup_daily", "conversations", "workflow_runs", "spans_start"}) {
    EXPECT_TRUE(has_table(path, added)) << added;
  }

  std::vector<SpanData> want = v1_spans();
  auto first = (*store)->load_trace(trace_of(1).hex());
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_EQ(first->size(), 2u);
  expect_same((*first)[0], want[0]);
  expect_same((*first)[1], want[1]);
  ASSERT_TRUE((*first)[0].resource);
  EXPECT_EQ(*find_string((*first)[0].resource->attributes, attr::kServiceName), "svc");
  auto second = (*store)->load_trace(trace_of(2).hex());
  ASSERT_TRUE(second) << second.error().message;
  ASSERT_EQ(second->size(), 1u);
  expect_same((*second)[0], want[2]);

  // The queries read the extracted columns and the captured content.
  auto conv = (*store)->conversation("conv_1");
  ASSERT_TRUE(conv) << conv.error().message;
  ASSERT_EQ(conv->turns.size(), 1u);
  EXPECT_EQ(conv->turns[0].turn, 2);
  ASSERT_EQ(conv->turns[0].spans.size(), 2u);
  EXPECT_EQ(conv->turns[0].spans[0].input_messages, std::string("héllo \"there\"\n"));
  EXPECT_FALSE(conv->turns[0].spans[0].output_messages);  // empty: as if not captured
  EXPECT_EQ(conv->cost_pico_usd, 4440000000);

  // The roll-ups the migration built from the migrated spans.
  auto by_user = (*store)->report({ReportGroup::user});
  ASSERT_TRUE(by_user) << by_user.error().message;
  ASSERT_FALSE(by_user->empty());
  EXPECT_EQ((*by_user)[0].group, std::optional<std::string>("acme"));
  EXPECT_EQ((*by_user)[0].cost_pico_usd, 4440000000);
  EXPECT_EQ((*by_user)[0].conversations, 1);
  auto listed = (*store)->conversations(ConversationQuery{});
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].conversation_id, "conv_1");
  EXPECT_EQ((*listed)[0].user_id, "acme");
  EXPECT_EQ((*listed)[0].cost_pico_usd, 4440000000);
  EXPECT_EQ((*listed)[0].turns, 1);

  // New spans go in next to the migrated ones.
  SpanData more = want[1];
  more.span_id = span_of(3);
  ASSERT_FALSE((*store)->insert(std::vector<SpanData>{more}));
  EXPECT_EQ(*(*store)->span_count(), 4);
}

TEST(Migration, ViewsOfTheUsersDoNotStopIt) {
  TempDir dir;
  std::string path = dir.file("v1.db");
  make_v1_file(path);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db,
                         "CREATE VIEW my_models AS SELECT name, COUNT(*) AS n FROM spans "
                         "GROUP BY name; CREATE VIEW my_keys AS SELECT key FROM attributes",
                         nullptr, nullptr, nullptr),
            SQLITE_OK);
  sqlite3_close(db);
  auto store = Store::open(path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), kStoreSchemaVersion);

  // The view over spans still works; the one over the dropped table is the
  // user's to remove.
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(db, "SELECT SUM(n) FROM my_models", -1, &st, nullptr), SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int64(st, 0), 3);
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(Migration, VersionOneValuesComeBackAsVersionOneReadThem) {
  // NaN was stored as NULL and infinities inside arrays as JSON null: both
  // came back as NaN, and still do.
  TempDir dir;
  std::string path = dir.file("v1.db");
  make_v1_file(path);
  {
    auto db = store::Db::open(path, false, std::chrono::milliseconds(1000));
    ASSERT_TRUE(db);
    ASSERT_FALSE(
        db->exec("INSERT INTO attributes(span_row, seq, key, type, value) VALUES "
                 "(2, 0, 'nan', 4, NULL), (2, 1, 'reals', 8, '[1,null,2.5]'), "
                 "(2, 2, 'junk', 7, 'not json')",
                 "attributes"));
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store) << store.error().message;
  auto trace = (*store)->load_trace(trace_of(1).hex());
  ASSERT_TRUE(trace) << trace.error().message;
  ASSERT_EQ(trace->size(), 2u);
  const std::vector<Attribute>& attrs = (*trace)[1].attributes;
  ASSERT_EQ(attrs.size(), 3u);
  EXPECT_TRUE(std::isnan(std::get<double>(attrs[0].value)));
  const auto& reals = std::get<std::vector<double>>(attrs[1].value);
  ASSERT_EQ(reals.size(), 3u);
  EXPECT_EQ(reals[0], 1.0);
  EXPECT_TRUE(std::isnan(reals[1]));
  EXPECT_EQ(reals[2], 2.5);
  EXPECT_EQ(std::get<std::string>(attrs[2].value), "not json");  // kept as its text
}

TEST(Migration, ReadOnlyOpenMigratesOnlyWhenAsked) {
  TempDir dir;
  std::string path = dir.file("v1.db");
  make_v1_file(path);
  StoreOptions read;
  read.read_only = true;
  auto refused = Store::open(path, read);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Error::io_error);
  EXPECT_NE(refused.error().message.find("schema version 1"), std::string::npos);

  read.migrate_older = true;
  auto store = Store::open(path, read);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), kStoreSchemaVersion);
  auto conv = (*store)->conversation("conv_1");
  ASSERT_TRUE(conv) << conv.error().message;
  EXPECT_EQ(conv->turns.size(), 1u);

  // A file on a read-only medium cannot be migrated: a clear error.
  std::string ro = dir.file("v1-ro.db");
  make_v1_file(ro);
  auto unwritable = Store::open("file:" + ro + "?mode=ro", read);
  ASSERT_FALSE(unwritable);
  EXPECT_NE(unwritable.error().message.find("cannot be migrated"), std::string::npos)
      << unwritable.error().message;
}

TEST(Migration, VersionTwoFileGetsTheCatalogCostColumn) {
  TempDir dir;
  std::string path = dir.file("v2.db");
  {
    auto db = store::Db::open(path, false, std::chrono::milliseconds(1000));
    ASSERT_TRUE(db) << db.error().message;
    ASSERT_FALSE(store::migrate(*db, std::chrono::milliseconds(1000), 2));
    ASSERT_FALSE(db->exec(
        "INSERT INTO spans(trace_id, span_id, trace_state, flags, parent_is_remote, name, kind, "
        "start_ns, end_ns, status_code, status_message, dropped_attributes, dropped_events, "
        "dropped_links, model, input_tokens, output_tokens, cost_pico) VALUES('"
        "0102030405060708090a0b0c0d0e0f10', '0102030405060708', '', 1, 0, 'chat', 3, 1, 2, 0, "
        "'', 0, 0, 0, 'gpt-4o', 10, 5, 75000000)",
        "span"));
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), kStoreSchemaVersion);
  auto before = (*store)->report({ReportGroup::model, {}});
  ASSERT_TRUE(before) << before.error().message;
  ASSERT_EQ(before->size(), 1u);
  EXPECT_EQ((*before)[0].cost_pico_usd, 75'000'000);
  EXPECT_EQ((*before)[0].cost_disagreements, 0);

  // A span from another SDK whose cost the built-in catalog disagrees with.
  SpanData s;
  s.trace_id.bytes[0] = 9;
  s.span_id.bytes[0] = 9;
  s.name = "chat gpt-4o";
  s.attributes = {{std::string(attr::kRequestModel), std::string("gpt-4o")},
                  {std::string(attr::kInputTokens), int64_t{1000}},
                  {std::string(attr::kOutputTokens), int64_t{100}},
                  {std::string(attr::kCostGeneric), 1.0}};
  ASSERT_FALSE((*store)->insert(std::vector<SpanData>{s}));
  auto after = (*store)->report({ReportGroup::model, {}});
  ASSERT_TRUE(after) << after.error().message;
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].cost_pico_usd, 75'000'000 + 1'000'000'000'000);  // the sent cost wins
  EXPECT_EQ((*after)[0].cost_disagreements, 1);
}

TEST(Migration, VersionThreeFileGetsRollUpsOfItsSpansAndDisagreements) {
  // As a release with schema version 3 wrote spans of another SDK: the
  // session id as the conversation, the sent cost and, where the catalog
  // disagreed, its cost beside it; resource attributes in rows of their own.
  TempDir dir;
  std::string path = dir.file("v3.db");
  {
    auto db = store::Db::open(path, false, std::chrono::milliseconds(1000));
    ASSERT_TRUE(db) << db.error().message;
    ASSERT_FALSE(store::migrate(*db, std::chrono::milliseconds(1000), 3));
    ASSERT_EQ(store::read_schema_version(*db), 3);
    ASSERT_FALSE(
        db->exec("INSERT INTO resources(id, fingerprint, service_name) VALUES(1, 'fp', 'py-svc'); "
                 "INSERT INTO resource_attributes(resource_id, seq, key, type, value) "
                 "VALUES(1, 0, 'service.name', 1, 'py-svc')",
                 "resource"));
    const char* insert =
        "INSERT INTO spans(trace_id, span_id, trace_state, flags, parent_is_remote, name, kind, "
        "start_ns, end_ns, status_code, status_message, dropped_attributes, dropped_events, "
        "dropped_links, resource_id, conversation_id, user_id, genai_kind, model, input_tokens, "
        "output_tokens, cost_pico, catalog_cost_pico) VALUES";
    std::string rows = std::string(insert) +
                       "('0102030405060708090a0b0c0d0e0f10', '0102030405060708', '', 1, 0, "
                       "'chat', 3, 1000, 2000, 0, '', 0, 0, 0, 1, 'sess', 'u1', 'llm', 'gpt-4o', "
                       "1000, 100, 1000000000000, 3500000000), "
                       "('0102030405060708090a0b0c0d0e0f11', '0102030405060709', '', 1, 0, "
                       "'chat', 3, 3000, 4000, 2, 'boom', 0, 0, 0, 1, 'sess', 'u1', 'llm', "
                       "'gpt-4o', 1000, 100, 3500000000, NULL)";
    ASSERT_FALSE(db->exec(rows.c_str(), "spans"));
  }
  auto store = Store::open(path);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ((*store)->schema_version(), kStoreSchemaVersion);
  EXPECT_FALSE(has_table(path, "resource_attributes"));
  for (const char* added : {"rollup_daily", "rollup_by", "conversations", "workflow_runs"}) {
    EXPECT_TRUE(has_table(path, added)) << added;
  }
  auto by_user = (*store)->report({ReportGroup::user});
  ASSERT_TRUE(by_user) << by_user.error().message;
  ASSERT_EQ(by_user->size(), 1u);
  EXPECT_EQ((*by_user)[0].group, std::optional<std::string>("u1"));
  EXPECT_EQ((*by_user)[0].cost_pico_usd, 1'000'000'000'000 + 3'500'000'000);
  EXPECT_EQ((*by_user)[0].cost_disagreements, 1);
  EXPECT_EQ((*by_user)[0].conversations, 1);
  EXPECT_EQ((*by_user)[0].errors, 1);
  auto listed = (*store)->conversations(ConversationQuery{});
  ASSERT_TRUE(listed) << listed.error().message;
  ASSERT_EQ(listed->size(), 1u);
  EXPECT_EQ((*listed)[0].conversation_id, "sess");
  EXPECT_EQ((*listed)[0].turns, 2);  // two traces without turn numbers
  EXPECT_EQ((*listed)[0].cost_pico_usd, 1'000'000'000'000 + 3'500'000'000);
  auto trace = (*store)->load_trace("0102030405060708090a0b0c0d0e0f10");
  ASSERT_TRUE(trace) << trace.error().message;
  ASSERT_EQ(trace->size(), 1u);
  ASSERT_TRUE((*trace)[0].resource);
  EXPECT_EQ(*find_string((*trace)[0].resource->attributes, attr::kServiceName), "py-svc");
}

TEST(Migration, AFileConvtraceNeverWroteIsNotMigratedByAReader) {
  TempDir dir;
  std::string path = dir.file("other.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "CREATE TABLE app_own(x)", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  StoreOptions read;
  read.read_only = true;
  read.migrate_older = true;
  EXPECT_FALSE(Store::open(path, read));
  EXPECT_FALSE(has_table(path, "spans"));
}

}  // namespace
}  // namespace convtrace
