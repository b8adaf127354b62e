#include <atomic>
#include <mutex>

#include "processors/simple_processor.h"

#include "common/fork_safety.h"
#include "processors/counters.h"

namespace convtrace {
namespace {

class SimpleProcessor : public SpanProcessor, private ForkAware {
 public:
  SimpleProcessor(std::unique_ptr<SpanExporter> exporter, std::shared_ptr<SpanDataPool> pool)
      : exporter_(std::move(exporter)), pool_(std::move(pool)) {
    register_fork_aware(this, ForkOrder::processor);
  }
  ~SimpleProcessor() override { unregister_fork_aware(this); }

  void on_end(std::unique_ptr<SpanData> span) noexcept override {
    counters_.ended.add();
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (shut_down_) {
        // Freed, not pooled: the SDK emptied its pool when it shut down.
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      const SpanData* one = span.get();
      counters_.count_export(exporter_->export_batch(SpanBatch(&one, 1)) == ExportResult::success,
                             1);
    }
    // The exporter is done with it (exporter.h): the next span on this
    // thread rewrites it in place.
    if (pool_) {
      const bool keep = SpanDataPool::worth_keeping(*span);
      pool_->give(span.release(), keep, SpanDataPool::this_thread_stripe());
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

  ProcessorStats stats() const noexcept override { return counters_.snapshot(); }

 private:
  // fork(): the export under way on another thread, if any, ends first, so
  // the child finds the lock free.
  void prepare_fork() noexcept override { mu_.lock(); }
  void after_fork_parent() noexcept override { mu_.unlock(); }
  void after_fork_child() noexcept override {
    // A thread that was taking or giving a record at the fork left its
    // queue cell half written.
    if (pool_) pool_->reset_after_fork();
    mu_.unlock();
  }

  std::mutex mu_;  // one export at a time, as the exporter contract promises
  std::unique_ptr<SpanExporter> exporter_;
  const std::shared_ptr<SpanDataPool> pool_;  // null: exported spans are freed
  bool shut_down_ = false;                    // guarded by mu_
  ProcessorCounters counters_;
};

}  // namespace

std::unique_ptr<SpanProcessor> make_simple_processor(std::unique_ptr<SpanExporter> exporter) {
  return std::make_unique<SimpleProcessor>(std::move(exporter), nullptr);
}

std::unique_ptr<SpanProcessor> make_pooled_simple_processor(std::unique_ptr<SpanExporter> exporter,
                                                            std::shared_ptr<SpanDataPool> pool) {
  return std::make_unique<SimpleProcessor>(std::move(exporter), std::move(pool));
}

}  // namespace convtrace
