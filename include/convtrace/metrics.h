// GenAI metrics: what every observed call adds to dashboards and alerts.
//
// When metrics are on (Config::metrics_exporter, OTEL_METRICS_EXPORTER), every
// span that is a GenAI operation (an observed llm, embedding, tool or agent
// call) or that recorded usage adds, as it ends, to these instruments:
//
//   gen_ai.client.operation.duration   histogram, s        every call
//   gen_ai.client.token.usage          histogram, {token}  calls with usage;
//                                                           gen_ai.token.type input|output
//   gen_ai.client.operation.time_to_first_chunk
//                                      histogram, s        streamed calls
//                                      (Span::record_first_chunk)
//   convtrace.gen_ai.client.cost       sum (monotonic), USD  priced calls
//   convtrace.workflow.duration        histogram, s        every workflow run, by workflow.type
//   convtrace.workflow.cost            histogram, USD      every workflow run, by workflow.type
//
// with the GenAI conventions' attributes: gen_ai.operation.name,
// gen_ai.provider.name, gen_ai.request.model, gen_ai.response.model,
// error.type, server.address and server.port, where known; plus, opted in
// (MetricsOptions), workflow.type and user.id. Histograms use the bucket
// boundaries the conventions advise. Unsampled spans count too: metrics do
// not depend on the trace sampler.
//
// Money and time are summed exactly as integers (pico-USD, nanoseconds,
// tokens) and converted to the exported unit once per data point, so an
// exported total is the correctly rounded value of the exact sum, never a
// float sum that drifts. Cost is exported in USD because that is what
// dashboards show and what an alert threshold is written in; it is a
// convtrace instrument because the conventions define none for cost.
//
// Recording takes no lock: each thread adds to cells of its own with plain
// stores, and the periodic reader sums the cells. A thread's first
// measurement for an attribute set takes a mutex once. The number of
// attribute sets per family of instruments (calls, workflows) is capped
// (cardinality_limit); measurements beyond it are aggregated into one set
// carrying only otel.metric.overflow=true, as the OpenTelemetry metrics
// specification says. Sampled spans leave exemplars (trace and span id,
// value, time): the first sampled measurement of each histogram bucket, and
// of each sum, per export interval.
//
// Thread-safety: everything here is called by the SDK; a MetricExporter's
// export_metrics is called from one thread at a time.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/exporter.h"
#include "convtrace/otlp.h"
#include "convtrace/span_data.h"

