// The SQLite store: schema, migrations, writing every field, and failure modes.
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <thread>

#include "convtrace/attributes.h"
#include "convtrace/diagnostics.h"
#include "convtrace/store.h"
#include "store/temp_dir.h"
#include "support/test_sdk.h"

namespace convtrace {
namespace {

using testing::TempDir;

TraceId trace_id(uint8_t n) {
  TraceId t;
  t.bytes[15] = n;
  t.bytes[0] = 0xab;
  return t;
}

SpanId span_id(uint8_t n) {
  SpanId s;
  s.bytes[7] = n;
  s.bytes[0] = 0xcd;
  return s;
}

SpanData full_span() {
  auto resource = std::make_shared<Resource>();
  resource->attributes = {{std::string(attr::kServiceName), std::string("svc")},
                          {"host.cores", int64_t{8}}};
  auto scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"lib", "1.2"});
  SpanData s;
  s.trace_id = trace_id(1);
  s.span_id = span_id(2);
  s.parent_span_id = span_id(1);
  s.trace_state = "k=v";
  s.flags = 1;
  s.parent_is_remote = true;
  s.name = "chat gpt-4o";
  s.kind = SpanKind::client;
  s.start_unix_nano = 1700000000000000000ULL;
  s.end_unix_nano = 1700000000500000000ULL;
  s.attributes = {
      {std::string(attr::kConversationId), std::string("conv_1")},
      {std::string(attr::kConversationTurn), int64_t{3}},
      {std::string(attr::kUserId), std::string("acme")},
      {std::string(attr::kRequestModel), std::string("gpt-4o")},
      {std::string(attr::kInputTokens), int64_t{100}},
      {std::string(attr::kOutputTokens), int64_t{20}},
      {std::string(attr::kCostUsd), 0.00045},
      {"custom.flag", true},
      {"custom.ratio", 0.25},
      {"custom.tags", std::vector<std::string>{"a", "b\"q", "c\n"}},
      {"custom.bools", std::vector<bool>{true, false}},
      {"custom.ints", std::vector<int64_t>{1, -2, 9007199254740993}},
      {"custom.reals", std::vector<double>{0.1, -2.5e-300}},
      {"custom.empty", std::vector<std::string>{}},
  };
  SpanEvent ev;
  ev.name = "exception";
  ev.time_unix_nano = 1700000000100000000ULL;
  ev.attributes = {{std::string(attr::kExceptionType), std::string("std::runtime_error")}};
  ev.dropped_attributes_count = 2;
  s.events.push_back(ev);
  SpanLink link;
  link.trace_id = trace_id(9);
  link.span_id = span_id(9);
  link.trace_state = "x=y";
  link.flags = 1;
  link.attributes = {{"link.kind", std::string("follows")}};
  s.links.push_back(link);
  s.status = {StatusCode::error, "boom"};
  s.dropped_attributes_count = 1;
  s.dropped_events_count = 2;
  s.dropped_links_count = 3;
  s.resource = resource;
  s.scope = scope;
  return s;
}

void expect_same_attributes(const std::vector<Attribute>& a, const std::vector<Attribute>& b) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_EQ(a[i].key, b[i].key);
    EXPECT_TRUE(a[i].value == b[i].value) << a[i].key;
  }
}

TEST(Store, CreatesTheSchemaInAnEmptyFileAndReopens) {
  TempDir dir;
  std::string path = dir.file("a.db");
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ((*store)->schema_version(), kStoreSchemaVersion);
    ASSERT_FALSE((*store)->insert(std::vector<SpanData>{full_span()}));
  }
  auto again = Store::open(path);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_EQ((*again)->schema_version(), kStoreSchemaVersion);
  EXPECT_EQ(*(*again)->span_count(), 1);

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, nullptr);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_STREQ(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)), "wal");
  sqlite3_finalize(st);
  sqlite3_close(db);
}

