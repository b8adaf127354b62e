// The OTLP metrics exporter: one collection per request, through the export
// client the span exporter uses.
#include "common/fork_safety.h"
#include "convtrace/metrics.h"
#include "otlp/export_client.h"
#include "otlp/otlp_metrics.h"

namespace convtrace {
namespace {

class OtlpMetricExporter final : public MetricExporter, private ForkAware {
 public:
  OtlpMetricExporter(OtlpHttpOptions options, std::unique_ptr<otlp::Transport> transport)
      : client_(std::move(options), std::move(transport), otlp::kMetricsSignal) {
    register_fork_aware(this, ForkOrder::exporter);
  }
  ~OtlpMetricExporter() override { unregister_fork_aware(this); }

  void prepare_fork() noexcept override {}
  void after_fork_parent() noexcept override {}
  void after_fork_child() noexcept override { client_.after_fork_child(); }

  ExportResult export_metrics(const MetricsBatch& batch) noexcept override {
    const uint64_t points = otlp::data_point_count(batch);
    if (points == 0) return ExportResult::success;
    try {
      std::string body = client_.options().protocol == OtlpHttpOptions::Protocol::http_json
                             ? otlp::encode_metrics_request_json(batch)
                             : otlp::encode_metrics_request(batch);
      return client_.send(body, points);
    } catch (...) {
      client_.fail(points, "OTLP metrics encoding failed");
      return ExportResult::failure;
    }
  }

  void shutdown(std::chrono::milliseconds timeout) noexcept override { client_.shutdown(timeout); }
  OtlpExporterStats stats() const noexcept { return client_.stats(); }

 private:
  otlp::ExportClient client_;
};

}  // namespace

Expected<std::unique_ptr<MetricExporter>> make_otlp_metric_exporter(OtlpHttpOptions options) {
  try {
    if (Error e = otlp::validate_common(options)) return e;
    auto transport = otlp::make_transport(options, otlp::kMetricsExportMethod);
    if (!transport) return transport.error();
    return std::unique_ptr<MetricExporter>(
        new OtlpMetricExporter(std::move(options), std::move(*transport)));
  } catch (const std::bad_alloc&) {
    return Error{Error::internal, "out of memory creating the OTLP metrics exporter"};
  }
}

std::optional<OtlpExporterStats> otlp_exporter_stats(const MetricExporter& exporter) noexcept {
  if (auto* otlp = dynamic_cast<const OtlpMetricExporter*>(&exporter)) return otlp->stats();
  return std::nullopt;
}

}  // namespace convtrace
