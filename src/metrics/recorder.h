// The in-process side of the GenAI metrics (convtrace/metrics.h): recording
// measurements without a lock, and collecting them into MetricsBatch points.
//
// Layout. Instruments come in families that share one attribute set per
// measurement: the call family (operation duration, token usage input and
// output, time to first chunk, cost) and the workflow family (run duration,
// run cost). A Series is one attribute set of a family, created once under
// the family's mutex and immutable after. Each recording thread has a
// ThreadShard holding one Cell per series it has recorded: integer words
// (sum, min, max and bucket counts per histogram) that only that thread
// writes, with relaxed loads and stores. The collector sums every shard's
// cells; a thread that exits marks its shard retired and the next
// collection folds it into per-series totals and frees it, so memory follows
// the live threads.
//
// Exemplars live in the series, two slots per histogram bucket (and per sum)
// indexed by the parity of the collection epoch: the first sampled
// measurement of the epoch claims its slot with one compare-and-swap, later
// ones only read the slot's tag, so a busy bucket costs one shared read.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

#include "convtrace/metrics.h"
#include "convtrace/trace.h"

namespace convtrace {

class MutexForkGuard;
struct Cell;
struct SpanRecord;

// What one finished call contributes. Views are valid for the call only.
struct CallMeasurement {
  std::string_view operation;
  std::string_view provider;
  std::string_view request_model;
  std::string_view response_model;
  std::string_view error_type;
  std::string_view server_address;
  int64_t server_port = 0;  // 0: unknown
  std::string_view workflow_type;
  std::string_view user_id;
  int64_t duration_ns = 0;
  int64_t first_chunk_ns = -1;  // < 0: not streamed
  bool has_input = false;
  bool has_output = false;
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  bool priced = false;
  int64_t cost_pico = 0;
  uint64_t end_unix_nano = 0;
  const SpanContext* sampled = nullptr;  // the span, when sampled: exemplars
};

struct WorkflowMeasurement {
  std::string_view workflow_type;
  int64_t duration_ns = 0;
  int64_t cost_pico = 0;
  uint64_t end_unix_nano = 0;
  const SpanContext* sampled = nullptr;
};

// Settings after the environment was applied and defaults filled in.
struct MetricsSettings {
  Temporality temporality = Temporality::cumulative;
  bool workflow_type_attribute = false;
  bool user_id_attribute = false;
  size_t cardinality_limit = 2000;
  bool exemplars = true;
};

class MetricsRecorder {
 public:
  MetricsRecorder(MetricsSettings settings, std::shared_ptr<const Resource> resource,
                  uint64_t start_unix_nano);
  ~MetricsRecorder();
  MetricsRecorder(const MetricsRecorder&) = delete;
  MetricsRecorder& operator=(const MetricsRecorder&) = delete;

  // Hot path: no lock once this thread has recorded the attribute set. Never throws.
  void record_call(const CallMeasurement& m) noexcept;
  // The same for an ended span record of an observed call (end_steady set),
  // read in place: filling a measurement first cost a fifth of what recording
  // adds to a call.
  void record_span_call(const SpanRecord& rec) noexcept;
  void record_workflow(const WorkflowMeasurement& m) noexcept;

  // The points at `now`: since the start (cumulative) or since the last
  // commit() (delta). One collector at a time (the reader serializes them).
  MetricsBatch collect(uint64_t now_unix_nano);
  // Delta: the last collection was delivered; the next one starts from it.
  void commit();

  const MetricsSettings& settings() const { return settings_; }

  struct Family;
  struct ThreadShard;

 private:
  // This thread's shard, made on its first measurement; null at thread exit
  // and when out of memory.
  [[gnu::cold]] ThreadShard* shard_for_this_thread() noexcept;
  // `Call` reads a call's fields (MeasuredCall, RecordedCall in recorder.cc).
  template <typename Call>
  void record_call_from(const Call& c) noexcept;
  // The cell of `c`'s attribute set when it is not the previous call's. Not
  // inline: building the set's key would crowd the common case's registers.
  template <typename Call>
  [[gnu::noinline, gnu::cold]] Cell* call_cell_slow(ThreadShard& shard, const Call& c) noexcept;

  const MetricsSettings settings_;
  const std::shared_ptr<const Resource> resource_;
  const std::shared_ptr<const InstrumentationScope> scope_;
  const uint64_t start_unix_nano_;
  std::unique_ptr<Family> calls_;
  std::unique_ptr<Family> workflows_;
  std::atomic<uint64_t> epoch_{1};

  std::mutex shards_mu_;
  std::vector<ThreadShard*> shards_;  // guarded by shards_mu_

  std::mutex collect_mu_;           // one collection at a time
  uint64_t last_commit_unix_nano_;  // guarded by collect_mu_
  uint64_t pending_time_ = 0;       // guarded by collect_mu_: time of the last collection
  // Keep the locks free in a forked child.
  std::vector<std::unique_ptr<MutexForkGuard>> fork_guards_;
};

}  // namespace convtrace
