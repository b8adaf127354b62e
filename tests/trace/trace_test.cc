#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <map>
#include <set>
#include <thread>

#include "support/test_sdk.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

using testing::named;
using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

TEST(Ids, RandomIdsAreValidAndDistinct) {
  TestSdk t(sync_config());
  std::set<std::string> traces, spans;
  for (int i = 0; i < 1000; ++i) {
    Span s = start_span("s");
    ASSERT_TRUE(s.context().trace_id.valid());
    ASSERT_TRUE(s.context().span_id.valid());
    traces.insert(s.context().trace_id.hex());
    spans.insert(s.context().span_id.hex());
  }
  EXPECT_EQ(traces.size(), 1000u);
  EXPECT_EQ(spans.size(), 1000u);
}

TEST(Ids, HexRoundTrip) {
  TraceId t;
  ASSERT_TRUE(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e4736", &t));
  EXPECT_EQ(t.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_FALSE(TraceId::from_hex("4bf92f3577b34da6a3ce929d0e0e473", &t));
  EXPECT_FALSE(TraceId::from_hex("zzf92f3577b34da6a3ce929d0e0e4736", &t));
  EXPECT_FALSE(TraceId().valid());
  SpanId s;
  ASSERT_TRUE(SpanId::from_hex("00f067aa0ba902b7", &s));
  EXPECT_EQ(s.hex(), "00f067aa0ba902b7");
}

TEST(Span, NoSdkMeansNoOpSpans) {
  install(nullptr);
  Span s = start_span("nothing");
  EXPECT_FALSE(s.recording());
  EXPECT_FALSE(s.context().valid());
  s.set_attribute("k", "v");
  s.record_exception("E", "m");
  s.end();
  s.end();
}

TEST(Span, ParentChildAndActivation) {
  TestSdk t(sync_config());
  {
    Span parent = start_span("parent");
    auto scope = parent.activate();
    Span child = start_span("child");
    EXPECT_EQ(child.context().trace_id, parent.context().trace_id);
    child.end();
  }
  Span after = start_span("after");
  after.end();
  auto spans = t.spans();
  const SpanData* parent = only(spans, "parent");
  const SpanData* child = only(spans, "child");
  const SpanData* after_span = only(spans, "after");
  ASSERT_TRUE(parent && child && after_span);
  EXPECT_EQ(child->parent_span_id, parent->span_id);
  EXPECT_FALSE(parent->parent_span_id.valid());
  EXPECT_FALSE(after_span->parent_span_id.valid()) << "scope must restore the outer context";
  EXPECT_NE(after_span->trace_id, parent->trace_id);
}

TEST(Span, TimesAndAttributesOfAllTypes) {
  TestSdk t(sync_config());
  {
    Span s = start_span("typed");
    s.set_attribute("s", "text");
    s.set_attribute("b", true);
    s.set_attribute("i", 42);
    s.set_attribute("d", 0.5);
    s.set_attribute_value("as", std::vector<std::string>{"a", "b"});
    s.set_attribute_value("ai", std::vector<int64_t>{1, 2});
    s.set_attribute("i", 43);  // overwrite keeps one entry
  }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  const SpanData& s = spans[0];
  EXPECT_GT(s.start_unix_nano, 1700000000000000000ull);
  EXPECT_GE(s.end_unix_nano, s.start_unix_nano);
  EXPECT_EQ(str_attr(s, "s"), "text");
  EXPECT_EQ(std::get<bool>(*find_attribute(s.attributes, "b")), true);
  EXPECT_EQ(*find_int(s.attributes, "i"), 43);
  EXPECT_EQ(*find_double(s.attributes, "d"), 0.5);
  EXPECT_EQ(std::get<std::vector<std::string>>(*find_attribute(s.attributes, "as")).size(), 2u);
  EXPECT_EQ(s.attributes.size(), 6u);
  EXPECT_EQ(s.kind, SpanKind::internal);
  ASSERT_TRUE(s.resource);
  EXPECT_EQ(*find_string(s.resource->attributes, "telemetry.sdk.name"), "convtrace");
  EXPECT_EQ(*find_string(s.resource->attributes, "telemetry.sdk.language"), "cpp");
  EXPECT_EQ(find_string(s.resource->attributes, "service.name")->rfind("unknown_service:", 0), 0u);
  ASSERT_TRUE(s.scope);
  EXPECT_EQ(s.scope->name, "convtrace");
}

TEST(Span, TimesFollowTheWallClockAndDurationsTheMonotonicOne) {
  TestSdk t(sync_config());
  auto wall_ns = [] {
    return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                     std::chrono::system_clock::now().time_since_epoch())
                                     .count());
  };
  uint64_t before = wall_ns();
  {
    Span s = start_span("timed");
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  uint64_t after = wall_ns();
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  // Start times come from a per-thread offset between the clocks, refreshed
  // each second: allow for the clocks drifting apart by a few milliseconds.
  const uint64_t slack = 5000000;
  EXPECT_GE(spans[0].start_unix_nano + slack, before);
  EXPECT_LE(spans[0].end_unix_nano, after + slack);
  EXPECT_GE(spans[0].end_unix_nano - spans[0].start_unix_nano, 20000000u);
}

TEST(Span, ManyAttributesAreReplacedInPlace) {
  TestSdk t(sync_config());
  {
    Span s = start_span("wide");
    // More keys than the record keeps hashes for, so both look-up paths run.
    for (int i = 0; i < 40; ++i) s.set_attribute("attribute.number." + std::to_string(i), i);
    s.set_attribute("attribute.number.3", "three");
    s.set_attribute("attribute.number.35", 3.5);
    s.set_attribute("attribute.number.39", true);
  }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  const std::vector<Attribute>& attrs = spans[0].attributes;
  EXPECT_EQ(attrs.size(), 40u);
  EXPECT_EQ(*find_string(attrs, "attribute.number.3"), "three");
  EXPECT_EQ(*find_double(attrs, "attribute.number.35"), 3.5);
  EXPECT_EQ(std::get<bool>(*find_attribute(attrs, "attribute.number.39")), true);
  EXPECT_EQ(*find_int(attrs, "attribute.number.38"), 38);
}

TEST(Span, KeysDifferingOnlyInUnhashedBytesStayDistinct) {
  TestSdk t(sync_config());
  {
    Span s = start_span("similar");
    // Same length and same bytes where the key hash samples them.
    s.set_attribute("abcdefgh", 1);
    s.set_attribute("xbcdefgh", 2);
    s.set_attribute("abcdefgh", 3);
  }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].attributes.size(), 2u);
  EXPECT_EQ(*find_int(spans[0].attributes, "abcdefgh"), 3);
  EXPECT_EQ(*find_int(spans[0].attributes, "xbcdefgh"), 2);
}

