#include "receiver/receiver.h"

#include <atomic>
#include <cctype>
#include <cstdlib>

#include "common/diagnostics.h"
#include "common/unix_time.h"
#include "common/utf8.h"
#include "common/varint.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"
#include "receiver/http_server.h"

namespace convtrace::receiver {
namespace {

constexpr const char* kTracesPath = "/v1/traces";
constexpr const char* kProtobufType = "application/x-protobuf";
constexpr const char* kJsonType = "application/json";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim(std::string_view s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return std::string(s.substr(b, e - b));
}

// The media type without parameters ("application/json; charset=utf-8" → "application/json").
std::string media_type(std::string_view content_type) {
  return lower(trim(content_type.substr(0, content_type.find(';'))));
}

// gRPC status codes used in google.rpc.Status bodies.
constexpr int kInvalidArgument = 3;
constexpr int kResourceExhausted = 8;
constexpr int kUnavailable = 14;

Encoding encoding_of(const http::RequestHead& head) {
  return media_type(head.header("content-type")) == kJsonType ? Encoding::json : Encoding::protobuf;
}

HttpResponse text_response(int status, std::string_view text) {
  HttpResponse r;
  r.status = status;
  r.content_type = "text/plain";
  r.body = std::string(text) + "\n";
  return r;
}

// An error answer with a google.rpc.Status body in the request's encoding.
HttpResponse status_response(int status, Encoding enc, int code, std::string_view message) {
  HttpResponse r;
  r.status = status;
  const std::string text = utf8::repaired(message);
  if (enc == Encoding::json) {
    r.body = "{\"code\":" + std::to_string(code) + ",\"message\":";
    otlp::append_json_string(text, r.body);
    r.body += '}';
    r.content_type = kJsonType;
  } else {
    // google.rpc.Status { int32 code = 1; string message = 2; }
    r.body += static_cast<char>(0x08);
    append_varint(r.body, static_cast<uint64_t>(code));
    r.body += static_cast<char>(0x12);
    append_varint(r.body, text.size());
    r.body.append(text);
    r.content_type = kProtobufType;
  }
  return r;
}

// The first time of `span` past the stored range, as "<field> <value>"; empty
// when every time is in range.
std::string out_of_range_time(const SpanData& span) {
  auto field = [](const char* name, uint64_t v) {
    return std::string(name) + " " + std::to_string(v);
  };
  if (!unix_time::in_range(span.start_unix_nano)) {
    return field("start_time_unix_nano", span.start_unix_nano);
  }
  if (!unix_time::in_range(span.end_unix_nano)) {
    return field("end_time_unix_nano", span.end_unix_nano);
  }
  for (const SpanEvent& e : span.events) {
    if (!unix_time::in_range(e.time_unix_nano)) {
      return field("events.time_unix_nano", e.time_unix_nano);
    }
  }
  return {};
}

}  // namespace

bool constant_time_equal(std::string_view a, std::string_view b) {
  // Runs over the longer input whatever the content, so timing reveals neither
  // the token nor how much of it matched.
  size_t n = std::max(a.size(), b.size());
  unsigned diff = a.size() == b.size() ? 0u : 1u;
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned>(x ^ y);
  }
  return diff == 0;
}

otlp::PartialSuccess refuse_unstorable(std::vector<SpanData>& spans) {
  otlp::PartialSuccess partial;
  size_t kept = 0;
  for (size_t i = 0; i < spans.size(); ++i) {
    std::string bad = out_of_range_time(spans[i]);
    if (bad.empty()) {
      if (kept != i) spans[kept] = std::move(spans[i]);
      ++kept;
      continue;
    }
    if (partial.rejected_spans++ == 0) {
      partial.error_message = "span " + spans[i].trace_id.hex() + "/" + spans[i].span_id.hex() +
                              ": " + bad + " is after " + std::string(unix_time::kMaxText) +
                              ", the latest time convtrace stores";
    }
  }
  spans.resize(kept);
  if (partial.rejected_spans > 0) {
    partial.error_message = std::to_string(partial.rejected_spans) + " of " +
                            std::to_string(partial.rejected_spans + kept) + " spans refused; " +
                            partial.error_message;
    report_warning("time_out_of_range", "collect: " + partial.error_message);
  }
  return partial;
}

struct Receiver::Impl {
  ReceiverOptions options;
  Store* store = nullptr;
  Decoder decoder;
  std::unique_ptr<HttpServer> server;
  std::atomic<uint64_t> requests{0}, spans{0}, rejected{0}, rejected_spans{0};

