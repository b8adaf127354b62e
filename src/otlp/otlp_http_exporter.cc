// The OTLP span exporter: encodes a batch (protobuf or OTLP/JSON) and hands
// it to the export client shared with the metrics exporter — on the calling
// thread, or through background delivery (delivery.h) and its spool.
#include "common/fork_safety.h"
#include "convtrace/otlp.h"
#include "otlp/delivery.h"
#include "otlp/export_client.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"

namespace convtrace {
namespace {

class OtlpHttpExporter final : public SpanExporter, private ForkAware {
 public:
  OtlpHttpExporter(OtlpHttpOptions options, std::unique_ptr<otlp::Transport> transport,
                   std::unique_ptr<otlp::Spool> spool)
      : client_(std::move(options), std::move(transport), otlp::kTraceSignal) {
    if (client_.options().background_delivery) {
      // Protobuf requests that wait together leave together, up to 3 MiB:
      // under gRPC's usual 4 MiB message limit and the 16–20 MiB bodies
      // collectors accept. OTLP/JSON bodies do not concatenate.
      const bool json = client_.options().protocol == OtlpHttpOptions::Protocol::http_json;
      delivery_ = std::make_unique<otlp::Delivery>(client_, client_.options().max_pending_bytes,
                                                   std::move(spool), json ? 0 : size_t{3} << 20);
    }
    register_fork_aware(this, ForkOrder::exporter);
  }
  ~OtlpHttpExporter() override {
    unregister_fork_aware(this);
    delivery_.reset();  // stops the sender before the client goes
  }

  void prepare_fork() noexcept override {
    if (delivery_) delivery_->prepare_fork();
  }
  void after_fork_parent() noexcept override {
    if (delivery_) delivery_->after_fork_parent();
  }
  void after_fork_child() noexcept override {
    new (&encode_mu_) std::mutex();
    client_.after_fork_child();
    if (delivery_) delivery_->after_fork_child();
  }

  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    if (batch.empty()) return ExportResult::success;
    if (client_.shut_down()) return client_.send(body_, batch.size());  // counts the failure
    try {
      std::lock_guard<std::mutex> lock(encode_mu_);
      // Queued requests own their bytes: each is encoded into a buffer of its own.
      std::string queued;
      std::string& body = delivery_ ? (queued = delivery_->take_buffer()) : body_;
      if (client_.options().protocol == OtlpHttpOptions::Protocol::http_json) {
        json_encoder_.encode(batch, body);
      } else {
        proto_encoder_.encode(batch, body);
      }
      if (delivery_) {
        return delivery_->submit(std::move(queued), static_cast<uint32_t>(batch.size()))
                   ? ExportResult::success
                   : ExportResult::failure;
      }
      return client_.send(body_, batch.size());
    } catch (...) {
      client_.fail(batch.size(), "OTLP span encoding failed");
      return ExportResult::failure;
    }
  }

  bool force_flush(std::chrono::milliseconds timeout) noexcept override {
    return delivery_ ? delivery_->flush(timeout) : true;
  }

  // Encoding and handing over only. Not with a spool: its appends are file
  // writes, under a lock the sender holds while it reads the spool.
  bool never_blocks() const noexcept override {
    return delivery_ != nullptr && client_.options().spool.directory.empty();
  }

  void shutdown(std::chrono::milliseconds timeout) noexcept override {
    if (delivery_) {
      delivery_->shutdown(timeout);  // shuts the client down too
    } else {
      client_.shutdown(timeout);
    }
  }

  OtlpExporterStats stats() const noexcept {
    OtlpExporterStats s = client_.stats();
    if (delivery_) delivery_->add_stats(&s);
    return s;
  }

 private:
  otlp::ExportClient client_;
  std::unique_ptr<otlp::Delivery> delivery_;  // null without background delivery
  std::mutex encode_mu_;  // export_batch is called from one thread at a time; this keeps it so
  otlp::TraceRequestEncoder proto_encoder_;     // guarded by encode_mu_
  otlp::TraceRequestJsonEncoder json_encoder_;  // guarded by encode_mu_
  std::string body_;                            // guarded by encode_mu_
};

}  // namespace

Expected<std::unique_ptr<SpanExporter>> make_otlp_http_exporter(OtlpHttpOptions options) {
  try {
    if (Error e = otlp::validate_common(options)) return e;
    std::unique_ptr<otlp::Spool> spool;
    if (!options.spool.directory.empty()) {
      if (!options.background_delivery) {
        return Error{Error::invalid_argument,
                     "OTLP spool needs background delivery (background_delivery = true)"};
      }
      if (options.spool.max_bytes == 0) {
        return Error{Error::invalid_argument, "OTLP spool max size must be positive"};
      }
    }
    if (options.background_delivery && options.max_pending_bytes == 0) {
      return Error{Error::invalid_argument, "OTLP max_pending_bytes must be positive"};
    }
    auto transport = otlp::make_transport(options, otlp::kTraceExportMethod);
    if (!transport) return transport.error();
    if (!options.spool.directory.empty()) {
      auto opened = otlp::Spool::open(options.spool.directory, options.spool.max_bytes,
                                      options.protocol == OtlpHttpOptions::Protocol::http_json
                                          ? otlp::SpoolEncoding::json
                                          : otlp::SpoolEncoding::protobuf);
      if (!opened) return opened.error();
      spool = std::move(*opened);
    }
    return std::unique_ptr<SpanExporter>(
        new OtlpHttpExporter(std::move(options), std::move(*transport), std::move(spool)));
  } catch (const std::bad_alloc&) {
    return Error{Error::internal, "out of memory creating the OTLP exporter"};
  }
}

std::optional<OtlpExporterStats> otlp_exporter_stats(const SpanExporter& exporter) noexcept {
  if (auto* otlp = dynamic_cast<const OtlpHttpExporter*>(&exporter)) return otlp->stats();
  return std::nullopt;
}

}  // namespace convtrace