TEST(Store, MigratesAFileFromAnOlderEmptyVersionAndRefusesANewerOne) {
  TempDir dir;
  std::string path = dir.file("old.db");
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(
      sqlite3_exec(db, "CREATE TABLE app_own(x); PRAGMA user_version=0", nullptr, nullptr, nullptr),
      SQLITE_OK);
  sqlite3_close(db);
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store) << store.error().message;
    EXPECT_EQ((*store)->schema_version(), kStoreSchemaVersion);
  }
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version=999", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto newer = Store::open(path);
  ASSERT_FALSE(newer);
  EXPECT_EQ(newer.error().code, Error::io_error);
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos);
}

TEST(Store, NotADatabaseIsAnError) {
  TempDir dir;
  std::string path = dir.file("junk.db");
  FILE* f = fopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  std::string junk(4096, 'x');
  fwrite(junk.data(), 1, junk.size(), f);
  fclose(f);
  auto store = Store::open(path);
  ASSERT_FALSE(store);
  EXPECT_EQ(store.error().code, Error::io_error);
}

TEST(Store, KeepsEveryFieldAttributeEventAndLink) {
  TempDir dir;
  auto store = Store::open(dir.file("a.db"));
  ASSERT_TRUE(store);
  SpanData in = full_span();
  ASSERT_FALSE((*store)->insert(std::vector<SpanData>{in}));
  auto out = (*store)->load_trace(in.trace_id.hex());
  ASSERT_TRUE(out) << out.error().message;
  ASSERT_EQ(out->size(), 1u);
  const SpanData& s = (*out)[0];
  EXPECT_EQ(s.trace_id, in.trace_id);
  EXPECT_EQ(s.span_id, in.span_id);
  EXPECT_EQ(s.parent_span_id, in.parent_span_id);
  EXPECT_EQ(s.trace_state, in.trace_state);
  EXPECT_EQ(s.flags, in.flags);
  EXPECT_EQ(s.parent_is_remote, in.parent_is_remote);
  EXPECT_EQ(s.name, in.name);
  EXPECT_EQ(s.kind, in.kind);
  EXPECT_EQ(s.start_unix_nano, in.start_unix_nano);
  EXPECT_EQ(s.end_unix_nano, in.end_unix_nano);
  EXPECT_EQ(s.status.code, in.status.code);
  EXPECT_EQ(s.status.description, in.status.description);
  EXPECT_EQ(s.dropped_attributes_count, 1u);
  EXPECT_EQ(s.dropped_events_count, 2u);
  EXPECT_EQ(s.dropped_links_count, 3u);
  expect_same_attributes(s.attributes, in.attributes);
  ASSERT_EQ(s.events.size(), 1u);
  EXPECT_EQ(s.events[0].name, "exception");
  EXPECT_EQ(s.events[0].time_unix_nano, in.events[0].time_unix_nano);
  EXPECT_EQ(s.events[0].dropped_attributes_count, 2u);
  expect_same_attributes(s.events[0].attributes, in.events[0].attributes);
  ASSERT_EQ(s.links.size(), 1u);
  EXPECT_EQ(s.links[0].trace_id, in.links[0].trace_id);
  EXPECT_EQ(s.links[0].span_id, in.links[0].span_id);
  EXPECT_EQ(s.links[0].trace_state, "x=y");
  EXPECT_EQ(s.links[0].flags, 1u);
  expect_same_attributes(s.links[0].attributes, in.links[0].attributes);
  ASSERT_TRUE(s.resource);
  expect_same_attributes(s.resource->attributes, in.resource->attributes);
  ASSERT_TRUE(s.scope);
  EXPECT_EQ(s.scope->name, "lib");
  EXPECT_EQ(s.scope->version, "1.2");
}

TEST(Store, ASpanStoredTwiceIsKeptOnce) {
  TempDir dir;
  auto store = Store::open(dir.file("a.db"));
  ASSERT_TRUE(store);
  std::vector<SpanData> batch{full_span()};
  ASSERT_FALSE((*store)->insert(batch));
  ASSERT_FALSE((*store)->insert(batch));
  EXPECT_EQ(*(*store)->span_count(), 1);
  auto out = (*store)->load_trace(batch[0].trace_id.hex());
  ASSERT_TRUE(out);
  EXPECT_EQ((*out)[0].attributes.size(), batch[0].attributes.size());
}

