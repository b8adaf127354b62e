// The OTLP/HTTP trace receiver behind `convtrace collect`. Private to the
// library and the CLI.
//
// It accepts POST /v1/traces with an ExportTraceServiceRequest in protobuf
// (application/x-protobuf) or JSON (application/json), optionally gzip
// compressed (Content-Encoding: gzip) and optionally chunked, stores the spans
// in a Store, and answers as the OTLP/HTTP specification says: 200 with an
// empty ExportTraceServiceResponse in the request's encoding once the spans are
// committed; 400 with a google.rpc.Status for a body that cannot be decoded;
// 413 above the body limit (compressed or inflated); 415 for other content
// types or encodings; 401 without the bearer token when one is set; 404 for
// other paths, 405 for other methods; 503 when the store cannot take the spans
// (the client retries). A 200 is only ever sent for spans already committed,
// so stopping never loses an acknowledged request.
//
// Spans with a start, end or event time past 2262-04-11T23:47:16.854775807Z
// (the latest the store holds) are not stored and not acknowledged: the
// answer is 200 with an ExportTracePartialSuccess whose rejected_spans counts
// them and whose error_message names the first span and field (OTLP clients
// log it and do not retry those spans), or 400 naming it when no span of the
// request could be stored. Text that is not valid UTF-8 is stored repaired.
//
// Slow or idle clients cannot starve it (see http_server.h): the head and the
// body of a request have overall deadlines, idle kept-alive connections are
// closed, connections are capped in total and per client address, the token
// is checked before any byte of the body is read, and the bodies held at once
// are bounded.
//
// Thread-safety: start/stop/port/stats may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/span_data.h"
#include "convtrace/store.h"
#include "otlp/otlp_proto.h"

namespace convtrace::receiver {

enum class Encoding { protobuf, json };

// Turns a request body into spans; parse_error when it cannot.
using Decoder = std::function<Expected<std::vector<SpanData>>(std::string_view body, Encoding)>;

struct ReceiverOptions {
  std::string host = "127.0.0.1";  // loopback unless told otherwise
  int port = 4318;                 // 0 picks a free port
  std::string token;               // when set, requests need "Authorization: Bearer <token>"
  size_t max_body_bytes = 16 * 1024 * 1024;  // applies to the body as sent and as inflated
  int threads = 4;                           // requests decoded and stored at once
  // What one client can take (http_server.h). A request's head must arrive
  // within header_timeout of the connection (or of its first byte on a
  // kept-alive one), its body within body_timeout after the head.
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};
  std::chrono::milliseconds idle_timeout{15000};  // kept-alive connections idle this long close
  size_t max_connections = 1024;
  size_t max_connections_per_client = 256;  // per client IP address
  // Request bodies held at once, in bytes; 0 means four times max_body_bytes.
  size_t max_buffered_bytes = 0;
};

struct ReceiverStats {
  uint64_t requests = 0;             // POST /v1/traces answered 200
  uint64_t spans = 0;                // spans stored from those requests
  uint64_t rejected = 0;             // requests answered 4xx/5xx
  uint64_t rejected_spans = 0;       // spans refused in 200 answers (partial success)
  uint64_t connections = 0;          // open now
  uint64_t refused_connections = 0;  // turned away at a connection cap
  uint64_t timed_out = 0;            // connections or requests cut at a deadline
};

class Receiver {
 public:
  // Binds and starts serving on background threads. Errors: invalid_argument
  // (bad host), unavailable (the address cannot be bound).
  static Expected<std::unique_ptr<Receiver>> start(ReceiverOptions options, Store* store,
                                                   Decoder decoder);
  ~Receiver();  // stops
  Receiver(const Receiver&) = delete;
  Receiver& operator=(const Receiver&) = delete;

  // The bound port (the chosen one when options.port was 0).
  int port() const;
  // Stops accepting, lets requests being served finish (their spans are
  // committed before they are answered), and joins the threads. Idempotent.
  void stop();
  ReceiverStats stats() const;

  struct Impl;

 private:
  explicit Receiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

#ifdef CONVTRACE_WITH_GRPC
struct GrpcReceiverOptions {
  std::string host = "127.0.0.1";
  int port = 4317;                           // 0 picks a free port
  std::string token;                         // when set, calls need "authorization: Bearer <token>"
  size_t max_body_bytes = 16 * 1024 * 1024;  // the request message, inflated
};

// The OTLP/gRPC trace receiver (TraceService/Export), beside the HTTP one:
// the same decoder and store; OK only for committed spans, INVALID_ARGUMENT
// for an undecodable request, UNAVAILABLE (retryable) when the store cannot
// take it, UNAUTHENTICATED without the token, RESOURCE_EXHAUSTED above the
// size limit, UNIMPLEMENTED for other methods.
class GrpcReceiver {
 public:
  static Expected<std::unique_ptr<GrpcReceiver>> start(GrpcReceiverOptions options, Store* store,
                                                       Decoder decoder);
  ~GrpcReceiver();
  GrpcReceiver(const GrpcReceiver&) = delete;
  GrpcReceiver& operator=(const GrpcReceiver&) = delete;
  int port() const;
  // Stops accepting; calls in progress finish. Idempotent.
  void stop();
  ReceiverStats stats() const;

  struct Impl;

 private:
  explicit GrpcReceiver(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};
#endif

// Compares a presented credential with the expected one in time that depends
// only on their lengths (both listeners check the bearer token with it).
bool constant_time_equal(std::string_view a, std::string_view b);

// Removes from `spans` those with a start, end or event time the store cannot
// hold (after 2262-04-11T23:47:16.854775807Z) and says what was refused, as
// an OTLP partial success: the count, and a message naming the first such span
// and field (also counted as a "time_out_of_range" warning). Both listeners
// answer with it, so such spans are neither stored nor retried.
otlp::PartialSuccess refuse_unstorable(std::vector<SpanData>& spans);

// The OTLP decoder of ExportTraceServiceRequest bodies (protobuf and JSON),
// bounded for bodies of up to `max_body_bytes`.
Decoder otlp_decoder(size_t max_body_bytes);

// Inflates a gzip (or zlib) body. invalid_argument when the inflated size would
// exceed `limit`; parse_error when the data is not gzip or is truncated.
Expected<std::string> inflate_capped(std::string_view compressed, size_t limit);

}  // namespace convtrace::receiver
