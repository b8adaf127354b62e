#include "convtrace/exporter.h"

namespace convtrace {

ExportResult InMemoryExporter::export_batch(const SpanBatch& batch) noexcept {
  try {
    std::lock_guard<std::mutex> lock(mu_);
    for (const SpanData* span : batch) spans_.push_back(*span);
    return ExportResult::success;
  } catch (...) {
    return ExportResult::failure;
  }
}

std::vector<SpanData> InMemoryExporter::spans() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spans_;
}

void InMemoryExporter::clear() {
  std::lock_guard<std::mutex> lock(mu_);
  spans_.clear();
}

}  // namespace convtrace
