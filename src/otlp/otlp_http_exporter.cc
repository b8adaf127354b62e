// The OTLP span exporter: encodes a batch (protobuf or OTLP/JSON) and hands
// it to the export client shared with the metrics exporter.
#include "common/fork_safety.h"
#include "convtrace/otlp.h"
#include "otlp/export_client.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"

namespace convtrace {
namespace {

class OtlpHttpExporter final : public SpanExporter, private ForkAware {
 public:
  OtlpHttpExporter(OtlpHttpOptions options, std::unique_ptr<otlp::Transport> transport)
      : client_(std::move(options), std::move(transport), otlp::kTraceSignal) {
    register_fork_aware(this);
  }
  ~OtlpHttpExporter() override { unregister_fork_aware(this); }

  void prepare_fork() noexcept override {}
  void after_fork_parent() noexcept override {}
  void after_fork_child() noexcept override {
    new (&encode_mu_) std::mutex();
    client_.after_fork_child();
  }

  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    if (batch.empty()) return ExportResult::success;
    if (client_.shut_down()) return client_.send(body_, batch.size());  // counts the failure
    try {
      std::lock_guard<std::mutex> lock(encode_mu_);
      if (client_.options().protocol == OtlpHttpOptions::Protocol::http_json) {
        json_encoder_.encode(batch, body_);
      } else {
        proto_encoder_.encode(batch, body_);
      }
      return client_.send(body_, batch.size());
    } catch (...) {
      client_.fail(batch.size(), "OTLP span encoding failed");
      return ExportResult::failure;
    }
  }

  void shutdown(std::chrono::milliseconds timeout) noexcept override { client_.shutdown(timeout); }

  OtlpExporterStats stats() const noexcept { return client_.stats(); }

 private:
  otlp::ExportClient client_;
  std::mutex encode_mu_;  // export_batch is called from one thread at a time; this keeps it so
  otlp::TraceRequestEncoder proto_encoder_;     // guarded by encode_mu_
  otlp::TraceRequestJsonEncoder json_encoder_;  // guarded by encode_mu_
  std::string body_;                            // guarded by encode_mu_
};

}  // namespace

Expected<std::unique_ptr<SpanExporter>> make_otlp_http_exporter(OtlpHttpOptions options) {
  try {
    if (Error e = otlp::validate_common(options)) return e;
    auto transport = otlp::make_transport(options, otlp::kTraceExportMethod);
    if (!transport) return transport.error();
    return std::unique_ptr<SpanExporter>(
        new OtlpHttpExporter(std::move(options), std::move(*transport)));
  } catch (const std::bad_alloc&) {
    return Error{Error::internal, "out of memory creating the OTLP exporter"};
  }
}

std::optional<OtlpExporterStats> otlp_exporter_stats(const SpanExporter& exporter) noexcept {
  if (auto* otlp = dynamic_cast<const OtlpHttpExporter*>(&exporter)) return otlp->stats();
  return std::nullopt;
}

}  // namespace convtrace