// With either of the SDK's processors, a span's record comes back from the
// export and is rewritten by a later span, keeping the earlier span's keys in
// its slots. A later span that sets the same keys in the same order skips the
// duplicate search; any other order must still give each key once.
class RecycledRecords : public ::testing::TestWithParam<bool> {};

TEST_P(RecycledRecords, KeepEachKeyOnce) {
  // The batch processor hands records back from its export thread; the
  // simple processor on the ending thread, at once, so each span here
  // rewrites the one before.
  TestSdk t(GetParam() ? sync_config() : Config());
  const auto shaped = [&](const std::string& name, const std::vector<std::string>& keys) {
    for (int n = 0; n < 64; ++n) {
      Span s = start_span(name);
      for (size_t i = 0; i < keys.size(); ++i) s.set_attribute(keys[i], static_cast<int64_t>(i));
    }
    t.sdk->force_flush();  // the records are back in the pool, in this order
  };
  // Each case rewrites the records of spans with keys a, b, c, d.
  const auto after_first = [&](const std::string& name, const std::vector<std::string>& keys) {
    shaped("first", {"key.a", "key.b", "key.c", "key.d"});
    shaped(name, keys);
  };
  after_first("again", {"key.a", "key.b", "key.a"});
  after_first("back", {"key.a", "key.b", "key.c", "key.b", "key.d"});
  after_first("after", {"key.a", "key.b", "key.c", "key.d", "key.a"});
  after_first("swapped", {"key.b", "key.a"});
  after_first("twice", {"key.b", "key.b"});  // the second is the next slot's key, but live
  after_first("longer", {"key.a", "key.b", "key.c", "key.d", "key.e", "key.c"});
  const auto& spans = t.spans();
  const auto keys_of = [](const SpanData& s) {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const Attribute& a : s.attributes) out.emplace_back(a.key, std::get<int64_t>(a.value));
    return out;
  };
  using KV = std::vector<std::pair<std::string, int64_t>>;
  const std::map<std::string, KV> expected = {
      {"first", {{"key.a", 0}, {"key.b", 1}, {"key.c", 2}, {"key.d", 3}}},
      {"again", {{"key.a", 2}, {"key.b", 1}}},
      {"back", {{"key.a", 0}, {"key.b", 3}, {"key.c", 2}, {"key.d", 4}}},
      {"after", {{"key.a", 4}, {"key.b", 1}, {"key.c", 2}, {"key.d", 3}}},
      {"swapped", {{"key.b", 0}, {"key.a", 1}}},
      {"twice", {{"key.b", 1}}},
      {"longer", {{"key.a", 0}, {"key.b", 1}, {"key.c", 5}, {"key.d", 3}, {"key.e", 4}}},
  };
  for (const auto& [name, kv] : expected) {
    const auto with_name = named(spans, name);
    ASSERT_EQ(with_name.size(), name == "first" ? 6 * 64u : 64u) << name;
    for (const SpanData* s : with_name) ASSERT_EQ(keys_of(*s), kv) << name;
  }
}

