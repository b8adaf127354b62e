#include <atomic>
#include <mutex>

#include "convtrace/processor.h"
#include "processors/counters.h"

namespace convtrace {
namespace {

class SimpleProcessor : public SpanProcessor {
 public:
  explicit SimpleProcessor(std::unique_ptr<SpanExporter> exporter)
      : exporter_(std::move(exporter)) {}

  void on_end(std::unique_ptr<SpanData> span) noexcept override {
    counters_.ended.add();
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) {
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const SpanData* one = span.get();
    counters_.count_export(exporter_->export_batch(SpanBatch(&one, 1)) == ExportResult::success, 1);
  }

  bool force_flush(std::chrono::milliseconds timeout) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    return shut_down_ || exporter_->force_flush(timeout);
  }

  bool shutdown(std::chrono::milliseconds timeout) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) return true;
    shut_down_ = true;
    bool flushed = exporter_->force_flush(timeout);
    exporter_->shutdown(timeout);
    return flushed;
  }

  ProcessorStats stats() const noexcept override { return counters_.snapshot(); }

 private:
  std::mutex mu_;  // one export at a time, as the exporter contract promises
  std::unique_ptr<SpanExporter> exporter_;
  bool shut_down_ = false;  // guarded by mu_
  ProcessorCounters counters_;
};

}  // namespace

std::unique_ptr<SpanProcessor> make_simple_processor(std::unique_ptr<SpanExporter> exporter) {
  return std::make_unique<SimpleProcessor>(std::move(exporter));
}

}  // namespace convtrace
