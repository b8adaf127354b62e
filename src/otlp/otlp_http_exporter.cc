#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "common/diagnostics.h"
#include "common/fork_safety.h"
#include "convtrace/otlp.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"

#ifndef CONVTRACE_VERSION
#define CONVTRACE_VERSION "unknown"
#endif

namespace convtrace {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

// Response bodies are only read for partial-success and error messages.
constexpr size_t kMaxResponseBytes = 64 * 1024;
// A Retry-After longer than this is treated as this (a day): guards the arithmetic.
constexpr int64_t kMaxRetryAfterSeconds = 86400;

void init_curl_once() {
  // curl_global_init is not thread-safe; exporters may be created on any thread.
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(s[i])) != prefix[i]) return false;
  }
  return true;
}

// The endpoint as it may appear in logs: without user info, query or fragment,
// which can carry credentials.
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

bool is_token(const std::string& s) {
  if (s.empty()) return false;
  for (unsigned char c : s) {
    if (std::isalnum(c)) continue;
    if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == 0) return false;
  }
  return true;
}

Error validate(const OtlpHttpOptions& o) {
  auto invalid = [](std::string message) {
    return Error{Error::invalid_argument, std::move(message)};
  };
  if (o.endpoint.empty()) return invalid("OTLP endpoint is empty");
  bool http = starts_with_ci(o.endpoint, "http://");
  bool https = starts_with_ci(o.endpoint, "https://");
  if (!http && !https) {
    return invalid("OTLP endpoint must start with http:// or https://: " +
                   loggable_url(o.endpoint));
  }
  size_t host = o.endpoint.find("://") + 3;
  if (host >= o.endpoint.size() || o.endpoint[host] == '/' ||
      o.endpoint.find_first_of(" \t\r\n") != std::string::npos) {
    return invalid("OTLP endpoint has no host or contains whitespace: " + loggable_url(o.endpoint));
  }
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

// Seconds to wait from a Retry-After value (delay-seconds or HTTP-date), or -1.
int64_t parse_retry_after(std::string_view value) {
  if (value.empty()) return -1;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 9) return kMaxRetryAfterSeconds;
    return std::min<int64_t>(std::stoll(std::string(value)), kMaxRetryAfterSeconds);
  }
  std::string date(value);
  time_t when = curl_getdate(date.c_str(), nullptr);
  if (when == -1) return -1;
  int64_t delta = static_cast<int64_t>(when) - static_cast<int64_t>(std::time(nullptr));
  return std::clamp<int64_t>(delta, 0, kMaxRetryAfterSeconds);
}

// Gzip-compresses `in` into `out` (replacing it). False on a zlib failure.
bool gzip_compress(const std::string& in, std::string& out) {
  z_stream zs{};
  // windowBits 15 + 16 selects the gzip wrapper, as Content-Encoding: gzip requires.
  if (deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
      Z_OK) {
    return false;
  }
  out.resize(deflateBound(&zs, static_cast<uLong>(in.size())) + 32);
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return rc == Z_STREAM_END;
}

class OtlpHttpExporter final : public SpanExporter, private ForkAware {
 public:
  explicit OtlpHttpExporter(OtlpHttpOptions options)
      : options_(std::move(options)),
        url_for_logs_(loggable_url(options_.endpoint)),
        rng_(std::random_device{}()) {
    register_fork_aware(this);
  }

  ~OtlpHttpExporter() override {
    unregister_fork_aware(this);
    if (curl_) curl_easy_cleanup(curl_);
    if (headers_) curl_slist_free_all(headers_);
  }

  // fork(): an export may be in flight on a parent thread the child does not
  // have, holding the locks and the connection. The child gets fresh locks
  // and its own connection; the parent's handle is left alone (its memory is
  // the child's copy; cleaning it up could write on the parent's socket).
  void prepare_fork() noexcept override {}
  void after_fork_parent() noexcept override {}
  void after_fork_child() noexcept override {
    new (&export_mu_) std::mutex();
    new (&wait_mu_) std::mutex();
    new (&wait_cv_) std::condition_variable();
    curl_ = nullptr;
    headers_ = nullptr;
    if (!shutdown_.load() && init()) shutdown_.store(true);  // no handle: fail fast
  }

  OtlpHttpExporter(const OtlpHttpExporter&) = delete;
  OtlpHttpExporter& operator=(const OtlpHttpExporter&) = delete;

