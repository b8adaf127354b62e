// OTLP/HTTP requests through libcurl: one reused connection, gzip bodies,
// Retry-After, and the OTLP/HTTP rules for which answers are retryable.
#include <curl/curl.h>
#include <zlib.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <ctime>
#include <mutex>

#include "otlp/export_client.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"

#ifndef CONVTRACE_VERSION
#define CONVTRACE_VERSION "unknown"
#endif

namespace convtrace::otlp {
namespace {

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

Error validate_endpoint(const OtlpHttpOptions& o) {
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
  // Level 1: on 512-span requests with random ids it compresses 2.4–3 times
  // as fast as the default level 6 for 3% more bytes, and the sender's gzip
  // was what limited delivery at high rates.
  if (deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
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

class HttpTransport final : public Transport {
 public:
  explicit HttpTransport(const OtlpHttpOptions& options) : options_(options) {}

  ~HttpTransport() override { release(); }

  HttpTransport(const HttpTransport&) = delete;
  HttpTransport& operator=(const HttpTransport&) = delete;

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
    set(curl_easy_setopt(curl_, CURLOPT_WRITEFUNCTION, &HttpTransport::on_body));
    set(curl_easy_setopt(curl_, CURLOPT_WRITEDATA, this));
    set(curl_easy_setopt(curl_, CURLOPT_HEADERFUNCTION, &HttpTransport::on_header));
    set(curl_easy_setopt(curl_, CURLOPT_HEADERDATA, this));
    // Lets abort() stop a transfer in progress.
    set(curl_easy_setopt(curl_, CURLOPT_NOPROGRESS, 0L));
    set(curl_easy_setopt(curl_, CURLOPT_XFERINFOFUNCTION, &HttpTransport::on_progress));
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

  Attempt send(const std::string& body, Clock::time_point deadline) override {
    Attempt a;
    if (aborted_.load() || !curl_) {
      a.detail = "exporter shut down";
      return a;
    }
    const std::string* payload = &body;
    if (options_.gzip) {
      if (!gzip_compress(body, gzipped_)) {
        a.detail = "gzip compression failed";
        return a;
      }
      payload = &gzipped_;
    }
    auto remaining = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (remaining.count() <= 0) {
      a.outcome = Outcome::retryable;
      a.detail = "export timeout reached";
      return a;
    }
    response_.clear();
    retry_after_.clear();
    curl_error_[0] = '\0';
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDS, payload->data());
    curl_easy_setopt(curl_, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(payload->size()));
    curl_easy_setopt(curl_, CURLOPT_TIMEOUT_MS, static_cast<long>(remaining.count()));
    curl_easy_setopt(curl_, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(remaining.count()));
    CURLcode rc = curl_easy_perform(curl_);
    if (rc != CURLE_OK) {
      a.detail = curl_easy_strerror(rc);
      if (curl_error_[0] != '\0') {
        a.detail.append(" (").append(scrub(options_, curl_error_)).append(")");
      }
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
      a.response = std::move(response_);
      return a;
    }
    a.detail = "HTTP " + std::to_string(status);
    std::string message = server_message();
    if (!message.empty()) a.detail.append(": ").append(message);
    if (status == 429 || status == 502 || status == 503 || status == 504) {
      a.outcome = Outcome::retryable;
      int64_t seconds = parse_retry_after(retry_after_);
      a.retry_after_ms = seconds >= 0 ? seconds * 1000 : -1;
    } else {
      a.outcome = Outcome::permanent;
    }
    return a;
  }

  void abort() noexcept override { aborted_.store(true); }

  // fork(): the parent's handle is left alone (its memory is the child's
  // copy; cleaning it up could write on the parent's socket); the child gets
  // its own connection, or fails its exports when it cannot have one.
  void after_fork_child() noexcept override {
    curl_ = nullptr;
    headers_ = nullptr;
    if (!aborted_.load() && init()) aborted_.store(true);
  }

 private:
  void release() {
    if (curl_) curl_easy_cleanup(curl_);
    if (headers_) curl_slist_free_all(headers_);
    curl_ = nullptr;
    headers_ = nullptr;
  }

  // The message of an error response (google.rpc.Status for OTLP), cleaned for logs.
  std::string server_message() const {
    const bool json = options_.protocol == OtlpHttpOptions::Protocol::http_json;
    std::string message =
        json ? decode_status_message_json(response_) : decode_status_message(response_);
    if (message.empty() && !response_.empty()) {
      // Not a Status: plain-text error pages from proxies and load balancers.
      message = response_;
    }
    return scrub(options_, message);
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<HttpTransport*>(self_ptr);
    size_t n = size * count;
    size_t room = kMaxResponseBytes - std::min(kMaxResponseBytes, self->response_.size());
    self->response_.append(data, std::min(n, room));
    return n;  // the rest is read and discarded so the connection stays reusable
  }

  static size_t on_header(char* data, size_t size, size_t count, void* self_ptr) {
    auto* self = static_cast<HttpTransport*>(self_ptr);
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
    return static_cast<HttpTransport*>(self_ptr)->aborted_.load() ? 1 : 0;
  }

  const OtlpHttpOptions options_;
  std::string user_agent_;
  CURL* curl_ = nullptr;
  curl_slist* headers_ = nullptr;
  char curl_error_[CURL_ERROR_SIZE] = {};
  std::string gzipped_;
  std::string response_;
  std::string retry_after_;
  std::atomic<bool> aborted_{false};
};

}  // namespace

Expected<std::unique_ptr<Transport>> make_http_transport(const OtlpHttpOptions& options) {
  if (Error e = validate_endpoint(options)) return e;
  auto transport = std::make_unique<HttpTransport>(options);
  if (Error e = transport->init()) return e;
  return std::unique_ptr<Transport>(std::move(transport));
}

}  // namespace convtrace::otlp