INSTANTIATE_TEST_SUITE_P(BothProcessors, RecycledRecords, ::testing::Bool(),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? "Simple" : "Batch";
                         });

// The simple processor exports on the ending thread and hands the record
// back at once: the next span rewrites it, in the buffers the one before grew
// (a new record would start with room for its own attributes only).
TEST(Span, TheSimpleProcessorRewritesTheRecordOfTheSpanBefore) {
  struct Capacities : SpanExporter {
    ExportResult export_batch(const SpanBatch& batch) noexcept override {
      for (const SpanData* s : batch) {
        attributes.push_back(s->attributes.size());
        room.push_back(s->attributes.capacity());
      }
      return ExportResult::success;
    }
    std::vector<size_t> attributes, room;
  };
  auto exporter = std::make_unique<Capacities>();
  Capacities* seen = exporter.get();
  Config c = sync_config();
  c.read_environment = false;
  c.custom_exporter = std::move(exporter);
  auto sdk = Sdk::create(std::move(c));
  ASSERT_TRUE(sdk);
  Tracer tracer = (*sdk)->tracer();
  {
    Span wide = tracer.start_span("wide");
    for (int64_t i = 0; i < 20; ++i) wide.set_attribute("key." + std::to_string(i), i);
  }
  {
    Span narrow = tracer.start_span("narrow");
    narrow.set_attribute("key.0", int64_t{0});
  }
  ASSERT_EQ(seen->attributes, (std::vector<size_t>{20, 1}));
  EXPECT_GE(seen->room[1], 20u) << "the narrow span was given a new record";
  (*sdk)->shutdown();
}

TEST(Span, SpansEndedOnAnotherThreadAreExported) {
  TestSdk t(sync_config());
  std::vector<Span> started;
  for (int i = 0; i < 100; ++i) started.push_back(start_span("handed-over"));
  std::thread other([&] {
    for (Span& s : started) s.set_attribute("ended.on", "other thread");
    started.clear();  // ends and frees every span here
  });
  other.join();
  {
    Span after = start_span("after");  // reuses memory freed on this thread
    after.set_attribute("k", 1);
  }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 101u);
  EXPECT_EQ(str_attr(spans[0], "ended.on"), "other thread");
  EXPECT_EQ(*find_int(only(spans, "after")->attributes, "k"), 1);
}

