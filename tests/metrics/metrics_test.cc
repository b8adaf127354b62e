// GenAI metrics recorded from observed calls and workflows, read back
// through a real SDK with an in-memory metric exporter.
#include <gtest/gtest.h>

#include <stdexcept>
#include <thread>
#include <vector>

#include "convtrace/attributes.h"
#include "convtrace/convtrace.h"
#include "convtrace/metrics.h"
#include "support/test_sdk.h"
#include "trace/sdk_state.h"

namespace convtrace {
namespace {

using testing::TestSdk;

struct MetricsSdk {
  InMemoryMetricExporter* metrics = nullptr;
  std::unique_ptr<TestSdk> sdk;

  explicit MetricsSdk(Config config = testing::sync_config()) {
    auto exporter = std::make_unique<InMemoryMetricExporter>();
    metrics = exporter.get();
    config.metrics_exporter = MetricsExporterKind::custom;
    config.custom_metric_exporter = std::move(exporter);
    config.metrics.export_interval = std::chrono::hours(1);  // exports only when flushed
    sdk = std::make_unique<TestSdk>(std::move(config));
  }

  // Flushes and returns the last collection.
  MetricsBatch collect() {
    EXPECT_TRUE(sdk->sdk->force_flush());
    auto batches = metrics->batches();
    return batches.empty() ? MetricsBatch{} : batches.back();
  }
};

const MetricData* find_metric(const MetricsBatch& batch, std::string_view name) {
  for (const MetricData& m : batch.metrics) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

const AttributeValue* attribute(const std::vector<Attribute>& attrs, std::string_view key) {
  for (const Attribute& a : attrs) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

std::string string_attribute(const std::vector<Attribute>& attrs, std::string_view key) {
  const AttributeValue* v = attribute(attrs, key);
  return v && std::holds_alternative<std::string>(*v) ? std::get<std::string>(*v) : "";
}

// The histogram point whose attributes include every (key, value) pair.
const HistogramPoint* point(const MetricData* m,
                            std::vector<std::pair<std::string_view, std::string>> want) {
  if (!m) return nullptr;
  for (const HistogramPoint& p : m->histogram_points) {
    bool all = true;
    for (const auto& [k, v] : want) all = all && string_attribute(p.attributes, k) == v;
    if (all) return &p;
  }
  return nullptr;
}

Usage usage(int64_t in, int64_t out) {
  Usage u;
  u.input_tokens = in;
  u.output_tokens = out;
  u.model = "gpt-4o-2024-08-06";
  u.provider = "openai";
  return u;
}

void chat(int64_t in, int64_t out) {
  observe({"chat", Kind::llm, "gpt-4o", "openai"},
          [&](Span& span) { span.record_usage(usage(in, out)); });
}

TEST(Metrics, ObservedCallsFillTheConventionsHistogramsAndAnExactCostSum) {
  MetricsSdk m;
  chat(1000, 100);
  chat(3000, 300);
  MetricsBatch batch = m.collect();
  ASSERT_TRUE(batch.resource);

  const MetricData* duration = find_metric(batch, metric::kOperationDuration);
  ASSERT_NE(duration, nullptr);
  EXPECT_EQ(duration->unit, "s");
  EXPECT_EQ(duration->temporality, Temporality::cumulative);
  std::vector<double> advised = {0.01, 0.02, 0.04, 0.08,  0.16,  0.32,  0.64,
                                 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
  EXPECT_EQ(duration->explicit_bounds, advised);
  ASSERT_EQ(duration->histogram_points.size(), 1u);
  const HistogramPoint& d = duration->histogram_points[0];
  EXPECT_EQ(d.count, 2u);
  uint64_t in_buckets = 0;
  for (uint64_t c : d.bucket_counts) in_buckets += c;
  EXPECT_EQ(in_buckets, 2u);
  EXPECT_EQ(d.bucket_counts.size(), advised.size() + 1);
  EXPECT_EQ(string_attribute(d.attributes, attr::kOperationName), "chat");
  EXPECT_EQ(string_attribute(d.attributes, attr::kProviderName), "openai");
  EXPECT_EQ(string_attribute(d.attributes, attr::kRequestModel), "gpt-4o");
  EXPECT_EQ(string_attribute(d.attributes, attr::kResponseModel), "gpt-4o-2024-08-06");
  EXPECT_EQ(attribute(d.attributes, attr::kErrorType), nullptr);
  ASSERT_TRUE(d.min && d.max);
  EXPECT_LE(*d.min, *d.max);

  const MetricData* tokens = find_metric(batch, metric::kTokenUsage);
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->unit, "{token}");
  EXPECT_EQ(tokens->explicit_bounds.front(), 1);
  EXPECT_EQ(tokens->explicit_bounds.back(), 67108864);
  const HistogramPoint* input = point(tokens, {{attr::kTokenType, "input"}});
  const HistogramPoint* output = point(tokens, {{attr::kTokenType, "output"}});
  ASSERT_TRUE(input && output);
  EXPECT_EQ(input->count, 2u);
  EXPECT_EQ(input->sum, 4000);
  EXPECT_EQ(output->sum, 400);
  // 1000 and 3000 tokens: buckets (256, 1024] and (1024, 4096].
  EXPECT_EQ(input->bucket_counts[5], 1u);
  EXPECT_EQ(input->bucket_counts[6], 1u);

  const MetricData* cost = find_metric(batch, metric::kCost);
  ASSERT_NE(cost, nullptr);
  EXPECT_EQ(cost->type, MetricData::Type::sum);
  EXPECT_TRUE(cost->monotonic);
  EXPECT_EQ(cost->unit, "USD");
  ASSERT_EQ(cost->sum_points.size(), 1u);
  // 4000 input at $2.50/1M + 400 output at $10/1M = $0.014, summed in pico-USD.
  EXPECT_EQ(cost->sum_points[0].value, 0.014);
  // No streamed call, no workflow: those metrics are absent.
  EXPECT_EQ(find_metric(batch, metric::kTimeToFirstChunk), nullptr);
  EXPECT_EQ(find_metric(batch, metric::kWorkflowDuration), nullptr);
}

TEST(Metrics, UnsampledCallsCountButLeaveNoExemplars) {
  Config config = testing::sync_config();
  config.sampler = always_off_sampler();
  MetricsSdk m(std::move(config));
  chat(10, 5);
  MetricsBatch batch = m.collect();
  const HistogramPoint* d = point(find_metric(batch, metric::kOperationDuration), {});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->count, 1u);
  EXPECT_TRUE(d->exemplars.empty());
}

TEST(Metrics, SampledCallsLeaveExemplarsWithTheirTraceAndSpan) {
  MetricsSdk m;
  SpanContext context;
  observe({"chat", Kind::llm, "gpt-4o", "openai"}, [&](Span& span) {
    context = span.context();
    span.record_usage(usage(100, 10));
  });
  MetricsBatch batch = m.collect();
  const HistogramPoint* d = point(find_metric(batch, metric::kOperationDuration), {});
  ASSERT_NE(d, nullptr);
  ASSERT_EQ(d->exemplars.size(), 1u);
  EXPECT_EQ(d->exemplars[0].trace_id, context.trace_id);
  EXPECT_EQ(d->exemplars[0].span_id, context.span_id);
  EXPECT_GT(d->exemplars[0].time_unix_nano, 0u);
  const MetricData* cost = find_metric(batch, metric::kCost);
  ASSERT_TRUE(cost && cost->sum_points.size() == 1);
  ASSERT_EQ(cost->sum_points[0].exemplars.size(), 1u);
  EXPECT_EQ(cost->sum_points[0].exemplars[0].value, cost->sum_points[0].value);
  // The next interval starts without exemplars.
  MetricsBatch next = m.collect();
  d = point(find_metric(next, metric::kOperationDuration), {});
  ASSERT_NE(d, nullptr);
  EXPECT_TRUE(d->exemplars.empty());
}

TEST(Metrics, FailedCallsCarryTheErrorType) {
  MetricsSdk m;
  EXPECT_THROW(observe({"chat", Kind::llm, "gpt-4o", "openai"},
                       [](Span&) -> int { throw std::runtime_error("timeout"); }),
               std::runtime_error);
  {
    Span span = start_span("manual", {});
    span.set_status(StatusCode::error, "bad");
    span.record_usage(usage(1, 1));
  }
  MetricsBatch batch = m.collect();
  const MetricData* duration = find_metric(batch, metric::kOperationDuration);
  EXPECT_NE(point(duration, {{attr::kErrorType, "std::runtime_error"}}), nullptr);
  EXPECT_NE(point(duration, {{attr::kErrorType, "_OTHER"}}), nullptr);
}

TEST(Metrics, StreamedCallsRecordTimeToFirstChunkAndServer) {
  MetricsSdk m;
  observe({"chat", Kind::llm, "gpt-4o", "openai"}, [&](Span& span) {
    span.set_server("api.openai.com", 443);
    span.record_time_to_first_chunk(std::chrono::milliseconds(150));
    span.record_first_chunk();  // the first mark counts
    span.record_usage(usage(10, 20));
  });
  MetricsBatch batch = m.collect();
  const HistogramPoint* ttfc = point(find_metric(batch, metric::kTimeToFirstChunk),
                                     {{attr::kServerAddress, "api.openai.com"}});
  ASSERT_NE(ttfc, nullptr);
  EXPECT_EQ(ttfc->count, 1u);
  EXPECT_DOUBLE_EQ(ttfc->sum, 0.15);
  EXPECT_EQ(ttfc->bucket_counts[4], 1u);  // (0.08, 0.16]
  const AttributeValue* port = attribute(ttfc->attributes, attr::kServerPort);
  ASSERT_TRUE(port && std::holds_alternative<int64_t>(*port));
  EXPECT_EQ(std::get<int64_t>(*port), 443);
  const SpanData* span = testing::only(m.sdk->spans(), "chat gpt-4o");
  ASSERT_NE(span, nullptr);
  const AttributeValue* ttfc_attr = find_attribute(span->attributes, attr::kTimeToFirstChunk);
  ASSERT_TRUE(ttfc_attr && std::holds_alternative<double>(*ttfc_attr));
  EXPECT_DOUBLE_EQ(std::get<double>(*ttfc_attr), 0.15);
}

TEST(Metrics, WorkflowRunsByTypeWithTheirExactCost) {
  Config config = testing::sync_config();
  config.metrics.workflow_type_attribute = true;
  MetricsSdk m(std::move(config));
  for (int i = 0; i < 2; ++i) {
    auto wf = workflow("run_" + std::to_string(i), "rag");
    chat(1000, 100);
  }
  MetricsBatch batch = m.collect();
  const HistogramPoint* runs =
      point(find_metric(batch, metric::kWorkflowDuration), {{attr::kWorkflowType, "rag"}});
  ASSERT_NE(runs, nullptr);
  EXPECT_EQ(runs->count, 2u);
  const HistogramPoint* cost =
      point(find_metric(batch, metric::kWorkflowCost), {{attr::kWorkflowType, "rag"}});
  ASSERT_NE(cost, nullptr);
  EXPECT_EQ(cost->sum, 0.007);  // 2 × (1000 × 2.5 + 100 × 10) / 1M
  // Opted in: the call metrics carry workflow.type as well.
  EXPECT_NE(point(find_metric(batch, metric::kOperationDuration), {{attr::kWorkflowType, "rag"}}),
            nullptr);
}

TEST(Metrics, AttributeSetsBeyondTheLimitGoToTheOverflowSet) {
  Config config = testing::sync_config();
  config.metrics.user_id_attribute = true;
  config.metrics.cardinality_limit = 2;
  MetricsSdk m(std::move(config));
  for (int i = 0; i < 5; ++i) {
    auto conv = conversation("c" + std::to_string(i), {"user_" + std::to_string(i)});
    chat(10, 1);
  }
  MetricsBatch batch = m.collect();
  const MetricData* duration = find_metric(batch, metric::kOperationDuration);
  ASSERT_NE(duration, nullptr);
  ASSERT_EQ(duration->histogram_points.size(), 3u);
  uint64_t total = 0, overflowed = 0;
  for (const HistogramPoint& p : duration->histogram_points) {
    total += p.count;
    const AttributeValue* o = attribute(p.attributes, attr::kMetricOverflow);
    if (o) {
      EXPECT_EQ(p.attributes.size(), 1u);
      EXPECT_TRUE(std::get<bool>(*o));
      overflowed = p.count;
    }
  }
  EXPECT_EQ(total, 5u);
  EXPECT_EQ(overflowed, 3u);
  EXPECT_GE(warning_count("metrics_cardinality"), 1u);
}

// Fails the first export, then accepts.
class FlakyMetricExporter : public MetricExporter {
 public:
  ExportResult export_metrics(const MetricsBatch& batch) noexcept override {
    if (calls_++ == 0) return ExportResult::failure;
    batches.push_back(batch);
    return ExportResult::success;
  }
  std::vector<MetricsBatch> batches;

 private:
  int calls_ = 0;
};

TEST(Metrics, DeltaPointsCoverTheIntervalAndCarryAFailedExportForward) {
  Config config = testing::sync_config();
  auto flaky = std::make_unique<FlakyMetricExporter>();
  FlakyMetricExporter* exporter = flaky.get();
  config.metrics_exporter = MetricsExporterKind::custom;
  config.custom_metric_exporter = std::move(flaky);
  config.metrics.export_interval = std::chrono::hours(1);
  config.metrics.temporality = Temporality::delta;
  TestSdk t(std::move(config));
  chat(10, 1);
  EXPECT_FALSE(t.sdk->force_flush());  // the exporter refused it
  chat(10, 1);
  EXPECT_TRUE(t.sdk->force_flush());
  chat(10, 1);
  EXPECT_TRUE(t.sdk->force_flush());
  EXPECT_TRUE(t.sdk->force_flush());  // nothing new: no points, nothing sent
  ASSERT_EQ(exporter->batches.size(), 2u);
  const HistogramPoint* first =
      point(find_metric(exporter->batches[0], metric::kOperationDuration), {});
  const HistogramPoint* second =
      point(find_metric(exporter->batches[1], metric::kOperationDuration), {});
  ASSERT_TRUE(first && second);
  EXPECT_EQ(first->count, 2u);  // the refused interval and the next one
  EXPECT_EQ(second->count, 1u);
  EXPECT_EQ(first->time_unix_nano, second->start_time_unix_nano);
  EXPECT_FALSE(second->min.has_value());
  const MetricData* cost = find_metric(exporter->batches[1], metric::kCost);
  ASSERT_TRUE(cost);
  EXPECT_EQ(cost->temporality, Temporality::delta);
}

TEST(Metrics, CallsOnManyThreadsAllCount) {
  MetricsSdk m;
  constexpr int kThreads = 4, kCalls = 500;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([] {
      for (int i = 0; i < kCalls; ++i) chat(10, 1);
    });
  }
  // A collection while the threads record, then one after they exited
  // (their cells are folded into the kept totals and freed).
  m.collect();
  for (std::thread& t : threads) t.join();
  MetricsBatch batch = m.collect();
  const HistogramPoint* d = point(find_metric(batch, metric::kOperationDuration), {});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->count, static_cast<uint64_t>(kThreads * kCalls));
  batch = m.collect();
  d = point(find_metric(batch, metric::kOperationDuration), {});
  ASSERT_NE(d, nullptr);
  EXPECT_EQ(d->count, static_cast<uint64_t>(kThreads * kCalls));
  const MetricData* cost = find_metric(batch, metric::kCost);
  ASSERT_TRUE(cost);
  EXPECT_EQ(cost->sum_points[0].value, kThreads * kCalls * 35.0 / 1e6);
}

TEST(Metrics, ShutdownExportsALastTime) {
  Config config = testing::sync_config();
  auto exporter = std::make_unique<InMemoryMetricExporter>();
  InMemoryMetricExporter* memory = exporter.get();
  config.metrics_exporter = MetricsExporterKind::custom;
  config.custom_metric_exporter = std::move(exporter);
  config.metrics.export_interval = std::chrono::hours(1);
  {
    TestSdk t(std::move(config), /*install_it=*/false);
    Span span = t.sdk->tracer().start_span("manual");
    span.record_usage(usage(10, 1));
    span.end();
    EXPECT_TRUE(memory->batches().empty());
    // ~TestSdk shuts the SDK down.
  }
  // The exporter belongs to the SDK's reader, which lives as long as the
  // process (like the SDK state): reading it after shutdown is safe.
  ASSERT_EQ(memory->batches().size(), 1u);
  EXPECT_NE(find_metric(memory->batches()[0], metric::kTokenUsage), nullptr);
}

TEST(Metrics, OffUnlessAskedFor) {
  TestSdk t(testing::sync_config());
  chat(10, 1);
  EXPECT_EQ(t.sdk->TEST_state()->metrics, nullptr);
}

}  // namespace
}  // namespace convtrace
