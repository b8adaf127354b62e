#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <new>
#include <thread>
#include <vector>

#include "common/diagnostics.h"
#include "common/fork_safety.h"
#include "convtrace/processor.h"
#include "processors/batch_processor.h"
#include "processors/counters.h"
#include "processors/striped_queue.h"

namespace convtrace {
namespace {

// A queued span carries in the low bits of its address (records are at least
// 8-byte aligned) what the pool needs when the record comes back: whether to
// keep it (decided in on_end, see SpanDataPool::worth_keeping) and the pool
// stripe of the thread that wrote it.
constexpr uintptr_t kUnkeptBit = 1;
constexpr uintptr_t kStripeShift = 1;
constexpr uintptr_t kTagMask = 7;
static_assert(alignof(SpanData) >= 8, "tags need three free low bits");
static_assert(SpanDataPool::kStripes <= 4, "two bits carry the stripe");

SpanData* tagged(SpanData* span, bool keep, size_t stripe) {
  uintptr_t tags = (keep ? 0 : kUnkeptBit) | (static_cast<uintptr_t>(stripe) << kStripeShift);
  return reinterpret_cast<SpanData*>(reinterpret_cast<uintptr_t>(span) | tags);
}
bool is_kept(const SpanData* queued) {
  return (reinterpret_cast<uintptr_t>(queued) & kUnkeptBit) == 0;
}
size_t stripe_of(const SpanData* queued) {
  return (reinterpret_cast<uintptr_t>(queued) & kTagMask) >> kStripeShift;
}
SpanData* untagged(SpanData* queued) {
  return reinterpret_cast<SpanData*>(reinterpret_cast<uintptr_t>(queued) & ~kTagMask);
}

class BatchProcessor : public SpanProcessor, private ForkAware {
 public:
  BatchProcessor(std::unique_ptr<SpanExporter> exporter, const BatchOptions& options,
                 std::shared_ptr<SpanDataPool> pool)
      : exporter_(std::move(exporter)),
        options_(options),
        pool_(std::move(pool)),
        queue_(options.max_queue_size),
        check_mask_(check_interval(options.max_export_batch_size) - 1),
        help_when_full_(exporter_->never_blocks()) {
    batch_.reserve(options_.max_export_batch_size);
    tags_.reserve(options_.max_export_batch_size);
    help_batch_.reserve(options_.max_export_batch_size);
    help_tags_.reserve(options_.max_export_batch_size);
    worker_ = std::thread([this] { run(); });
    register_fork_aware(this, ForkOrder::processor);
  }