TEST(Store, CostFromPicoAttributeElseFromUsd) {
  TempDir dir;
  auto store = Store::open(dir.file("a.db"));
  ASSERT_TRUE(store);
  SpanData a = full_span();  // cost_usd only: 0.00045 → 450000000 pico
  SpanData b = full_span();
  b.span_id = span_id(3);
  b.attributes.push_back({std::string(attr::kCostPicoUsd), int64_t{123}});
  ASSERT_FALSE((*store)->insert(std::vector<SpanData>{a, b}));
  auto rows = (*store)->report({ReportGroup::user, {}});
  ASSERT_TRUE(rows);
  ASSERT_EQ(rows->size(), 1u);
  EXPECT_EQ((*rows)[0].cost_pico_usd, 450000000 + 123);
  EXPECT_EQ((*rows)[0].llm_calls, 2);
  EXPECT_EQ((*rows)[0].errors, 2);
}

TEST(Store, ReadOnlyFileFailsExportsCountsAWarningAndTheAppGoesOn) {
  TempDir dir;
  std::string path = dir.file("ro.db");
  { ASSERT_TRUE(Store::open(path)); }
  // Opening read-only at the SQLite level: file permissions do not bind root.
  std::string uri = "file:" + path + "?mode=ro";
  TEST_reset_warnings();
  set_log_handler([](std::string_view) {});
  Config cfg;
  cfg.read_environment = false;
  cfg.synchronous_export = true;
  auto exporter = make_sqlite_exporter(uri);
  ASSERT_TRUE(exporter) << exporter.error().message;
  cfg.custom_exporter = std::move(*exporter);
  cfg.exporter = ExporterKind::custom;
  auto sdk = Sdk::create(std::move(cfg));
  ASSERT_TRUE(sdk);
  install(*sdk);
  int result = observe({"chat", Kind::llm, "gpt-4o"}, [] { return 42; });
  EXPECT_EQ(result, 42);
  (*sdk)->force_flush();
  EXPECT_GE(warning_count("sqlite_export_failed"), 1u);
  EXPECT_GE((*sdk)->stats().processor.export_failures, 1u);
  install(nullptr);
  (*sdk)->shutdown();
  set_log_handler(nullptr);
  auto check = Store::open(path);
  ASSERT_TRUE(check);
  EXPECT_EQ(*(*check)->span_count(), 0);
}

TEST(Store, LockedPastTheBusyTimeoutIsAnErrorNotAHang) {
  TempDir dir;
  std::string path = dir.file("a.db");
  StoreOptions quick;
  quick.busy_timeout = std::chrono::milliseconds(50);
  auto store = Store::open(path, quick);
  ASSERT_TRUE(store);
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);
  Error e = (*store)->insert(std::vector<SpanData>{full_span()});
  EXPECT_EQ(e.code, Error::unavailable) << e.message;
  sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db);
  EXPECT_FALSE((*store)->insert(std::vector<SpanData>{full_span()}));
}

TEST(Store, TwoWriterProcessesShareOneFile) {
  TempDir dir;
  std::string path = dir.file("shared.db");
  { ASSERT_TRUE(Store::open(path)); }
  constexpr int kBatches = 40;
  constexpr int kPerBatch = 25;
  auto write = [&](uint8_t writer) -> bool {
    auto store = Store::open(path);
    if (!store) return false;
    for (int b = 0; b < kBatches; ++b) {
      std::vector<SpanData> batch;
      for (int i = 0; i < kPerBatch; ++i) {
        SpanData s = full_span();
        s.trace_id.bytes[1] = writer;
        s.trace_id.bytes[2] = static_cast<uint8_t>(b);
        s.span_id.bytes[6] = static_cast<uint8_t>(i);
        batch.push_back(std::move(s));
      }
      if ((*store)->insert(batch)) return false;
    }
    return true;
  };
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(write(1) ? 0 : 1);
  bool parent_ok = write(2);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  EXPECT_TRUE(parent_ok);
  auto store = Store::open(path);
  ASSERT_TRUE(store);
  EXPECT_EQ(*(*store)->span_count(), 2 * kBatches * kPerBatch);
}

}  // namespace
}  // namespace convtrace
