// The OTLP/HTTP span exporter: sends spans to an OpenTelemetry Collector or
// any OTLP/HTTP endpoint, as protobuf (the default) or OTLP/JSON.
//
// Create one with make_otlp_http_exporter() and hand it to a span processor.
// The exporter owns one HTTP connection (reused across exports), retries
// transient failures within the export timeout, and — when the endpoint is
// down — stops connecting for a growing backoff window instead of trying once
// per batch. Problems are reported as counted, rate-limited warnings
// (diagnostics.h), never as one log line per batch or span. Header values
// (API keys) are never logged.
//
// Background delivery (the default): export_batch encodes the batch and
// hands the request to a sender thread of the exporter's own, so the
// processor's worker never waits for the network and keeps draining the
// span queue during slow requests, retries and outages. Requests wait in a
// bounded in-memory backlog (max_pending_bytes), oldest first; one that
// fails for a retryable reason stays at the head and is tried again when the
// backoff window ends, so a short outage loses nothing. When the backlog is
// full, export_batch fails at once and its spans are counted as failed —
// unless a disk spool is configured (OtlpSpoolOptions): then the backlog
// moves to the spool and every later request goes there, in order, until the
// endpoint is back and the spool is sent; spans are dropped only when the
// spool is full. force_flush returns once nothing handed over is held only
// in memory (everything is delivered, given up, or in the spool).
//
// Delivery guarantee with a spool: at least once, in order. A request is
// marked delivered in the spool right after the endpoint acknowledges it, so
// after a crash or kill at most the requests in flight at that moment are
// sent again; receivers that are idempotent on (trace id, span id) — as the
// `convtrace collect` store is — then keep each span exactly once.
//
// Thread-safety: export_batch is called from one thread at a time (see
// exporter.h); shutdown and otlp_exporter_stats may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/exporter.h"

namespace convtrace {

// The OTLP exporter's disk spool for outages (see above). Off unless a
// directory is given.
struct OtlpSpoolOptions {
  // Directory of the spool (created when missing). Several processes may
  // share one: each claims a lane of its own (lane-0, lane-1, …), and a lane
  // left by a process that died is sent by the next process that claims it.
  // CONVTRACE_OTLP_SPOOL_DIR (also Config::otlp_spool_dir). Default empty: no spool.
  std::string directory;
  // Upper bound on the segment files of this process's lane; requests that
  // would pass it are dropped and counted. CONVTRACE_OTLP_SPOOL_MAX_MB (also
  // Config::otlp_spool_max_mb). Default 1024 MiB: about 65 s of an outage
  // at 50k spans/s of 8-attribute spans (about 320 bytes each as protobuf).
  uint64_t max_bytes = uint64_t{1024} << 20;
};

// Settings of the OTLP/HTTP exporter. Every field has a usable default; the
// configuration module fills them from the OTEL_EXPORTER_OTLP_* variables
// named on each field (the TRACES_-specific variable wins over the generic one).
struct OtlpHttpOptions {
  enum class Protocol {
    http_protobuf,  // "http/protobuf": Content-Type application/x-protobuf
    http_json,      // "http/json": Content-Type application/json (OTLP/JSON)
    // "grpc": OTLP/gRPC, in builds configured with -DCONVTRACE_WITH_GRPC=ON
    // (elsewhere make_otlp_http_exporter refuses it). The endpoint is then
    // http://host:port (plaintext) or https://host:port (TLS, verified with
    // certificate_file or the system roots; client certificate for mutual
    // TLS); headers travel as gRPC metadata (names lower-cased); gzip selects
    // gRPC's gzip message compression; the retryable gRPC codes (CANCELLED,
    // DEADLINE_EXCEEDED, ABORTED, OUT_OF_RANGE, UNAVAILABLE, DATA_LOSS, and
    // RESOURCE_EXHAUSTED when the server sends RetryInfo) are retried like
    // HTTP 429/502/503/504, waiting RetryInfo's delay when there is one.
    grpc,
  };

  // Full URL spans are POSTed to; http:// or https:// only. The exporter does
  // not append a path.
  // OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (used as is), or OTEL_EXPORTER_OTLP_ENDPOINT
  // with "/v1/traces" appended by the configuration module.
  std::string endpoint = "http://localhost:4318/v1/traces";

  // Wire encoding. OTEL_EXPORTER_OTLP_TRACES_PROTOCOL / OTEL_EXPORTER_OTLP_PROTOCOL
  // ("http/protobuf", "http/json", or "grpc" in builds with gRPC; elsewhere
  // "grpc" is a warning and http/protobuf is used). Default http/protobuf.
  Protocol protocol = Protocol::http_protobuf;