  ~BatchProcessor() override {
    unregister_fork_aware(this);
    shutdown(options_.export_timeout);
    if (worker_.joinable()) worker_.join();
    // A span pushed while shutdown was finishing is still here: free it.
    while (SpanData* queued = queue_.try_pop()) {
      recycle(untagged(queued), is_kept(queued), stripe_of(queued));
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }

  void on_end(std::unique_ptr<SpanData> span) noexcept override {
    counters_.ended.add();
    if (stopping_.load(std::memory_order_acquire)) {
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    const bool keep = pool_ && SpanDataPool::worth_keeping(*span);
    const size_t stripe = SpanDataPool::this_thread_stripe();
    SpanData* raw = span.release();
    size_t position = 0;
    if (!queue_.try_push(tagged(raw, keep, stripe), &position) &&
        !(help_when_full_ && help_drain() &&
          queue_.try_push(tagged(raw, keep, stripe), &position))) {
      // Never wait for the exporter: a full queue drops, and the drop is counted.
      recycle(raw, keep, stripe);
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      report_warning("queue_full", "span queue full; spans are being dropped");
      wake_if_batch_ready();  // a full queue is a batch's worth
      return;
    }
    // The queue's size reads the consumers' indexes, cache lines the export
    // thread writes on every pop, so only every check_interval()-th push into
    // a stripe looks at it. Every stripe grows by at most that much between
    // two looks, the stripes together by less than a batch, and a full queue
    // looks on every drop: no wake-up is missed, though one may come up to
    // check_interval() - 1 pushes per stripe after a batch is queued (the
    // schedule delay exports what is left when a burst ends in between).
    if (((position + 1) & check_mask_) == 0) wake_if_batch_ready();
  }

  // The queue is full and the worker is not draining it (it has no core:
  // two application threads on two cores leave it none for milliseconds,
  // in which they fill the queue many times over). With an exporter that
  // never waits, the thread that found the queue full exports one batch
  // itself — bounded work, no lock waited for — instead of dropping span
  // after span. False when the worker (or another helper) holds the drain.
  bool help_drain() noexcept {
    std::unique_lock<std::mutex> lock(drain_mu_, std::try_to_lock);
    if (!lock.owns_lock()) return false;
    return export_one_batch(help_batch_, help_tags_) > 0;
  }

  // Pushes into one stripe between two looks at the queue's size: a power of
  // two (no division on the hot path), at most 64 and at most batch/8.
  static size_t check_interval(size_t batch) {
    size_t interval = 1;
    while (interval < 64 && interval * 2 * 8 <= batch) interval *= 2;
    return interval;
  }

  // Wakes the worker once per batch's worth of queued spans, not on every span.
  void wake_if_batch_ready() noexcept {
    if (queue_.size_approx() >= options_.max_export_batch_size &&
        !wake_pending_.exchange(true, std::memory_order_acq_rel)) {
      // Taking the mutex closes the window between the worker testing its
      // predicate and starting to wait, so this wake-up cannot be lost.
      { std::lock_guard<std::mutex> lock(mu_); }
      cv_.notify_one();
    }
  }

  bool force_flush(std::chrono::milliseconds timeout) noexcept override {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    std::unique_lock<std::mutex> lock(mu_);
    if (worker_exited_) return queue_.size_approx() == 0;
    uint64_t target = ++flush_requested_;
    cv_.notify_one();
    if (!done_cv_.wait_for(lock, timeout,
                           [&] { return flush_completed_ >= target || worker_exited_; })) {
      return false;
    }
    lock.unlock();
    // An exporter that delivers in the background (OTLP) holds what the
    // worker handed it; it is waited for here, on the caller's thread, so
    // that the worker goes on draining the queue meanwhile.
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    return exporter_->force_flush(std::max(left, std::chrono::milliseconds(0)));
  }

  bool shutdown(std::chrono::milliseconds timeout) noexcept override {
    std::unique_lock<std::mutex> lock(mu_);
    if (stop_) return true;
    stop_ = true;
    // Spans that end from here on are dropped and counted; what is queued is exported.
    stopping_.store(true, std::memory_order_release);
    cv_.notify_one();
    bool finished = done_cv_.wait_for(lock, timeout, [&] { return worker_exited_; });
    lock.unlock();
    if (finished && worker_.joinable()) worker_.join();
    exporter_->shutdown(timeout);
    return finished;
  }

  ProcessorStats stats() const noexcept override { return counters_.snapshot(); }

 private:
  // fork(): the child has no worker thread and a copy of the parent's queue.
  void prepare_fork() noexcept override {
    mu_.lock();
    drain_mu_.lock();
  }
  void after_fork_parent() noexcept override {
    drain_mu_.unlock();
    mu_.unlock();
  }
  void after_fork_child() noexcept override {
    new (&drain_mu_) std::mutex();
    // The queued spans are the parent's to export: the child starts with an
    // empty queue. The queue is reset rather than drained, because a thread
    // that was mid-push at the fork left a cell claimed but never published.
    queue_.reset_after_fork();
    if (pool_) pool_->reset_after_fork();
    // A parent thread waiting on these at the fork is a phantom waiter here;
    // glibc's notify can wait forever for it to leave, so start them afresh.
    new (&cv_) std::condition_variable();
    new (&done_cv_) std::condition_variable();
    // The std::thread object names a thread that does not exist here: it must
    // be neither joined nor detached, so it is overwritten unused.
    new (&worker_) std::thread();
    if (!stop_) {
      worker_exited_ = false;
      flush_completed_ = flush_requested_;
      wake_pending_.store(false, std::memory_order_relaxed);
      try {
        worker_ = std::thread([this] { run(); });
      } catch (...) {
        worker_exited_ = true;  // no thread: spans are dropped and counted
        stopping_.store(true, std::memory_order_release);
      }
    }
    mu_.unlock();
  }

  void recycle(SpanData* span, bool keep, size_t stripe) noexcept {
    if (pool_) {
      pool_->give(span, keep, stripe);
    } else {
      delete span;
    }
  }

  void run() {
    std::unique_lock<std::mutex> lock(mu_);
    for (;;) {
      // Re-armed here, under the lock and before the queue is looked at: a
      // producer that fills the queue past a batch from now on notifies, and
      // one that did so earlier left a queue the predicate sees. Re-arming
      // before drain() instead lost the wake-up whenever a producer crossed
      // the threshold during the drain: the worker then slept for the whole
      // schedule delay while a busy app dropped nearly every span.
      wake_pending_.store(false, std::memory_order_release);
      cv_.wait_for(lock, options_.schedule_delay, [&] {
        return stop_ || flush_requested_ != flush_completed_ ||
               queue_.size_approx() >= options_.max_export_batch_size;
      });
      bool stopping = stop_;
      uint64_t flush_target = flush_requested_;
      lock.unlock();
      drain();
      lock.lock();
      flush_completed_ = flush_target;
      if (stopping) {
        worker_exited_ = true;
        done_cv_.notify_all();
        return;
      }
      done_cv_.notify_all();
    }
  }

  // Exports everything queued now, in batches of at most max_export_batch_size.
  void drain() {
    for (;;) {
      std::lock_guard<std::mutex> lock(drain_mu_);
      if (export_one_batch(batch_, tags_) == 0) return;
    }
  }

  // Pops up to one batch and exports it; returns how many spans it took.
  // REQUIRES: drain_mu_ held (one export_batch at a time, as exporter.h promises).
  size_t export_one_batch(std::vector<SpanData*>& batch, std::vector<SpanData*>& tags) noexcept {
    batch.clear();
    tags.clear();
    while (batch.size() < options_.max_export_batch_size) {
      SpanData* queued = queue_.try_pop();
      if (!queued) break;
      batch.push_back(untagged(queued));
      tags.push_back(queued);
    }
    if (batch.empty()) return 0;
    ExportResult result = exporter_->export_batch(SpanBatch(batch.data(), batch.size()));
    counters_.count_export(result == ExportResult::success, batch.size());
    for (size_t i = 0; i < batch.size(); ++i) {
      recycle(batch[i], is_kept(tags[i]), stripe_of(tags[i]));
    }
    return batch.size();
  }

  std::unique_ptr<SpanExporter> exporter_;
  const BatchOptions options_;
  const std::shared_ptr<SpanDataPool> pool_;  // null: exported spans are freed
  StripedQueue<SpanData> queue_;
  const size_t check_mask_;       // check_interval() - 1
  std::vector<SpanData*> batch_;  // used by the worker only
  std::vector<SpanData*> tags_;   // batch_ as queued, with their tags
  // Application threads may export when the queue is full (help_drain).
  const bool help_when_full_;
  std::mutex drain_mu_;                // one thread pops and exports at a time
  std::vector<SpanData*> help_batch_;  // guarded by drain_mu_: a helping thread's batch
  std::vector<SpanData*> help_tags_;   // guarded by drain_mu_

  std::mutex mu_;
  std::condition_variable cv_;       // wakes the worker
  std::condition_variable done_cv_;  // flush/shutdown completion
  bool stop_ = false;                // guarded by mu_
  bool worker_exited_ = false;       // guarded by mu_
  uint64_t flush_requested_ = 0;     // guarded by mu_
  uint64_t flush_completed_ = 0;     // guarded by mu_
  std::atomic<bool> stopping_{false};
  std::atomic<bool> wake_pending_{false};
  std::thread worker_;

  ProcessorCounters counters_;
};

}  // namespace

Expected<std::unique_ptr<SpanProcessor>> make_batch_processor(
    std::unique_ptr<SpanExporter> exporter, const BatchOptions& options) {
  return make_pooled_batch_processor(std::move(exporter), options, nullptr);
}

Expected<std::unique_ptr<SpanProcessor>> make_pooled_batch_processor(
    std::unique_ptr<SpanExporter> exporter, const BatchOptions& options,
    std::shared_ptr<SpanDataPool> pool) {
  if (!exporter) return Error{Error::invalid_argument, "batch processor: exporter is null"};
  if (options.max_queue_size == 0) {
    return Error{Error::invalid_argument, "batch processor: max_queue_size must be > 0"};
  }
  if (options.max_export_batch_size == 0 ||
      options.max_export_batch_size > options.max_queue_size) {
    return Error{Error::invalid_argument,
                 "batch processor: max_export_batch_size must be between 1 and max_queue_size (" +
                     std::to_string(options.max_queue_size) + ")"};
  }
  if (options.schedule_delay.count() < 0 || options.export_timeout.count() < 0) {
    return Error{Error::invalid_argument, "batch processor: delays must not be negative"};
  }
  return std::unique_ptr<SpanProcessor>(
      new BatchProcessor(std::move(exporter), options, std::move(pool)));
}

}  // namespace convtrace