  std::optional<HttpResponse> check_head(const http::RequestHead& head) {
    auto refuse = [&](HttpResponse r) {
      ++rejected;
      return std::optional<HttpResponse>(std::move(r));
    };
    if (head.path != kTracesPath) {
      return refuse(text_response(404, "not found: only POST /v1/traces is served"));
    }
    if (head.method != "POST") {
      HttpResponse r = text_response(405, "method not allowed: use POST");
      r.headers.emplace_back("Allow", "POST");
      return refuse(std::move(r));
    }
    // Before any byte of the body is read.
    if (!options.token.empty() &&
        !constant_time_equal(head.header("authorization"), "Bearer " + options.token)) {
      HttpResponse r = text_response(401, "unauthorized: a valid bearer token is required");
      r.headers.emplace_back("WWW-Authenticate", "Bearer");
      r.close = true;
      return refuse(std::move(r));
    }
    std::string type = media_type(head.header("content-type"));
    if (type != kProtobufType && type != kJsonType) {
      return refuse(text_response(
          415, "unsupported media type: send application/x-protobuf or application/json"));
    }
    std::string encoding = lower(trim(head.header("content-encoding")));
    if (!encoding.empty() && encoding != "gzip" && encoding != "identity") {
      return refuse(text_response(415, "unsupported content encoding: use gzip or none"));
    }
    if (head.framing == http::Framing::length && head.content_length > options.max_body_bytes) {
      return refuse(status_response(
          413, encoding_of(head), kResourceExhausted,
          "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes"));
    }
    return std::nullopt;
  }

  HttpResponse handle(const http::RequestHead& head, std::string body) {
    Encoding enc = encoding_of(head);
    auto fail = [&](int status, int code, std::string_view message) {
      ++rejected;
      return status_response(status, enc, code, message);
    };
    if (lower(trim(head.header("content-encoding"))) == "gzip") {
      auto inflated = inflate_capped(body, options.max_body_bytes);
      if (!inflated) {
        bool over = inflated.error().code == Error::invalid_argument;
        return fail(over ? 413 : 400, over ? kResourceExhausted : kInvalidArgument,
                    inflated.error().message);
      }
      body = std::move(*inflated);
    }
    auto decoded = decoder(body, enc);
    if (!decoded) return fail(400, kInvalidArgument, decoded.error().message);

    // Spans the store cannot hold are refused one by one, the rest stored.
    std::vector<SpanData>& all = *decoded;
    otlp::PartialSuccess partial = refuse_unstorable(all);
    if (partial.rejected_spans > 0 && all.empty()) {
      return fail(400, kInvalidArgument, partial.error_message);
    }
    if (Error e = store->insert(all)) {
      // Not acknowledged: the client keeps the spans and retries later.
      report_warning("collect_store_failed", "cannot store received spans: " + e.message);
      HttpResponse r = fail(503, kUnavailable, "the store is busy; retry later");
      r.headers.emplace_back("Retry-After", "1");
      return r;
    }
    ++requests;
    spans += all.size();
    rejected_spans += static_cast<uint64_t>(partial.rejected_spans);
    HttpResponse r;
    r.status = 200;
    // An ExportTraceServiceResponse; without partial_success every span was accepted.
    if (enc == Encoding::json) {
      r.body = otlp::encode_trace_response_json(partial);
      r.content_type = kJsonType;
    } else {
      r.body = otlp::encode_trace_response(partial);
      r.content_type = kProtobufType;
    }
    return r;
  }
};

Receiver::Receiver(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Receiver::~Receiver() { stop(); }

Expected<std::unique_ptr<Receiver>> Receiver::start(ReceiverOptions options, Store* store,
                                                    Decoder decoder) {
  if (!store || !decoder)
    return Error{Error::invalid_argument, "receiver needs a store and a decoder"};
  if (options.port < 0 || options.port > 65535) {
    return Error{Error::invalid_argument, "port must be 0..65535"};
  }
  try {
    auto impl = std::make_unique<Impl>();
    Impl* self = impl.get();
    self->options = options;
    self->store = store;
    self->decoder = std::move(decoder);
    ServerLimits limits;
    limits.header_timeout = options.header_timeout;
    limits.body_timeout = options.body_timeout;
    limits.idle_timeout = options.idle_timeout;
    limits.max_connections = std::max<size_t>(1, options.max_connections);
    limits.max_connections_per_client = std::max<size_t>(1, options.max_connections_per_client);
    limits.max_body_bytes = options.max_body_bytes;
    limits.max_buffered_bytes =
        options.max_buffered_bytes ? options.max_buffered_bytes : 4 * options.max_body_bytes;
    limits.max_buffered_bytes = std::max(limits.max_buffered_bytes, options.max_body_bytes);
    limits.workers = std::max(1, options.threads);
    auto server = HttpServer::start(
        options.host, options.port, limits,
        [self](const http::RequestHead& head) { return self->check_head(head); },
        [self](const http::RequestHead& head, std::string body) {
          return self->handle(head, std::move(body));
        });
    if (!server) return server.error();
    self->server = std::move(*server);
    // The socket listens from here on: connections made from now are queued
    // by the kernel until the I/O thread accepts them.
    return std::unique_ptr<Receiver>(new Receiver(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

int Receiver::port() const { return impl_->server->port(); }

void Receiver::stop() {
  if (impl_ && impl_->server) impl_->server->stop();
}

ReceiverStats Receiver::stats() const {
  ServerStats s = impl_->server->stats();
  ReceiverStats out;
  out.requests = impl_->requests.load();
  out.spans = impl_->spans.load();
  out.rejected = impl_->rejected.load() + s.rejected;
  out.rejected_spans = impl_->rejected_spans.load();
  out.connections = s.open;
  out.refused_connections = s.refused;
  out.timed_out = s.timed_out;
  return out;
}

}  // namespace convtrace::receiver