  // Extra request headers, e.g. {"authorization", "Bearer …"}. Names must be
  // HTTP tokens and values must not contain CR, LF or NUL. Values are secret:
  // they are never logged or put in error messages.
  // OTEL_EXPORTER_OTLP_TRACES_HEADERS / OTEL_EXPORTER_OTLP_HEADERS
  // ("k1=v1,k2=v2", URL-decoded values). Default none.
  std::vector<std::pair<std::string, std::string>> headers;

  // Upper bound on one export_batch call, retries and waits included.
  // OTEL_EXPORTER_OTLP_TRACES_TIMEOUT / OTEL_EXPORTER_OTLP_TIMEOUT (milliseconds).
  // Default 10 s. Must be positive.
  std::chrono::milliseconds timeout{10000};

  // Compress request bodies with gzip (Content-Encoding: gzip).
  // OTEL_EXPORTER_OTLP_TRACES_COMPRESSION / OTEL_EXPORTER_OTLP_COMPRESSION
  // ("gzip" or "none"). Default none.
  bool gzip = false;

  // PEM file of CA certificates to verify the server with; empty uses the
  // system store. OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE / OTEL_EXPORTER_OTLP_CERTIFICATE.
  std::string certificate_file;
  // PEM client certificate and private key for mutual TLS; both or neither.
  // OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE / OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE,
  // OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY / OTEL_EXPORTER_OTLP_CLIENT_KEY.
  std::string client_certificate_file;
  std::string client_key_file;

  // Retry policy (no OTEL_* variables). A retryable failure — HTTP 429, 502,
  // 503, 504, or a connection error — is retried after
  // retry_initial_backoff × 2^n (n = retries so far, capped at
  // retry_max_backoff, randomized by ±20% jitter), or after the server's
  // Retry-After when it sends one, as long as the wait ends before the
  // export timeout and at most max_attempts requests are made. Defaults
  // 1 s, 30 s, 5. REQUIRES: 0 < initial <= max, max_attempts >= 1.
  std::chrono::milliseconds retry_initial_backoff{1000};
  std::chrono::milliseconds retry_max_backoff{30000};
  int max_attempts = 5;

  // After an export fails for a retryable reason, later exports fail at once,
  // without connecting, until the backoff window ends. The window starts at
  // retry_initial_backoff, doubles with each further failed export up to
  // retry_max_backoff, is at least as long as a Retry-After the server asked
  // for, and resets after a success. Turning this off makes every export try
  // to connect (tests and single-shot tools only). Default on.
  bool backoff_between_exports = true;

  // User-Agent header; empty means "convtrace/<version>".
  std::string user_agent;

  // Deliver from a sender thread of the exporter's own (see above). Off,
  // export_batch sends on the calling thread and returns once the request
  // succeeded or failed (single-shot tools, tests of the retry policy); a
  // spool needs it on. Default on.
  bool background_delivery = true;
  // Bytes of encoded requests the in-memory backlog holds (background
  // delivery). Default 4 MiB: about 20,000 8-attribute spans.
  size_t max_pending_bytes = size_t{4} << 20;

  // The disk spool (background delivery only). Default: none.
  OtlpSpoolOptions spool;
};

// Counters of one OTLP/HTTP exporter since it was created.
struct OtlpExporterStats {
  uint64_t exported_spans = 0;            // spans the endpoint accepted (minus partial rejections)
  uint64_t failed_spans = 0;              // spans of failed exports, including fast-failed ones
  uint64_t http_requests = 0;             // requests actually sent (attempts, retries included)
  uint64_t retries = 0;                   // requests that were retries of an earlier attempt
  uint64_t skipped_exports = 0;           // exports failed at once inside the backoff window
  uint64_t partial_success_rejected = 0;  // spans the endpoint reported as rejected
  // Background delivery and the spool.
  uint64_t pending_spans = 0;    // now waiting: in the backlog, in flight or in the spool
  uint64_t spooled_spans = 0;    // written to the spool (monotonic)
  uint64_t recovered_spans = 0;  // waiting in the spool when it was opened (an earlier process's)
  uint64_t spool_full_dropped_spans = 0;  // dropped because the spool was full (also failed_spans)
  uint64_t spool_skipped_records = 0;     // damaged or truncated spool records skipped
};

// Creates an OTLP/HTTP exporter. Returns Error::invalid_argument when a setting
// is unusable (empty or non-http(s) endpoint, non-positive timeout, bad retry
// settings, a header name that is not a token or a value with CR/LF/NUL, only
// one of client certificate and key, a spool without background delivery or
// with max_bytes 0), Error::io_error when the spool directory cannot be
// created or every lane of it is held. Never throws.
Expected<std::unique_ptr<SpanExporter>> make_otlp_http_exporter(OtlpHttpOptions options);

// The counters of `exporter` when it was made by make_otlp_http_exporter;
// std::nullopt for any other exporter. Safe to call from any thread.
std::optional<OtlpExporterStats> otlp_exporter_stats(const SpanExporter& exporter) noexcept;

}  // namespace convtrace
