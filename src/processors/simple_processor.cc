#include <atomic>
#include <mutex>

#include "convtrace/processor.h"

namespace convtrace {
namespace {

class SimpleProcessor : public SpanProcessor {
 public:
  explicit SimpleProcessor(std::unique_ptr<SpanExporter> exporter)
      : exporter_(std::move(exporter)) {}

  void on_end(std::unique_ptr<SpanData> span) noexcept override {
    ended_.fetch_add(1, std::memory_order_relaxed);
    std::lock_guard<std::mutex> lock(mu_);
    if (shut_down_) {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const SpanData* one = span.get();
    if (exporter_->export_batch(SpanBatch(&one, 1)) == ExportResult::success) {
      exported_.fetch_add(1, std::memory_order_relaxed);
    } else {
      export_failures_.fetch_add(1, std::memory_order_relaxed);
      failed_spans_.fetch_add(1, std::memory_order_relaxed);
    }
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

  ProcessorStats stats() const noexcept override {
    ProcessorStats s;
    s.ended = ended_.load(std::memory_order_relaxed);
    s.exported = exported_.load(std::memory_order_relaxed);
    s.dropped = dropped_.load(std::memory_order_relaxed);
    s.export_failures = export_failures_.load(std::memory_order_relaxed);
    s.failed_spans = failed_spans_.load(std::memory_order_relaxed);
    return s;
  }

 private:
  std::mutex mu_;  // one export at a time, as the exporter contract promises
  std::unique_ptr<SpanExporter> exporter_;
  bool shut_down_ = false;  // guarded by mu_
  std::atomic<uint64_t> ended_{0}, exported_{0}, dropped_{0}, export_failures_{0}, failed_spans_{0};
};

}  // namespace

std::unique_ptr<SpanProcessor> make_simple_processor(std::unique_ptr<SpanExporter> exporter) {
  return std::make_unique<SimpleProcessor>(std::move(exporter));
}

}  // namespace convtrace
