// The periodic reader: collects the recorder every export interval on a
// thread of its own and hands the batch to the metric exporter; collects and
// exports at once on force_flush, and a last time on shutdown. Memory stays
// bounded: nothing is queued, each export carries the current collection
// (with delta temporality, increments of a failed export are carried into
// the next one, see MetricsRecorder::commit).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include "common/fork_safety.h"
#include "convtrace/metrics.h"
#include "metrics/recorder.h"

namespace convtrace {

class MetricsReader final : private ForkAware {
 public:
  MetricsReader(MetricsRecorder* recorder, std::unique_ptr<MetricExporter> exporter,
                std::chrono::milliseconds interval);
  ~MetricsReader() override;
  MetricsReader(const MetricsReader&) = delete;
  MetricsReader& operator=(const MetricsReader&) = delete;

  // Collects and exports now; true when that export succeeded within `timeout`.
  bool force_flush(std::chrono::milliseconds timeout);
  // Exports a last time and stops; idempotent.
  bool shutdown(std::chrono::milliseconds timeout);

 private:
  void run();
  bool export_once();  // called on the worker thread only
  void prepare_fork() noexcept override;
  void after_fork_parent() noexcept override;
  void after_fork_child() noexcept override;

  MetricsRecorder* const recorder_;
  std::unique_ptr<MetricExporter> exporter_;
  const std::chrono::milliseconds interval_;

  std::mutex mu_;
  std::condition_variable wake_;  // the worker waits here
  std::condition_variable done_;  // force_flush waits here
  uint64_t requested_ = 0;        // guarded by mu_: flushes asked for
  uint64_t completed_ = 0;        // guarded by mu_: flushes done
  bool last_ok_ = true;           // guarded by mu_
  bool stopping_ = false;         // guarded by mu_
  bool stopped_ = false;          // guarded by mu_: the final export is done
  std::thread worker_;
};

}  // namespace convtrace
