// OTLP/gRPC requests (built with -DCONVTRACE_WITH_GRPC=ON). The request body
// is the same hand-written protobuf the HTTP transport posts, sent through
// gRPC's generic stub: no generated code, one encoder for both transports.
// TLS, metadata and retryable codes as the OTLP specification says.
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <cctype>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <sstream>

#include "otlp/export_client.h"

#ifndef CONVTRACE_VERSION
#define CONVTRACE_VERSION "unknown"
#endif

namespace convtrace::otlp {
namespace {

bool read_file(const std::string& path, std::string* out) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return false;
  std::ostringstream s;
  s << f.rdbuf();
  *out = s.str();
  return true;
}

// A protobuf varint at `p`; false past `end`.
bool varint(const uint8_t*& p, const uint8_t* end, uint64_t* v) {
  *v = 0;
  for (int shift = 0; shift < 64 && p < end; shift += 7) {
    uint8_t b = *p++;
    *v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return true;
  }
  return false;
}

// Calls `field(number, bytes)` for each length-delimited field of a message
// (others are skipped); false when the message is malformed.
template <typename F>
bool each_len_field(std::string_view m, F field) {
  const uint8_t* p = reinterpret_cast<const uint8_t*>(m.data());
  const uint8_t* end = p + m.size();
  while (p < end) {
    uint64_t tag, v;
    if (!varint(p, end, &tag)) return false;
    switch (tag & 7) {
      case 0:
        if (!varint(p, end, &v)) return false;
        field(tag >> 3, std::string_view(), v);
        break;
      case 1:
        if (end - p < 8) return false;
        p += 8;
        break;
      case 5:
        if (end - p < 4) return false;
        p += 4;
        break;
      case 2:
        if (!varint(p, end, &v) || v > static_cast<uint64_t>(end - p)) return false;
        field(tag >> 3, std::string_view(reinterpret_cast<const char*>(p), v), 0);
        p += v;
        break;
      default:
        return false;
    }
  }
  return true;
}

// The retry delay of a google.rpc.RetryInfo among the details of the
// google.rpc.Status `details` (status.error_details()), in milliseconds; -1 when absent.
int64_t retry_info_delay_ms(const std::string& details) {
  int64_t delay = -1;
  each_len_field(details, [&](uint64_t field, std::string_view any, uint64_t) {
    if (field != 3) return;  // Status.details: repeated google.protobuf.Any
    std::string_view type_url, value;
    each_len_field(any, [&](uint64_t f, std::string_view bytes, uint64_t) {
      if (f == 1) type_url = bytes;
      if (f == 2) value = bytes;
    });
    constexpr std::string_view kRetryInfo = "google.rpc.RetryInfo";
    if (type_url.size() < kRetryInfo.size() ||
        type_url.substr(type_url.size() - kRetryInfo.size()) != kRetryInfo) {
      return;
    }
    // RetryInfo { Duration retry_delay = 1; }  Duration { int64 seconds = 1; int32 nanos = 2; }
    each_len_field(value, [&](uint64_t f, std::string_view duration, uint64_t) {
      if (f != 1) return;
      int64_t seconds = 0, nanos = 0;
      each_len_field(duration, [&](uint64_t g, std::string_view, uint64_t v) {
        if (g == 1) seconds = static_cast<int64_t>(v);
        if (g == 2) nanos = static_cast<int64_t>(v);
      });
      seconds = std::clamp<int64_t>(seconds, 0, 86400);
      delay = seconds * 1000 + std::clamp<int64_t>(nanos, 0, 999999999) / 1000000;
    });
  });
  return delay;
}

class GrpcTransport final : public Transport {
 public:
  GrpcTransport(const OtlpHttpOptions& options, std::string method)
      : options_(options), method_(std::move(method)) {}

  Error init() {
    const std::string& url = options_.endpoint;
    const bool tls = url.rfind("https://", 0) == 0;
    if (!tls && url.rfind("http://", 0) != 0) {
      return Error{Error::invalid_argument,
                   "OTLP/gRPC endpoint must start with http:// (plaintext) or https:// (TLS): " +
                       loggable_url(url)};
    }
    std::string target = url.substr(url.find("://") + 3);
    target = target.substr(0, target.find('/'));  // host:port; a path has no meaning in gRPC
    if (target.empty() || target.find_first_of(" \t\r\n@") != std::string::npos) {
      return Error{Error::invalid_argument,
                   "OTLP/gRPC endpoint has no host:port: " + loggable_url(url)};
    }
    std::shared_ptr<grpc::ChannelCredentials> credentials;
    if (tls) {
      grpc::SslCredentialsOptions ssl;
      if (!options_.certificate_file.empty() &&
          !read_file(options_.certificate_file, &ssl.pem_root_certs)) {
        return Error{Error::io_error,
                     "cannot read OTLP certificate file " + options_.certificate_file};
      }
      if (!options_.client_certificate_file.empty()) {
        if (!read_file(options_.client_certificate_file, &ssl.pem_cert_chain) ||
            !read_file(options_.client_key_file, &ssl.pem_private_key)) {
          return Error{Error::io_error, "cannot read the OTLP client certificate or key"};
        }
      }
      credentials = grpc::SslCredentials(ssl);
    } else {
      credentials = grpc::InsecureChannelCredentials();
    }
    grpc::ChannelArguments args;
    args.SetUserAgentPrefix(options_.user_agent.empty()
                                ? std::string("convtrace/") + CONVTRACE_VERSION
                                : options_.user_agent);
    if (options_.gzip) args.SetCompressionAlgorithm(GRPC_COMPRESS_GZIP);
    // Unbounded answers are refused (we only read partial successes).
    args.SetMaxReceiveMessageSize(64 * 1024);
    channel_ = grpc::CreateCustomChannel(target, credentials, args);
    if (!channel_) return Error{Error::internal, "could not create a gRPC channel"};
    stub_ = std::make_unique<grpc::GenericStub>(channel_);
    // gRPC metadata keys are lower case.
    for (const auto& [name, value] : options_.headers) {
      std::string key = name;
      for (char& c : key) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      metadata_.emplace_back(std::move(key), value);
    }
    return {};
  }

