// Span processors: what happens to a span when it starts and when it ends.
//
// The SDK calls `on_start` on the application thread right after a span is
// created (the place to stamp attributes), and `on_end` when it ends, handing
// over the finished span. `on_end` must never block or throw: the batch
// processor queues the span (dropping and counting it when the queue is full)
// and exports from one background thread; the simple processor exports
// synchronously and is meant for tests and debugging.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>

#include "convtrace/exporter.h"
#include "convtrace/span_data.h"

namespace convtrace {

class Context;

// Counters of one processor since it was created. Monotonic.
struct ProcessorStats {
  uint64_t ended = 0;            // spans handed to on_end
  uint64_t exported = 0;         // spans the exporter accepted
  uint64_t dropped = 0;          // spans dropped because the queue was full or after shutdown
  uint64_t export_failures = 0;  // export calls that failed
  uint64_t failed_spans = 0;     // spans in failed export calls
};

class SpanProcessor {
 public:
  virtual ~SpanProcessor() = default;
  // Called on the starting thread; may add attributes. Must not throw.
  virtual void on_start(SpanData& /*span*/, const Context& /*parent*/) noexcept {}
  // Takes ownership of a finished span. Must not block or throw.
  virtual void on_end(std::unique_ptr<SpanData> span) noexcept = 0;
  // Exports everything handed over so far; false if `timeout` passed first.
  virtual bool force_flush(std::chrono::milliseconds timeout) noexcept = 0;
  // Flushes, stops background work and shuts the exporter down. Idempotent;
  // spans ended afterwards are dropped and counted.
  virtual bool shutdown(std::chrono::milliseconds timeout) noexcept = 0;
  virtual ProcessorStats stats() const noexcept = 0;
};

// Settings of the batch processor; defaults are the OpenTelemetry ones
// (OTEL_BSP_MAX_QUEUE_SIZE, OTEL_BSP_MAX_EXPORT_BATCH_SIZE,
// OTEL_BSP_SCHEDULE_DELAY, OTEL_BSP_EXPORT_TIMEOUT).
struct BatchOptions {
  size_t max_queue_size = 2048;
  size_t max_export_batch_size = 512;  // must be ≤ max_queue_size
  std::chrono::milliseconds schedule_delay{5000};
  std::chrono::milliseconds export_timeout{30000};
};

// Exports each span as it ends, on the ending thread.
std::unique_ptr<SpanProcessor> make_simple_processor(std::unique_ptr<SpanExporter> exporter);

// Queues spans and exports them in batches from one background thread.
// invalid_argument when the options are inconsistent.
Expected<std::unique_ptr<SpanProcessor>> make_batch_processor(
    std::unique_ptr<SpanExporter> exporter, const BatchOptions& options = {});

}  // namespace convtrace
