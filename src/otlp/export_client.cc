#include "otlp/export_client.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <thread>

#include "common/diagnostics.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"

namespace convtrace::otlp {

using std::chrono::milliseconds;

const SignalNames kTraceSignal{"spans", "otlp_export_failed", "otlp_export_skipped",
                               "otlp_partial_success"};
const SignalNames kMetricsSignal{"data points", "otlp_metrics_export_failed",
                                 "otlp_metrics_export_skipped", "otlp_metrics_partial_success"};

std::string loggable_url(const std::string& url) {
  size_t scheme_end = url.find("://");
  if (scheme_end == std::string::npos) return "<invalid url>";
  size_t host_begin = scheme_end + 3;
  size_t path_begin = url.find_first_of("/?#", host_begin);
  std::string authority = url.substr(
      host_begin, path_begin == std::string::npos ? std::string::npos : path_begin - host_begin);
  size_t at = authority.rfind('@');
  if (at != std::string::npos) authority = authority.substr(at + 1);
  std::string path;
  if (path_begin != std::string::npos && url[path_begin] == '/') {
    size_t path_end = url.find_first_of("?#", path_begin);
    path = url.substr(path_begin,
                      path_end == std::string::npos ? std::string::npos : path_end - path_begin);
  }
  return url.substr(0, host_begin) + authority + path;
}

std::string scrub(const OtlpHttpOptions& options, std::string text) {
  for (const auto& header : options.headers) {
    const std::string& secret = header.second;
    if (secret.size() < 4) continue;  // too short to scrub without mangling text
    for (size_t pos; (pos = text.find(secret)) != std::string::npos;) {
      text.replace(pos, secret.size(), "[redacted]");
    }
  }
  if (text.size() > 256) text = text.substr(0, 256) + "...";
  for (char& c : text) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) c = ' ';
  }
  return text;
}

namespace {

bool is_token(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == 0) return false;
  }
  return true;
}

}  // namespace

Error validate_common(const OtlpHttpOptions& o) {
  auto invalid = [](std::string message) {
    return Error{Error::invalid_argument, std::move(message)};
  };
  if (o.timeout.count() <= 0) return invalid("OTLP timeout must be positive");
  if (o.retry_initial_backoff.count() <= 0 || o.retry_max_backoff < o.retry_initial_backoff) {
    return invalid("OTLP retry backoff must satisfy 0 < initial <= max");
  }
  if (o.max_attempts < 1) return invalid("OTLP max_attempts must be at least 1");
  for (const auto& [name, value] : o.headers) {
    if (!is_token(name))
      return invalid("OTLP header name is not a valid HTTP token: '" + name + "'");
    // The value is secret: say which header, never what it holds.
    if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      return invalid("OTLP header '" + name + "' has a value containing CR, LF or NUL");
    }
  }
  if (o.client_certificate_file.empty() != o.client_key_file.empty()) {
    return invalid("OTLP client certificate and client key must be given together");
  }
  return {};
}

Expected<std::unique_ptr<Transport>> make_transport(const OtlpHttpOptions& options,
                                                    const std::string& grpc_method) {
  if (options.protocol == OtlpHttpOptions::Protocol::grpc) {
#ifdef CONVTRACE_WITH_GRPC
    return make_grpc_transport(options, grpc_method);
#else
    (void)grpc_method;
    return Error{Error::invalid_argument,
                 "OTLP protocol grpc is not available: this build has no gRPC exporter "
                 "(configure with -DCONVTRACE_WITH_GRPC=ON)"};
#endif
  }
  return make_http_transport(options);
}

ExportClient::ExportClient(OtlpHttpOptions options, std::unique_ptr<Transport> transport,
                           const SignalNames& names)
    : options_(std::move(options)),
      names_(names),
      url_for_logs_(loggable_url(options_.endpoint)),
      transport_(std::move(transport)),
      rng_(std::random_device{}()) {}

ExportResult ExportClient::send(const std::string& payload, uint64_t items) noexcept {
  if (items == 0) return ExportResult::success;
  if (shutdown_.load()) {
    failed_ += items;
    return ExportResult::failure;
  }
  try {
    std::lock_guard<std::mutex> lock(export_mu_);
    return send_locked(payload, items, nullptr) == DeliverResult::delivered ? ExportResult::success
                                                                            : ExportResult::failure;
  } catch (...) {
    failed_ += items;
    return ExportResult::failure;
  }
}

DeliverResult ExportClient::deliver(const std::string& payload, uint64_t items,
                                    const char* kept_where) noexcept {
  if (items == 0) return DeliverResult::delivered;
  if (shutdown_.load()) return DeliverResult::deferred;  // the caller decides what to keep
  try {
    std::lock_guard<std::mutex> lock(export_mu_);
    return send_locked(payload, items, kept_where);
  } catch (...) {
    return DeliverResult::deferred;
  }
}

Clock::time_point ExportClient::retry_at() noexcept {
  std::lock_guard<std::mutex> lock(export_mu_);
  return blocked_until_;
}

void ExportClient::fail(uint64_t items, const std::string& why, const char* category) noexcept {
  failed_ += items;
  report_warning(category ? category : names_.failed_category,
                 why + "; " + std::to_string(items) + " " + names_.items + " dropped");
}

