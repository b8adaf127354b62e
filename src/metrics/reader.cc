#include "metrics/reader.h"

#include "trace/clock.h"

namespace convtrace {

MetricsReader::MetricsReader(MetricsRecorder* recorder, std::unique_ptr<MetricExporter> exporter,
                             std::chrono::milliseconds interval)
    : recorder_(recorder), exporter_(std::move(exporter)), interval_(interval) {
  worker_ = std::thread([this] { run(); });
  register_fork_aware(this, ForkOrder::processor);
}

MetricsReader::~MetricsReader() {
  unregister_fork_aware(this);
  shutdown(std::chrono::milliseconds(5000));
}

bool MetricsReader::export_once() {
  MetricsBatch batch = recorder_->collect(now_unix_nano());
  if (batch.metrics.empty()) return true;
  bool ok = exporter_->export_metrics(batch) == ExportResult::success;
  if (ok) recorder_->commit();
  return ok;
}

void MetricsReader::run() {
  std::unique_lock<std::mutex> lock(mu_);
  auto next = std::chrono::steady_clock::now() + interval_;
  while (true) {
    wake_.wait_until(lock, next, [this] { return stopping_ || requested_ > completed_; });
    const bool final_export = stopping_;
    const uint64_t serving = requested_;
    lock.unlock();
    bool ok = export_once();
    lock.lock();
    if (serving > completed_) {
      completed_ = serving;
      last_ok_ = ok;
    }
    if (final_export) {
      stopped_ = true;
      done_.notify_all();
      return;
    }
    done_.notify_all();
    next = std::chrono::steady_clock::now() + interval_;
  }
}

bool MetricsReader::force_flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mu_);
  if (stopping_) return stopped_;
  const uint64_t ticket = ++requested_;
  wake_.notify_one();
  bool done = done_.wait_for(lock, timeout, [&] { return completed_ >= ticket || stopped_; });
  return done && last_ok_;
}

bool MetricsReader::shutdown(std::chrono::milliseconds timeout) {
  {
    std::unique_lock<std::mutex> lock(mu_);
    if (!stopping_) {
      stopping_ = true;
      wake_.notify_one();
    }
    done_.wait_for(lock, timeout, [&] { return stopped_; });
  }
  bool stopped;
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopped = stopped_;
  }
  if (!stopped) exporter_->shutdown(std::chrono::milliseconds(0));  // cut the export short
  if (worker_.joinable()) worker_.join();
  exporter_->shutdown(timeout);
  return stopped;
}

void MetricsReader::prepare_fork() noexcept { mu_.lock(); }
void MetricsReader::after_fork_parent() noexcept { mu_.unlock(); }
void MetricsReader::after_fork_child() noexcept {
  // The worker does not exist in the child: a fresh lock and a new worker.
  // The std::thread object names a thread that does not exist here: it must
  // be neither joined nor detached, so it is overwritten unused.
  new (&mu_) std::mutex();
  new (&wake_) std::condition_variable();
  new (&done_) std::condition_variable();
  new (&worker_) std::thread();
  completed_ = requested_;
  if (stopping_) return;
  try {
    worker_ = std::thread([this] { run(); });
  } catch (...) {
    stopping_ = stopped_ = true;  // no thread: nothing is exported from the child
  }
}

}  // namespace convtrace
