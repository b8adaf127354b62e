// What every OTLP exporter shares, whatever it sends (spans, metrics) and
// however (HTTP via libcurl, gRPC): retries within the export timeout, the
// backoff window between failed exports, partial-success handling, counters
// and counted warnings. A Transport makes one attempt; an ExportClient
// decides what to do with its outcome.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>

#include "convtrace/exporter.h"
#include "convtrace/otlp.h"

namespace convtrace::otlp {

using Clock = std::chrono::steady_clock;

enum class Outcome { success, retryable, permanent };

// What became of a request sent with ExportClient::deliver.
enum class DeliverResult {
  delivered,  // accepted (partial-success rejections counted)
  rejected,   // permanently refused, or the client is shut down: counted as failed
  deferred,   // a retryable failure: the caller keeps the request and tries again at retry_at()
};

// The result of one request.
struct Attempt {
  Outcome outcome = Outcome::permanent;
  std::string detail;           // for logs: free of secrets (see scrub below)
  int64_t retry_after_ms = -1;  // the server's requested wait; -1 when absent
  std::string response;         // the success response body (an Export*ServiceResponse)
};

// Sends one request body to one endpoint. Used by one thread at a time,
// except abort(), which any thread may call.
class Transport {
 public:
  virtual ~Transport() = default;
  // Makes one request that ends by `deadline`.
  virtual Attempt send(const std::string& payload, Clock::time_point deadline) = 0;
  // Cuts a request in progress short (shutdown); later sends fail at once.
  virtual void abort() noexcept = 0;
  // fork(): the child must not use the parent's connection.
  virtual void after_fork_child() noexcept {}
};

// Which signal an exporter carries: names its items in logs and its warnings.
struct SignalNames {
  const char* items;             // "spans", "data points"
  const char* failed_category;   // "otlp_export_failed", …
  const char* skipped_category;  // "otlp_export_skipped", …
  const char* partial_category;  // "otlp_partial_success", …
};
extern const SignalNames kTraceSignal;
extern const SignalNames kMetricsSignal;

// Makes text from the network safe to log: no control characters, bounded
// length, and none of `options`' header values even if a server echoes one.
std::string scrub(const OtlpHttpOptions& options, std::string text);

// The endpoint as it may appear in logs (no user info, query or fragment).
std::string loggable_url(const std::string& url);

// Checks the settings every transport shares (timeout, retry policy, headers,
// client certificate pair); the transport checks its endpoint.
Error validate_common(const OtlpHttpOptions& options);

class ExportClient {
 public:
  ExportClient(OtlpHttpOptions options, std::unique_ptr<Transport> transport,
               const SignalNames& names);
  ExportClient(const ExportClient&) = delete;
  ExportClient& operator=(const ExportClient&) = delete;

  // Sends `payload` holding `items` items, retrying as the options say.
  // Called from one thread at a time; never throws.
  ExportResult send(const std::string& payload, uint64_t items) noexcept;
  // Sends a request the caller keeps when it cannot be delivered now (the
  // exporter's backlog and spool, delivery.h): a retryable failure is not
  // counted as failed but deferred, and the backoff window starts or grows
  // as for send(). `kept_where` names where the items wait, for the log.
  DeliverResult deliver(const std::string& payload, uint64_t items,
                        const char* kept_where) noexcept;
  // When the current backoff window ends (a past time when there is none).
  Clock::time_point retry_at() noexcept;
  // Fails `items` at once (an encoding problem, a full backlog) and counts them.
  void fail(uint64_t items, const std::string& why, const char* category = nullptr) noexcept;
  // Stops: a send in progress is cut short, later ones fail. Any thread.
  void shutdown(std::chrono::milliseconds timeout) noexcept;
  void after_fork_child() noexcept;
  bool shut_down() const { return shutdown_.load(); }
  OtlpExporterStats stats() const noexcept;
  const OtlpHttpOptions& options() const { return options_; }

 private:
  DeliverResult send_locked(const std::string& payload, uint64_t items, const char* kept_where);
  void on_success(const std::string& response, uint64_t items);
  std::chrono::milliseconds backoff(int retries_so_far);
  bool sleep_for(std::chrono::milliseconds delay);

  const OtlpHttpOptions options_;
  const SignalNames& names_;
  const std::string url_for_logs_;
  std::unique_ptr<Transport> transport_;

  std::mutex export_mu_;                 // one send at a time; shutdown waits for it
  std::mt19937_64 rng_;                  // guarded by export_mu_
  Clock::time_point blocked_until_{};    // guarded by export_mu_: sends before this fail at once
  std::chrono::milliseconds window_{0};  // guarded by export_mu_: the current backoff window

  std::atomic<bool> shutdown_{false};
  std::mutex wait_mu_;  // pairs with wait_cv_ so shutdown() can cut a retry wait short
  std::condition_variable wait_cv_;

  std::atomic<uint64_t> exported_{0};
  std::atomic<uint64_t> failed_{0};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> skipped_{0};
  std::atomic<uint64_t> partial_rejected_{0};
};

// Makes the transport `options.protocol` names: HTTP (protobuf or JSON) via
// libcurl, or gRPC in builds with it (else invalid_argument). `path` is the
// gRPC method ("/opentelemetry.proto.collector.trace.v1.TraceService/Export").
Expected<std::unique_ptr<Transport>> make_transport(const OtlpHttpOptions& options,
                                                    const std::string& grpc_method);

Expected<std::unique_ptr<Transport>> make_http_transport(const OtlpHttpOptions& options);
#ifdef CONVTRACE_WITH_GRPC
Expected<std::unique_ptr<Transport>> make_grpc_transport(const OtlpHttpOptions& options,
                                                         const std::string& method);
#endif

inline constexpr const char* kTraceExportMethod =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";
inline constexpr const char* kMetricsExportMethod =
    "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";

}  // namespace convtrace::otlp
