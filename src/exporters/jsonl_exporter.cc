// The JSON-lines exporter: one span per line, for files that tools like jq,
// grep or a log shipper read directly.
//
// Line format — one self-contained JSON object per span, each part in its
// OTLP/JSON form (see src/otlp/otlp_json.h):
//   {"resource":{"attributes":[…]},"scope":{"name":…,"version":…},"span":{"traceId":…,…}}
// Repeating resource and scope on every line costs bytes but lets any single
// line be understood (and filtered) on its own.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>

#include "common/diagnostics.h"
#include "convtrace/exporter.h"
#include "otlp/otlp_json.h"

namespace convtrace {
namespace {

class JsonlExporter final : public SpanExporter {
 public:
  JsonlExporter(std::FILE* file, bool owned, std::string path)
      : file_(file), owned_(owned), path_(std::move(path)) {}
  ~JsonlExporter() override { shutdown(std::chrono::milliseconds(0)); }

  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    try {
      std::lock_guard<std::mutex> lock(mu_);
      if (!file_) return ExportResult::failure;
      static const Resource kNoResource;
      static const InstrumentationScope kNoScope;
      line_.clear();
      for (const SpanData* span : batch) {
        line_.append("{\"resource\":");
        otlp::append_resource_json(span->resource ? *span->resource : kNoResource, line_);
        line_.append(",\"scope\":");
        otlp::append_scope_json(span->scope ? *span->scope : kNoScope, line_);
        line_.append(",\"span\":");
        otlp::append_span_json(*span, line_);
        line_.append("}\n");
      }
      // One write per batch keeps lines of concurrent writers to the same file whole
      // (O_APPEND) and the exporter cheap.
      if (std::fwrite(line_.data(), 1, line_.size(), file_) != line_.size() ||
          std::fflush(file_) != 0) {
        report_warning("jsonl_write_failed",
                       "cannot write spans to " + path_ + ": " + std::strerror(errno));
        return ExportResult::failure;
      }
      return ExportResult::success;
    } catch (...) {
      return ExportResult::failure;
    }
  }

  bool force_flush(std::chrono::milliseconds) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    return file_ == nullptr || std::fflush(file_) == 0;
  }

  void shutdown(std::chrono::milliseconds) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    if (!file_) return;
    std::fflush(file_);
    if (owned_) std::fclose(file_);
    file_ = nullptr;
  }

 private:
  std::mutex mu_;
  std::FILE* file_;  // guarded by mu_; null after shutdown
  const bool owned_;
  const std::string path_;
  std::string line_;  // guarded by mu_; reused between batches
};

}  // namespace

Expected<std::unique_ptr<SpanExporter>> make_jsonl_exporter(const std::string& path) {
  try {
    if (path.empty()) return Error{Error::invalid_argument, "JSON-lines exporter path is empty"};
    if (path == "-")
      return std::unique_ptr<SpanExporter>(new JsonlExporter(stdout, false, "stdout"));
    std::FILE* f = std::fopen(path.c_str(), "ab");
    if (!f) {
      return Error{Error::io_error,
                   "cannot open " + path + " for appending: " + std::strerror(errno)};
    }
    return std::unique_ptr<SpanExporter>(new JsonlExporter(f, true, path));
  } catch (const std::bad_alloc&) {
    return Error{Error::internal, "out of memory creating the JSON-lines exporter"};
  }
}

}  // namespace convtrace