DeliverResult ExportClient::send_locked(const std::string& payload, uint64_t n,
                                        const char* kept_where) {
  const auto start = Clock::now();
  // The caller that keeps its requests waits for the window itself.
  if (kept_where && start < blocked_until_) return DeliverResult::deferred;
  if (options_.backoff_between_exports && start < blocked_until_) {
    // The endpoint failed recently: do not connect again until the window ends.
    ++skipped_;
    failed_ += n;
    report_warning(names_.skipped_category, "OTLP endpoint " + url_for_logs_ +
                                                " is backing off after failures; dropping " +
                                                names_.items + " until it recovers");
    return DeliverResult::rejected;
  }

  const auto deadline = start + options_.timeout;
  Attempt last;
  for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
    if (attempt > 0) ++retries_;
    if (Clock::now() >= deadline) {
      last = Attempt{Outcome::retryable, "export timeout reached", -1, {}};
      break;
    }
    ++requests_;
    last = transport_->send(payload, deadline);
    if (last.outcome == Outcome::success) {
      on_success(last.response, n);
      return DeliverResult::delivered;
    }
    // Shutdown aborted the attempt: that says nothing about the request, so
    // a caller that keeps its requests keeps this one (in the spool, for the
    // next process) instead of counting it as refused.
    if (kept_where && shutdown_.load()) return DeliverResult::deferred;
    if (last.outcome == Outcome::permanent) {
      failed_ += n;
      report_warning(names_.failed_category,
                     "OTLP export to " + url_for_logs_ + " failed: " + last.detail + "; " +
                         std::to_string(n) + " " + names_.items + " dropped (not retryable)");
      return DeliverResult::rejected;
    }
    if (attempt + 1 >= options_.max_attempts) break;
    milliseconds delay =
        last.retry_after_ms >= 0 ? milliseconds(last.retry_after_ms) : backoff(attempt);
    // Retrying only makes sense when the wait ends before the export's deadline.
    if (Clock::now() + delay >= deadline) break;
    if (!sleep_for(delay)) break;  // shut down
  }

  // A caller that keeps its requests always waits between exports: trying
  // the same request again at once would only hammer the endpoint.
  if (options_.backoff_between_exports || kept_where) {
    window_ = window_.count() == 0 ? options_.retry_initial_backoff
                                   : std::min(window_ * 2, options_.retry_max_backoff);
    if (last.retry_after_ms >= 0) window_ = std::max(window_, milliseconds(last.retry_after_ms));
    blocked_until_ = Clock::now() + window_;
  }
  const std::string what = "OTLP export to " + url_for_logs_ + " failed: " + last.detail + "; " +
                           std::to_string(n) + " " + names_.items;
  const std::string next = "; next attempt in " + std::to_string(window_.count()) + " ms";
  if (kept_where) {
    report_warning(names_.failed_category, what + " kept in the " + kept_where + next);
    return DeliverResult::deferred;
  }
  failed_ += n;
  report_warning(names_.failed_category, what + " dropped" + next);
  return DeliverResult::rejected;
}

void ExportClient::on_success(const std::string& response, uint64_t n) {
  window_ = milliseconds(0);
  blocked_until_ = Clock::time_point();
  // Both signals' responses share the field numbers (and, in JSON, the
  // decoder reads rejectedSpans and rejectedDataPoints alike).
  const bool json = options_.protocol == OtlpHttpOptions::Protocol::http_json;
  auto partial = json ? decode_trace_response_json(response) : decode_trace_response(response);
  uint64_t rejected = 0;
  if (!partial) {
    // The items were accepted (2xx / OK); only the acknowledgement is unreadable.
    report_warning("otlp_bad_response",
                   "OTLP endpoint " + url_for_logs_ + " sent an unreadable success response");
  } else if (partial->rejected_spans > 0 || !partial->error_message.empty()) {
    rejected =
        std::min<uint64_t>(static_cast<uint64_t>(std::max<int64_t>(partial->rejected_spans, 0)), n);
    partial_rejected_ += rejected;
    report_warning(names_.partial_category, "OTLP endpoint " + url_for_logs_ + " rejected " +
                                                std::to_string(rejected) + " of " +
                                                std::to_string(n) + " " + names_.items + ": " +
                                                scrub(options_, partial->error_message));
  }
  exported_ += n - rejected;
}

milliseconds ExportClient::backoff(int retries_so_far) {
  double base = static_cast<double>(options_.retry_initial_backoff.count());
  double cap = static_cast<double>(options_.retry_max_backoff.count());
  double delay = std::min(cap, base * static_cast<double>(1ull << std::min(retries_so_far, 30)));
  // Jitter spreads the retries of many processes that failed at the same moment.
  std::uniform_real_distribution<double> jitter(0.8, 1.2);
  return milliseconds(static_cast<int64_t>(std::min(cap, delay * jitter(rng_))));
}

bool ExportClient::sleep_for(milliseconds delay) {
  std::unique_lock<std::mutex> lock(wait_mu_);
  return !wait_cv_.wait_for(lock, delay, [this] { return shutdown_.load(); });
}

void ExportClient::shutdown(milliseconds timeout) noexcept {
  {
    std::lock_guard<std::mutex> lock(wait_mu_);
    shutdown_.store(true);
  }
  wait_cv_.notify_all();
  transport_->abort();
  // Give an export in flight the chance to finish; the transport aborts its
  // request, so this is short.
  std::unique_lock<std::mutex> lock(export_mu_, std::defer_lock);
  auto deadline = Clock::now() + timeout;
  while (!lock.try_lock() && Clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
}

void ExportClient::after_fork_child() noexcept {
  // An export may have been in flight on a parent thread the child does not
  // have, holding the locks: the child gets fresh ones.
  new (&export_mu_) std::mutex();
  new (&wait_mu_) std::mutex();
  new (&wait_cv_) std::condition_variable();
  transport_->after_fork_child();
}

OtlpExporterStats ExportClient::stats() const noexcept {
  OtlpExporterStats s;
  s.exported_spans = exported_.load();
  s.failed_spans = failed_.load();
  s.http_requests = requests_.load();
  s.retries = retries_.load();
  s.skipped_exports = skipped_.load();
  s.partial_success_rejected = partial_rejected_.load();
  return s;
}

}  // namespace convtrace::otlp
