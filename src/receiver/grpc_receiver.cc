// The OTLP/gRPC listener of `convtrace collect` (built with
// -DCONVTRACE_WITH_GRPC=ON): TraceService/Export through gRPC's generic
// callback service, so the request bytes reach the same decoder and the same
// store as the HTTP receiver's, and the reply is OK only once the spans are
// committed.
#include <grpcpp/generic/async_generic_service.h>
#include <grpcpp/grpcpp.h>

#include <atomic>

#include "common/diagnostics.h"
#include "receiver/receiver.h"

namespace convtrace::receiver {
namespace {

constexpr const char* kTraceExport = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

}  // namespace

struct GrpcReceiver::Impl : public grpc::CallbackGenericService {
  GrpcReceiverOptions options;
  Store* store = nullptr;
  Decoder decoder;
  std::unique_ptr<grpc::Server> server;
  int port = 0;
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> requests{0}, spans{0}, rejected{0}, rejected_spans{0};

  // One Export call: read the request message, store it, answer.
  class Call : public grpc::ServerGenericBidiReactor {
   public:
    Call(Impl* impl, grpc::GenericCallbackServerContext* context) : impl_(impl), context_(context) {
      if (context->method() != kTraceExport) {
        reject(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                            "only " + std::string(kTraceExport) + " is served"));
        return;
      }
      if (!impl->options.token.empty()) {
        auto found = context->client_metadata().find("authorization");
        std::string_view given;
        if (found != context->client_metadata().end()) {
          given = std::string_view(found->second.data(), found->second.size());
        }
        if (!constant_time_equal(given, "Bearer " + impl->options.token)) {
          reject(
              grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "a valid bearer token is required"));
          return;
        }
      }
      StartRead(&request_);
    }

    void OnReadDone(bool ok) override {
      if (!ok) {
        reject(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, "no request message"));
        return;
      }
      std::string body;
      std::vector<grpc::Slice> slices;
      if (request_.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) {
          body.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
      auto decoded = impl_->decoder(body, Encoding::protobuf);
      if (!decoded) {
        reject(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, decoded.error().message));
        return;
      }
      // Spans the store cannot hold are refused by name, the rest stored.
      otlp::PartialSuccess partial = refuse_unstorable(*decoded);
      if (partial.rejected_spans > 0 && decoded->empty()) {
        reject(grpc::Status(grpc::StatusCode::INVALID_ARGUMENT, partial.error_message));
        return;
      }
      if (Error e = impl_->store->insert(*decoded)) {
        // Not acknowledged: UNAVAILABLE is retryable, so the client keeps the spans.
        report_warning("collect_store_failed", "cannot store received spans: " + e.message);
        reject(grpc::Status(grpc::StatusCode::UNAVAILABLE, "the store is busy; retry later"));
        return;
      }
      ++impl_->requests;
      impl_->spans += decoded->size();
      impl_->rejected_spans += static_cast<uint64_t>(partial.rejected_spans);
      // An ExportTraceServiceResponse: empty when every span was accepted.
      std::string reply = otlp::encode_trace_response(partial);
      grpc::Slice slice(reply.data(), reply.size());
      response_ = grpc::ByteBuffer(&slice, 1);
      StartWriteAndFinish(&response_, grpc::WriteOptions(), grpc::Status::OK);
    }

    void OnDone() override { delete this; }

   private:
    void reject(const grpc::Status& status) {
      ++impl_->rejected;
      Finish(status);
    }

    Impl* impl_;
    grpc::GenericCallbackServerContext* context_;
    grpc::ByteBuffer request_;
    grpc::ByteBuffer response_;
  };

  grpc::ServerGenericBidiReactor* CreateReactor(
      grpc::GenericCallbackServerContext* context) override {
    return new Call(this, context);
  }
};

GrpcReceiver::GrpcReceiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

GrpcReceiver::~GrpcReceiver() { stop(); }

Expected<std::unique_ptr<GrpcReceiver>> GrpcReceiver::start(GrpcReceiverOptions options,
                                                            Store* store, Decoder decoder) {
  if (!store || !decoder) {
    return Error{Error::invalid_argument, "receiver needs a store and a decoder"};
  }
  if (options.port < 0 || options.port > 65535) {
    return Error{Error::invalid_argument, "port must be 0..65535"};
  }
  try {
    auto impl = std::make_unique<Impl>();
    impl->options = options;
    impl->store = store;
    impl->decoder = std::move(decoder);
    std::string host =
        options.host.find(':') != std::string::npos ? "[" + options.host + "]" : options.host;
    grpc::ServerBuilder builder;
    builder.AddListeningPort(host + ":" + std::to_string(options.port),
                             grpc::InsecureServerCredentials(), &impl->port);
    builder.RegisterCallbackGenericService(impl.get());
    // Applies to the message as inflated, whatever grpc-encoding it came in.
    builder.SetMaxReceiveMessageSize(static_cast<int>(options.max_body_bytes));
    impl->server = builder.BuildAndStart();
    if (!impl->server || impl->port <= 0) {
      return Error{Error::unavailable, "cannot listen for OTLP/gRPC on " + host + ":" +
                                           std::to_string(options.port) +
                                           " (address in use or not local)"};
    }
    return std::unique_ptr<GrpcReceiver>(new GrpcReceiver(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

int GrpcReceiver::port() const { return impl_->port; }

void GrpcReceiver::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  // Calls in progress finish (each answers only after its spans are
  // committed); after the deadline the rest are cancelled, unanswered.
  impl_->server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(10));
  impl_->server->Wait();
}

ReceiverStats GrpcReceiver::stats() const {
  ReceiverStats out;
  out.requests = impl_->requests.load();
  out.spans = impl_->spans.load();
  out.rejected = impl_->rejected.load();
  out.rejected_spans = impl_->rejected_spans.load();
  return out;
}

}  // namespace convtrace::receiver