  Attempt send(const std::string& payload, Clock::time_point deadline) override {
    Attempt a;
    grpc::ClientContext context;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (aborted_) {
        a.detail = "exporter shut down";
        return a;
      }
      call_ = &context;
    }
    context.set_deadline(
        std::chrono::system_clock::now() +
        std::chrono::duration_cast<std::chrono::system_clock::duration>(deadline - Clock::now()));
    for (const auto& [key, value] : metadata_) context.AddMetadata(key, value);
    grpc::Slice slice(payload.data(), payload.size());
    grpc::ByteBuffer request(&slice, 1);
    grpc::ByteBuffer response;
    grpc::Status status;
    bool done = false;
    std::mutex done_mu;
    std::condition_variable done_cv;
    stub_->UnaryCall(&context, method_, grpc::StubOptions(), &request, &response,
                     [&](grpc::Status s) {
                       std::lock_guard<std::mutex> lock(done_mu);
                       status = std::move(s);
                       done = true;
                       done_cv.notify_one();
                     });
    {
      // The deadline set on the context ends the call; this wait is only as
      // long as the call.
      std::unique_lock<std::mutex> lock(done_mu);
      done_cv.wait(lock, [&] { return done; });
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      call_ = nullptr;
    }
    if (status.ok()) {
      a.outcome = Outcome::success;
      std::vector<grpc::Slice> slices;
      if (response.Dump(&slices).ok()) {
        for (const grpc::Slice& s : slices) {
          a.response.append(reinterpret_cast<const char*>(s.begin()), s.size());
        }
      }
      return a;
    }
    a.detail = "gRPC status " + std::to_string(status.error_code());
    if (!status.error_message().empty()) {
      a.detail += ": " + scrub(options_, status.error_message());
    }
    a.retry_after_ms = retry_info_delay_ms(status.error_details());
    switch (status.error_code()) {
      case grpc::StatusCode::CANCELLED:
        a.outcome = aborted() ? Outcome::permanent : Outcome::retryable;
        break;
      case grpc::StatusCode::DEADLINE_EXCEEDED:
      case grpc::StatusCode::ABORTED:
      case grpc::StatusCode::OUT_OF_RANGE:
      case grpc::StatusCode::UNAVAILABLE:
      case grpc::StatusCode::DATA_LOSS:
        a.outcome = Outcome::retryable;
        break;
      case grpc::StatusCode::RESOURCE_EXHAUSTED:
        // Retryable only when the server says when (OTLP specification).
        a.outcome = a.retry_after_ms >= 0 ? Outcome::retryable : Outcome::permanent;
        break;
      default:
        a.outcome = Outcome::permanent;
    }
    return a;
  }

  void abort() noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    aborted_ = true;
    if (call_) call_->TryCancel();
  }

  // gRPC's threads and connections do not survive fork(): the child's
  // exports fail (and are counted) instead of hanging.
  void after_fork_child() noexcept override {
    new (&mu_) std::mutex();
    aborted_ = true;
    call_ = nullptr;
  }

 private:
  bool aborted() {
    std::lock_guard<std::mutex> lock(mu_);
    return aborted_;
  }

  const OtlpHttpOptions options_;
  const std::string method_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<grpc::GenericStub> stub_;
  std::vector<std::pair<std::string, std::string>> metadata_;
  std::mutex mu_;
  bool aborted_ = false;                 // guarded by mu_
  grpc::ClientContext* call_ = nullptr;  // guarded by mu_: the call in progress
};

}  // namespace

Expected<std::unique_ptr<Transport>> make_grpc_transport(const OtlpHttpOptions& options,
                                                         const std::string& method) {
  auto transport = std::make_unique<GrpcTransport>(options, method);
  if (Error e = transport->init()) return e;
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace convtrace::otlp
