// The counters every processor keeps, updated lock-free from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include "common/striped_counter.h"
#include "convtrace/processor.h"

namespace convtrace {

struct ProcessorCounters {
  StripedCounter ended;  // bumped by every application thread
  // Bumped by the export thread, or on the rare drop; kept off the line of `ended`.
  alignas(64) std::atomic<uint64_t> exported{0};
  std::atomic<uint64_t> dropped{0}, export_failures{0}, failed_spans{0};

  // Counts one export call of `spans` spans.
  void count_export(bool ok, uint64_t spans) noexcept {
    if (ok) {
      exported.fetch_add(spans, std::memory_order_relaxed);
    } else {
      export_failures.fetch_add(1, std::memory_order_relaxed);
      failed_spans.fetch_add(spans, std::memory_order_relaxed);
    }
  }

  ProcessorStats snapshot() const noexcept {
    ProcessorStats s;
    s.ended = ended.load();
    s.exported = exported.load(std::memory_order_relaxed);
    s.dropped = dropped.load(std::memory_order_relaxed);
    s.export_failures = export_failures.load(std::memory_order_relaxed);
    s.failed_spans = failed_spans.load(std::memory_order_relaxed);
    return s;
  }
};

}  // namespace convtrace