TEST(Span, StatusRulesFollowOpenTelemetry) {
  TestSdk t(sync_config());
  {
    Span a = start_span("a");
    a.set_status(StatusCode::error, "boom");
    a.set_status(StatusCode::unset);  // ignored
    Span b = start_span("b");
    b.set_status(StatusCode::ok);
    b.set_status(StatusCode::error, "late");  // Ok is final
    Span c = start_span("c");
    c.set_status(StatusCode::ok, "ignored description");
  }
  auto spans = t.spans();
  EXPECT_EQ(only(spans, "a")->status.code, StatusCode::error);
  EXPECT_EQ(only(spans, "a")->status.description, "boom");
  EXPECT_EQ(only(spans, "b")->status.code, StatusCode::ok);
  EXPECT_EQ(only(spans, "c")->status.description, "");
}

TEST(Span, ExceptionEvent) {
  TestSdk t(sync_config());
  { start_span("e").record_exception("std::runtime_error", "disk full"); }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  ASSERT_EQ(spans[0].events.size(), 1u);
  const SpanEvent& e = spans[0].events[0];
  EXPECT_EQ(e.name, "exception");
  EXPECT_EQ(*find_string(e.attributes, "exception.type"), "std::runtime_error");
  EXPECT_EQ(*find_string(e.attributes, "exception.message"), "disk full");
}

TEST(Span, AttributeLimitsDropAndTruncate) {
  Config c = sync_config();
  c.attribute_count_limit = 3;
  c.attribute_value_length_limit = 4;
  TestSdk t(std::move(c));
  {
    Span s = start_span("limited");
    for (int i = 0; i < 10; ++i) s.set_attribute("k" + std::to_string(i), "abcdefgh");
  }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].attributes.size(), 3u);
  EXPECT_EQ(spans[0].dropped_attributes_count, 7u);
  EXPECT_EQ(str_attr(spans[0], "k0"), "abcd");
}

TEST(Span, EndedTwiceExportsOnce) {
  TestSdk t(sync_config());
  Span s = start_span("once");
  s.end();
  s.end();
  s.set_attribute("late", 1);
  EXPECT_FALSE(s.recording());
  EXPECT_EQ(t.spans().size(), 1u);
}

TEST(Context, WrapCarriesContextIntoThreadsAndAsync) {
  TestSdk t(sync_config());
  SpanContext parent_ctx;
  {
    Span parent = start_span("parent");
    parent_ctx = parent.context();
    auto scope = parent.activate();
    std::thread th(wrap([] { start_span("in-thread").end(); }));
    th.join();
    auto fut = std::async(std::launch::async, wrap([] {
                            start_span("in-async").end();
                            return 7;
                          }));
    EXPECT_EQ(fut.get(), 7);
    std::thread bare([] { start_span("bare-thread").end(); });
    bare.join();
  }
  auto spans = t.spans();
  EXPECT_EQ(only(spans, "in-thread")->parent_span_id, parent_ctx.span_id);
  EXPECT_EQ(only(spans, "in-async")->parent_span_id, parent_ctx.span_id);
  EXPECT_FALSE(only(spans, "bare-thread")->parent_span_id.valid())
      << "a thread that did not carry the context must not inherit it";
}

TEST(Context, AttachRestoresOnExit) {
  TestSdk t(sync_config());
  Span a = start_span("a");
  Context ctx = a.child_context();
  EXPECT_FALSE(Context::current().span_context().valid());
  {
    auto scope = attach(ctx);
    EXPECT_EQ(Context::current().span_context().span_id, a.context().span_id);
  }
  EXPECT_FALSE(Context::current().span_context().valid());
}