  // Creates the curl handle and sets everything that does not change per request.
  Error init() {
    init_curl_once();
    curl_ = curl_easy_init();
    if (!curl_) return Error{Error::internal, "could not create a libcurl handle"};
    const bool json = options_.protocol == OtlpHttpOptions::Protocol::http_json;
    headers_ = curl_slist_append(
        headers_, json ? "Content-Type: application/json" : "Content-Type: application/x-protobuf");
    if (options_.gzip) headers_ = curl_slist_append(headers_, "Content-Encoding: gzip");
    // No "Expect: 100-continue" round trip before each body.
    headers_ = curl_slist_append(headers_, "Expect:");
    for (const auto& [name, value] : options_.headers) {
      std::string line = value.empty() ? name + ";" : name + ": " + value;
      headers_ = curl_slist_append(headers_, line.c_str());
    }
    if (!headers_) return Error{Error::internal, "out of memory building OTLP headers"};
    user_agent_ = options_.user_agent.empty() ? std::string("convtrace/") + CONVTRACE_VERSION
                                              : options_.user_agent;
    bool ok = true;
    auto set = [&ok](CURLcode rc) { ok = ok && rc == CURLE_OK; };
    set(curl_easy_setopt(curl_, CURLOPT_URL, options_.endpoint.c_str()));
    set(curl_easy_setopt(curl_, CURLOPT_PROTOCOLS_STR, "http,https"));
    set(curl_easy_setopt(curl_, CURLOPT_POST, 1L));
    set(curl_easy_setopt(curl_, CURLOPT_HTTPHEADER, headers_));
    set(curl_easy_setopt(curl_, CURLOPT_USERAGENT, user_agent_.c_str()));
    // Signals are process-wide: never let libcurl use them from an exporter thread.
    set(curl_easy_setopt(curl_, CURLOPT_NOSIGNAL, 1L));
    set(curl_easy_setopt(curl_, CURLOPT_TCP_KEEPALIVE, 1L));
    set(curl_easy_setopt(curl_, CURLOPT_ERRORBUFFER, curl_error_));
    set(curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &OtlpHttpExporter::on_body));
    set(curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this));
    set(curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &OtlpHttpExporter::on_header));
    set(curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this));
    // Lets shutdown() abort a transfer in progress.
    set(curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L));
    set(curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, &OtlpHttpExporter::on_progress));
    set(curl_easy_setopt(curl_, CURLOPT_XFERINFODATA, this));
    if (!options_.certificate_file.empty()) {
      set(curl_easy_setopt(curl_, CURLOPT_CAINFO, options_.certificate_file.c_str()));
    }
    if (!options_.client_certificate_file.empty()) {
      set(curl_easy_setopt(curl_, CURLOPT_SSLCERT, options_.client_certificate_file.c_str()));
      set(curl_easy_setopt(curl_, CURLOPT_SSLKEY, options_.client_key_file.c_str()));
    }
    if (!ok) return Error{Error::internal, "libcurl rejected an OTLP exporter option"};
    return {};
  }

  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    const uint64_t n = batch.size();
    if (n == 0) return ExportResult::success;
    if (shutdown_.load()) {
      failed_spans_ += n;
      return ExportResult::failure;
    }
    try {
      std::lock_guard<std::mutex> lock(export_mu_);
      return export_locked(batch);
    } catch (...) {
      failed_spans_ += n;
      return ExportResult::failure;
    }
  }

  void shutdown(milliseconds timeout) noexcept override {
    {
      std::lock_guard<std::mutex> lock(wait_mu_);
      shutdown_.store(true);
    }
    wait_cv_.notify_all();
    // Give an export in flight the chance to finish; the progress callback
    // aborts its transfer, so this is short.
    std::unique_lock<std::mutex> lock(export_mu_, std::defer_lock);
    auto deadline = Clock::now() + timeout;
    while (!lock.try_lock() && Clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
  }

  OtlpExporterStats stats() const noexcept {
    OtlpExporterStats s;
    s.exported_spans = exported_spans_.load();
    s.failed_spans = failed_spans_.load();
    s.http_requests = http_requests_.load();
    s.retries = retries_.load();
    s.skipped_exports = skipped_exports_.load();
    s.partial_success_rejected = partial_rejected_.load();
    return s;
  }

 private:
  enum class Outcome { success, retryable, permanent };

  struct Attempt {
    Outcome outcome = Outcome::permanent;
    std::string detail;        // for logs: already free of secrets
    int64_t retry_after = -1;  // seconds, from the response; -1 when absent
  };

  ExportResult export_locked(const SpanBatch& batch) {
    const uint64_t n = batch.size();
    const auto start = Clock::now();
    if (options_.backoff_between_exports && start < blocked_until_) {
      // The endpoint failed recently: do not connect again until the window ends.
      ++skipped_exports_;
      failed_spans_ += n;
      report_warning("otlp_export_skipped",
                     "OTLP endpoint " + url_for_logs_ +
                         " is backing off after failures; dropping batches until it recovers");
      return ExportResult::failure;
    }

    const bool json = options_.protocol == OtlpHttpOptions::Protocol::http_json;
    if (json) {
      json_encoder_.encode(batch, body_);
    } else {
      proto_encoder_.encode(batch, body_);
    }
    const std::string* payload = &body_;
    if (options_.gzip) {
      if (!gzip_compress(body_, gzipped_)) {
        failed_spans_ += n;
        report_warning("otlp_export_failed", "gzip compression failed; batch dropped");
        return ExportResult::failure;
      }
      payload = &gzipped_;
    }

    const auto deadline = start + options_.timeout;
    Attempt last;
    for (int attempt = 0; attempt < options_.max_attempts; ++attempt) {
      if (attempt > 0) ++retries_;
      last = send(*payload, deadline);
      if (last.outcome == Outcome::success) {
        on_success(n);
        return ExportResult::success;
      }
      if (last.outcome == Outcome::permanent) {
        failed_spans_ += n;
        report_warning("otlp_export_failed",
                       "OTLP export to " + url_for_logs_ + " failed: " + last.detail + "; " +
                           std::to_string(n) + " spans dropped (not retryable)");
        return ExportResult::failure;
      }
      if (attempt + 1 >= options_.max_attempts) break;
      milliseconds delay =
          last.retry_after >= 0 ? milliseconds(last.retry_after * 1000) : backoff(attempt);
      // Retrying only makes sense when the wait ends before the export's deadline.
      if (Clock::now() + delay >= deadline) break;
      if (!sleep_for(delay)) break;  // shut down
    }

    failed_spans_ += n;
    if (options_.backoff_between_exports) {
      window_ = window_.count() == 0 ? options_.retry_initial_backoff
                                     : std::min(window_ * 2, options_.retry_max_backoff);
      if (last.retry_after >= 0) window_ = std::max(window_, milliseconds(last.retry_after * 1000));
      blocked_until_ = Clock::now() + window_;
    }
    report_warning("otlp_export_failed", "OTLP export to " + url_for_logs_ +
                                             " failed: " + last.detail + "; " + std::to_string(n) +
                                             " spans dropped; next attempt in " +
                                             std::to_string(window_.count()) + " ms");
    return ExportResult::failure;
  }

  void on_success(uint64_t n) {
    window_ = milliseconds(0);
    blocked_until_ = Clock::time_point();
    const bool json = options_.protocol == OtlpHttpOptions::Protocol::http_json;
    auto partial =
        json ? otlp::decode_trace_response_json(response_) : otlp::decode_trace_response(response_);
    uint64_t rejected = 0;
    if (!partial) {
      // The spans were accepted (2xx); only the acknowledgement is unreadable.
      report_warning("otlp_bad_response",
                     "OTLP endpoint " + url_for_logs_ + " sent an unreadable success response");
    } else if (partial->rejected_spans > 0 || !partial->error_message.empty()) {
      rejected = std::min<uint64_t>(
          static_cast<uint64_t>(std::max<int64_t>(partial->rejected_spans, 0)), n);
      partial_rejected_ += rejected;
      report_warning("otlp_partial_success",
                     "OTLP endpoint " + url_for_logs_ + " rejected " + std::to_string(rejected) +
                         " of " + std::to_string(n) + " spans: " + scrub(partial->error_message));
    }
    exported_spans_ += n - rejected;
  }

  Attempt send(const std::string& payload, Clock::time_point deadline) {
    Attempt a;
    auto remaining = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) {
      a.outcome = Outcome::retryable;
      a.detail = "export timeout reached";
      return a;
    }
    response_.clear();
    retry_after_.clear();
    curl_error_[0] = '\0';
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, payload.data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload.size()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(remaining.count()));
    ++http_requests_;
    CURLcode rc = curl_easy_perform(curl_);
    if (rc != CURLE_OK) {
      a.detail = curl_easy_strerror(rc);
      if (curl_error_[0] != '\0') a.detail.append(" (").append(scrub(curl_error_)).append(")");
      switch (rc) {
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_ABORTED_BY_CALLBACK:  // shutdown
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_CRL_BADFILE:
        case CURLE_OUT_OF_MEMORY:
          a.outcome = Outcome::permanent;
          break;
        default:
          a.outcome = Outcome::retryable;  // connection refused, reset, timeout, DNS, ...
      }
      return a;
    }
    long status = 0;
    curl_easy_getinfo(curl_, CURLINFO_RESPONSE_CODE, &status);
    if (status >= 200 && status < 300) {
      a.outcome = Outcome::success;
      return a;
    }
    a.detail = "HTTP " + std::to_string(status);
    std::string message = server_message();
    if (!message.empty()) a.detail.append(": ").append(message);
    if (status == 429 || status == 502 || status == 503 || status == 504) {
      a.outcome = Outcome::retryable;
      a.retry_after = parse_retry_after(retry_after_);
    } else {
      a.outcome = Outcome::permanent;
    }
    return a;
  }

  // The message of an error response (google.rpc.Status for OTLP), cleaned for logs.
  std::string server_message() const {
    const bool json = options_.protocol == OtlpHttpOptions::Protocol::http_json;
    std::string message =
        json ? otlp::decode_status_message_json(response_) : otlp::decode_status_message(response_);
    if (message.empty() && !response_.empty()) {
      // Not a Status: plain-text error pages from proxies and load balancers.
      message = response_;
    }
    return scrub(message);
  }

  // Makes text from the network safe to log: no control characters, bounded
  // length, and no header value of ours even if a server echoes it back.
  std::string scrub(std::string text) const {
    for (const auto& header : options_.headers) {
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

  milliseconds backoff(int retries_so_far) {
    double base = static_cast<double>(options_.retry_initial_backoff.count());
    double cap = static_cast<double>(options_.retry_max_backoff.count());
    double delay = std::min(cap, base * static_cast<double>(1ull << std::min(retries_so_far, 30)));
    // Jitter spreads the retries of many processes that failed at the same moment.
    std::uniform_real_distribution<double> jitter(0.8, 1.2);
    return milliseconds(static_cast<int64_t>(std::min(cap, delay * jitter(rng_))));
  }

  // Sleeps unless shut down meanwhile; false when shut down.
  bool sleep_for(milliseconds delay) {
    std::unique_lock<std::mutex> lock(wait_mu_);
    return !wait_cv_.wait_for(lock, delay, [this] { return shutdown_.load(); });
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<OtlpHttpExporter*>(self_ptr);
    size_t n = size * count;
    size_t room = kMaxResponseBytes - std::min(kMaxResponseBytes, self->response_.size());
    self->response_.append(data, std::min(n, room));
    return n;  // the rest is read and discarded so the connection stays reusable
  }

  static size_t on_header(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<OtlpHttpExporter*>(self_ptr);
    size_t n = size * count;
    std::string_view line(data, n);
    if (starts_with_ci(line, "retry-after:")) {
      line.remove_prefix(12);
      while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
        line.remove_suffix(1);
      }
      self->retry_after_.assign(line.data(), std::min<size_t>(line.size(), 64));
    }
    return n;
  }

  static int on_progress(void* self_ptr, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
    return static_cast<OtlpHttpExporter*>(self_ptr)->shutdown_.load() ? 1 : 0;
  }

  const OtlpHttpOptions options_;
  const std::string url_for_logs_;
  std::string user_agent_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  char curl_error_[CURL_ERROR_SIZE] = {};

  // Export state: only touched by the thread holding export_mu_.
  std::mutex export_mu_;
  otlp::TraceRequestEncoder proto_encoder_;
  otlp::TraceRequestJsonEncoder json_encoder_;
  std::string body_;
  std::string gzipped_;
  std::string response_;
  std::string retry_after_;
  std::mt19937_64 rng_;
  Clock::time_point blocked_until_{};  // exports before this fail without connecting
  milliseconds window_{0};             // length of the current backoff window

  std::atomic<bool> shutdown_{false};
  std::mutex wait_mu_;  // pairs with wait_cv_ so shutdown() can cut a retry wait short
  std::condition_variable wait_cv_;

  std::atomic<uint64_t> exported_spans_{0};
  std::atomic<uint64_t> failed_spans_{0};
  std::atomic<uint64_t> http_requests_{0};
  std::atomic<uint64_t> retries_{0};
  std::atomic<uint64_t> skipped_exports_{0};
  std::atomic<uint64_t> partial_rejected_{0};
};

}  // namespace

Expected<std::unique_ptr<SpanExporter>> make_otlp_http_exporter(OtlpHttpOptions options) {
  try {
    if (Error e = validate(options)) return e;
    auto exporter = std::make_unique<OtlpHttpExporter>(std::move(options));
    if (Error e = exporter->init()) return e;
    return std::unique_ptr<SpanExporter>(std::move(exporter));
  } catch (const std::bad_alloc&) {
    return Error{Error::internal, "out of memory creating the OTLP exporter"};
  }
}

std::optional<OtlpExporterStats> otlp_exporter_stats(const SpanExporter& exporter) noexcept {
  if (auto* otlp = dynamic_cast<const OtlpHttpExporter*>(&exporter)) return otlp->stats();
  return std::nullopt;
}

}  // namespace convtrace
