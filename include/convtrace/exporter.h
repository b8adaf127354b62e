// Span exporters: where finished spans go.
//
// An exporter receives batches of finished spans from a processor. Processors
// call `export_batch` from one thread at a time (the batch processor's worker,
// or the caller's thread for the simple processor), so an exporter needs no
// locking of its own for that call. `export_batch` must not throw; failures are
// reported through the result and counted by the processor.
//
// Built-in exporters are created with the factories below; the OTLP/HTTP and
// SQLite exporters have their own headers (otlp.h, store.h).
#pragma once

#include <chrono>
#include <cstdio>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/span_data.h"

namespace convtrace {

enum class ExportResult { success, failure };

class SpanExporter {
 public:
  virtual ~SpanExporter() = default;
  // Sends the spans. Called from one thread at a time; must not throw. The
  // spans are valid for the call only (the SDK rewrites their records for
  // later spans): copy what must outlive it.
  virtual ExportResult export_batch(const SpanBatch& batch) noexcept = 0;
  // Flushes anything the exporter buffers itself. May be called from any
  // thread, while export_batch runs on another. Default: nothing to do.
  virtual bool force_flush(std::chrono::milliseconds /*timeout*/) noexcept { return true; }
  // Releases resources; later export_batch calls fail. Default: nothing to do.
  virtual void shutdown(std::chrono::milliseconds /*timeout*/) noexcept {}
  // True when export_batch never waits — no I/O or lock on the calling
  // thread, only CPU work bounded by the batch (the OTLP exporter with
  // background delivery encodes and hands the request to its sender). The
  // batch processor then lets an application thread that finds the queue
  // full export one batch itself rather than drop spans while its worker
  // waits for a core. Default false.
  virtual bool never_blocks() const noexcept { return false; }
};

// Keeps copies of every exported span in memory. Thread-safe; meant for tests.
class InMemoryExporter : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch& batch) noexcept override;
  // A copy of everything exported so far, in export order.
  std::vector<SpanData> spans() const;
  // Forgets everything exported so far.
  void clear();

 private:
  mutable std::mutex mu_;
  std::vector<SpanData> spans_;  // guarded by mu_
};

// Prints spans in a readable multi-line form, GenAI attributes first.
// `out` defaults to stdout; it is not closed.
std::unique_ptr<SpanExporter> make_console_exporter(std::FILE* out = nullptr);

// Appends one OTLP-JSON-shaped span object per line to `path` ("-" = stdout).
// Each line is {"resource":{…},"scope":{…},"span":{…}}, every part in its
// OTLP/JSON form, so a line can be read on its own. Returns Error::io_error
// when the file cannot be opened for appending.
Expected<std::unique_ptr<SpanExporter>> make_jsonl_exporter(const std::string& path);

}  // namespace convtrace