// A processor of the caller's own receives every finished span; exporter
// settings beside it would be ignored, so they are refused.
TEST(Sdk, AGivenProcessorReceivesTheSpans) {
  class Recording : public SpanProcessor {
   public:
    explicit Recording(std::vector<std::string>* names) : names_(names) {}
    void on_end(std::unique_ptr<SpanData> span) noexcept override { names_->push_back(span->name); }
    bool force_flush(std::chrono::milliseconds) noexcept override { return true; }
    bool shutdown(std::chrono::milliseconds) noexcept override { return true; }
    ProcessorStats stats() const noexcept override { return {}; }

   private:
    std::vector<std::string>* names_;
  };
  std::vector<std::string> names;
  Config c;
  c.read_environment = false;
  c.processor = std::make_unique<Recording>(&names);
  auto sdk = Sdk::create(std::move(c));
  ASSERT_TRUE(sdk) << sdk.error().message;
  (*sdk)->tracer().start_span("one").end();
  (*sdk)->tracer().start_span("two").end();
  EXPECT_EQ(names, (std::vector<std::string>{"one", "two"}));

  Config both;
  both.processor = std::make_unique<Recording>(&names);
  both.exporter = ExporterKind::console;
  auto refused = Sdk::create(std::move(both));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, Error::invalid_argument);
  EXPECT_NE(refused.error().message.find("Config::processor"), std::string::npos);
}

TEST(Sdk, BadConfigIsAnErrorValue) {
  Config c;
  c.read_environment = false;
  c.exporter = ExporterKind::custom;  // but no exporter given
  auto sdk = Sdk::create(std::move(c));
  ASSERT_FALSE(sdk);
  EXPECT_EQ(sdk.error().code, Error::invalid_argument);

  Config b;
  b.read_environment = false;
  b.exporter = ExporterKind::none;
  b.batch = BatchOptions{10, 20, std::chrono::milliseconds(1), std::chrono::milliseconds(1)};
  auto sdk2 = Sdk::create(std::move(b));
  ASSERT_FALSE(sdk2);
  EXPECT_NE(sdk2.error().message.find("max_export_batch_size"), std::string::npos);
}

TEST(Sdk, SpansEndedAfterShutdownAreDroppedAndCounted) {
  TestSdk t(sync_config());
  Span open = start_span("open");
  t.sdk->shutdown();
  open.end();
  Span late = start_span("late");
  EXPECT_FALSE(late.recording());
  EXPECT_EQ(t.sdk->stats().processor.dropped, 1u);
  EXPECT_TRUE(t.exporter->spans().empty());
}

TEST(Sdk, ServiceNameAndResourceAttributes) {
  Config c = sync_config();
  c.service_name = "support-bot";
  c.resource_attributes = {{"deployment.environment", std::string("test")}};
  TestSdk t(std::move(c));
  EXPECT_EQ(*find_string(t.sdk->resource().attributes, "service.name"), "support-bot");
  EXPECT_EQ(*find_string(t.sdk->resource().attributes, "deployment.environment"), "test");
}

TEST(Tracer, ScopeNameAndVersion) {
  TestSdk t(sync_config());
  { t.sdk->tracer("my.library", "1.2.3").start_span("scoped").end(); }
  auto spans = t.spans();
  ASSERT_EQ(spans.size(), 1u);
  EXPECT_EQ(spans[0].scope->name, "my.library");
  EXPECT_EQ(spans[0].scope->version, "1.2.3");
}

// The word-at-a-time comparison behind attribute keys and metric attribute
// sets: every length, a difference at every position.
TEST(RecordAttributes, SameBytesFindsADifferenceAnywhere) {
  for (size_t n = 0; n <= 40; ++n) {
    std::string a(n, 'x'), b(n, 'x');
    for (size_t i = 0; i < n; ++i) a[i] = b[i] = static_cast<char>('a' + i % 26);
    EXPECT_TRUE(record_attr::same_bytes(a.data(), b.data(), n)) << n;
    for (size_t i = 0; i < n; ++i) {
      std::string c = b;
      c[i] = static_cast<char>(c[i] ^ 0x20);
      EXPECT_FALSE(record_attr::same_bytes(a.data(), c.data(), n)) << n << " at " << i;
    }
  }
}

}  // namespace
}  // namespace convtrace