namespace convtrace {

// Metric names: one place for each.
namespace metric {
inline constexpr std::string_view kOperationDuration = "gen_ai.client.operation.duration";
inline constexpr std::string_view kTokenUsage = "gen_ai.client.token.usage";
inline constexpr std::string_view kTimeToFirstChunk = "gen_ai.client.operation.time_to_first_chunk";
inline constexpr std::string_view kCost = "convtrace.gen_ai.client.cost";
inline constexpr std::string_view kWorkflowDuration = "convtrace.workflow.duration";
inline constexpr std::string_view kWorkflowCost = "convtrace.workflow.cost";
}  // namespace metric

// How sums and histograms accumulate between exports.
enum class Temporality {
  cumulative,  // every point covers the time since the SDK started
  delta,       // every point covers the time since the last successful export
};

// One exemplar: a measurement from a sampled span.
struct Exemplar {
  uint64_t time_unix_nano = 0;
  double value = 0;  // in the metric's unit
  TraceId trace_id;
  SpanId span_id;
};

struct HistogramPoint {
  std::vector<Attribute> attributes;
  uint64_t start_time_unix_nano = 0;
  uint64_t time_unix_nano = 0;
  uint64_t count = 0;
  double sum = 0;
  std::vector<uint64_t> bucket_counts;  // explicit_bounds.size() + 1 entries
  // Smallest and largest measurement since the start (cumulative only: a
  // delta point's extremes are not tracked).
  std::optional<double> min, max;
  std::vector<Exemplar> exemplars;
};

struct SumPoint {
  std::vector<Attribute> attributes;
  uint64_t start_time_unix_nano = 0;
  uint64_t time_unix_nano = 0;
  double value = 0;
  std::vector<Exemplar> exemplars;
};

struct MetricData {
  enum class Type { histogram, sum };
  std::string_view name;
  std::string_view description;
  std::string_view unit;  // UCUM: "s", "{token}", "USD"
  Type type = Type::histogram;
  Temporality temporality = Temporality::cumulative;
  bool monotonic = true;                // sums: always true here
  std::vector<double> explicit_bounds;  // histograms
  std::vector<HistogramPoint> histogram_points;
  std::vector<SumPoint> sum_points;
};

// What one collection produced: the metrics of one SDK (resource) and scope.
struct MetricsBatch {
  std::shared_ptr<const Resource> resource;
  std::shared_ptr<const InstrumentationScope> scope;
  std::vector<MetricData> metrics;  // only metrics with at least one point
};

class MetricExporter {
 public:
  virtual ~MetricExporter() = default;
  // Sends one collection. Called from one thread at a time; must not throw.
  virtual ExportResult export_metrics(const MetricsBatch& batch) noexcept = 0;
  // Releases resources; later exports fail. Default: nothing to do.
  virtual void shutdown(std::chrono::milliseconds /*timeout*/) noexcept {}
};

// Which metric exporter the SDK builds (OTEL_METRICS_EXPORTER).
enum class MetricsExporterKind { none, otlp, custom };

// Settings of metric recording and of the periodic reader. Unset fields come
// from the variable named on each, else the default.
struct MetricsOptions {
  // OTEL_METRIC_EXPORT_INTERVAL (milliseconds between exports). Default 60000.
  std::optional<std::chrono::milliseconds> export_interval;
  // OTEL_METRIC_EXPORT_TIMEOUT (milliseconds one export may take). Default 30000.
  std::optional<std::chrono::milliseconds> export_timeout;
  // OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: cumulative (default),
  // delta, or lowmemory (the same as delta here: every instrument is a
  // counter or a histogram). Delta points that could not be exported are
  // carried into the next export.
  std::optional<Temporality> temporality;
  // Opt-in attributes of the call metrics, CONVTRACE_METRICS_ATTRIBUTES
  // ("workflow.type,user.id"). Default neither: user.id especially can have
  // many values; the cardinality limit below bounds what it costs.
  std::optional<bool> workflow_type_attribute;
  std::optional<bool> user_id_attribute;
  // Attribute sets per family of instruments before measurements go to the
  // otel.metric.overflow=true set. CONVTRACE_METRICS_CARDINALITY_LIMIT. Default 2000.
  std::optional<size_t> cardinality_limit;
  // OTEL_METRICS_EXEMPLAR_FILTER: trace_based (default: measurements of
  // sampled spans), always_on (the same here: only spans have trace ids), always_off.
  std::optional<bool> exemplars;
};

// Creates an OTLP metrics exporter: OTLP/HTTP protobuf or JSON (or OTLP/gRPC
// in builds with gRPC), with the same connection reuse, gzip, retries,
// backoff window and counted warnings as the span exporter (otlp.h).
// `options.endpoint` is the full URL (for HTTP, ending in /v1/metrics).
// Errors as make_otlp_http_exporter.
Expected<std::unique_ptr<MetricExporter>> make_otlp_metric_exporter(OtlpHttpOptions options);

// Counters of an exporter made by make_otlp_metric_exporter (OtlpExporterStats
// counts data points where it says spans); std::nullopt for any other.
std::optional<OtlpExporterStats> otlp_exporter_stats(const MetricExporter& exporter) noexcept;

// Keeps a copy of every exported batch. Thread-safe; meant for tests.
class InMemoryMetricExporter : public MetricExporter {
 public:
  ExportResult export_metrics(const MetricsBatch& batch) noexcept override;
  std::vector<MetricsBatch> batches() const;

 private:
  mutable std::mutex mu_;
  std::vector<MetricsBatch> batches_;  // guarded by mu_
};

}  // namespace convtrace
