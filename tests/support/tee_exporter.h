// An exporter that hands every batch to several others, so that the same spans
// reach several stores or paths at once. Fails when any of them fails.
#pragma once

#include <memory>
#include <vector>

#include "convtrace/exporter.h"

namespace convtrace::testing {

class TeeExporter : public SpanExporter {
 public:
  explicit TeeExporter(std::vector<std::unique_ptr<SpanExporter>> to) : to_(std::move(to)) {}
  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    ExportResult result = ExportResult::success;
    for (auto& e : to_) {
      if (e->export_batch(batch) != ExportResult::success) result = ExportResult::failure;
    }
    return result;
  }
  bool force_flush(std::chrono::milliseconds timeout) noexcept override {
    bool ok = true;
    for (auto& e : to_) ok = e->force_flush(timeout) && ok;
    return ok;
  }
  void shutdown(std::chrono::milliseconds timeout) noexcept override {
    for (auto& e : to_) e->shutdown(timeout);
  }

 private:
  std::vector<std::unique_ptr<SpanExporter>> to_;
};

}  // namespace convtrace::testing
