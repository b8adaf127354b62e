#include "convtrace/metrics.h"

namespace convtrace {

ExportResult InMemoryMetricExporter::export_metrics(const MetricsBatch& batch) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    batches_.push_back(batch);
    return ExportResult::success;
  } catch (...) {
    return ExportResult::failure;
  }
}

std::vector<MetricsBatch> InMemoryMetricExporter::batches() const {
  std::lock_guard<std::mutex> lock(mu_);
  return batches_;
}

}  // namespace convtrace
