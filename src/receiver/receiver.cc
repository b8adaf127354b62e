#include "receiver/receiver.h"

#include <httplib.h>
#include <sys/socket.h>

#include <atomic>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <thread>

#include "common/diagnostics.h"
#include "common/varint.h"
#include "otlp/otlp_json.h"

namespace convtrace::receiver {
namespace {

constexpr const char* kTracesPath = "/v1/traces";
constexpr const char* kProtobufType = "application/x-protobuf";
constexpr const char* kJsonType = "application/json";
// httplib inflates gzip bodies itself, with no bound on the inflated size. The
// pre-routing handler moves Content-Encoding aside under this name, so the body
// arrives as sent and is inflated here with a cap.
constexpr const char* kHeldEncoding = "X-Convtrace-Held-Content-Encoding";

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
std::string media_type(const std::string& content_type) {
  return lower(trim(std::string_view(content_type).substr(0, content_type.find(';'))));
}

// gRPC status codes used in google.rpc.Status bodies.
constexpr int kInvalidArgument = 3;
constexpr int kResourceExhausted = 8;
constexpr int kUnavailable = 14;

void set_status_body(httplib::Response& res, Encoding enc, int code, std::string_view message) {
  if (enc == Encoding::json) {
    std::string body = "{\"code\":" + std::to_string(code) + ",\"message\":";
    otlp::append_json_string(message, body);
    body += '}';
    res.set_content(body, kJsonType);
  } else {
    // google.rpc.Status { int32 code = 1; string message = 2; }
    std::string body;
    body += static_cast<char>(0x08);
    append_varint(body, static_cast<uint64_t>(code));
    body += static_cast<char>(0x12);
    append_varint(body, message.size());
    body.append(message);
    res.set_content(body, kProtobufType);
  }
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

struct Receiver::Impl {
  ReceiverOptions options;
  Store* store = nullptr;
  Decoder decoder;
  httplib::Server server;
  std::thread thread;
  int port = 0;
  int listen_fd = -1;
  std::atomic<bool> stopped{false};
  std::atomic<uint64_t> requests{0}, spans{0}, rejected{0};

  void reject(httplib::Response& res, int status, std::string_view text) {
    ++rejected;
    res.status = status;
    res.set_content(std::string(text) + "\n", "text/plain");
  }

  httplib::Server::HandlerResponse pre_route(const httplib::Request& req, httplib::Response& res) {
    using HR = httplib::Server::HandlerResponse;
    if (req.path != kTracesPath) {
      reject(res, 404, "not found: only POST /v1/traces is served");
      return HR::Handled;
    }
    if (req.method != "POST") {
      reject(res, 405, "method not allowed: use POST");
      res.set_header("Allow", "POST");
      return HR::Handled;
    }
    if (!options.token.empty()) {
      std::string expected = "Bearer " + options.token;
      if (!constant_time_equal(req.get_header_value("Authorization"), expected)) {
        reject(res, 401, "unauthorized: a valid bearer token is required");
        res.set_header("WWW-Authenticate", "Bearer");
        res.set_header("Connection", "close");
        return HR::Handled;
      }
    }
    std::string type = media_type(req.get_header_value("Content-Type"));
    if (type != kProtobufType && type != kJsonType) {
      reject(res, 415, "unsupported media type: send application/x-protobuf or application/json");
      res.set_header("Connection", "close");
      return HR::Handled;
    }
    std::string encoding = lower(trim(req.get_header_value("Content-Encoding")));
    if (!encoding.empty() && encoding != "gzip" && encoding != "identity") {
      reject(res, 415, "unsupported content encoding: use gzip or none");
      res.set_header("Connection", "close");
      return HR::Handled;
    }
    if (req.has_header("Content-Length")) {
      uint64_t length = std::strtoull(req.get_header_value("Content-Length").c_str(), nullptr, 10);
      if (length > options.max_body_bytes) {
        reject(res, 413,
               "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
        res.set_header("Connection", "close");
        return HR::Handled;
      }
    }
    // The request object is ours (httplib owns it non-const while routing); the
    // handler reads the encoding back from kHeldEncoding.
    auto& headers = const_cast<httplib::Request&>(req).headers;
    headers.erase(kHeldEncoding);
    headers.erase("Content-Encoding");
    if (encoding == "gzip") headers.emplace(kHeldEncoding, encoding);
    return HR::Unhandled;
  }

  void handle(const httplib::Request& req, httplib::Response& res,
              const httplib::ContentReader& reader) {
    Encoding enc = media_type(req.get_header_value("Content-Type")) == kJsonType
                       ? Encoding::json
                       : Encoding::protobuf;
    std::string body;
    bool too_large = false;
    bool read = reader([&](const char* data, size_t n) {
      if (body.size() + n > options.max_body_bytes) {
        too_large = true;
        return false;
      }
      body.append(data, n);
      return true;
    });
    if (too_large) {
      ++rejected;
      res.status = 413;
      res.set_header("Connection", "close");
      set_status_body(res, enc, kResourceExhausted,
                      "request body exceeds " + std::to_string(options.max_body_bytes) + " bytes");
      return;
    }
    if (!read) {
      ++rejected;
      res.status = 400;
      res.set_header("Connection", "close");
      set_status_body(res, enc, kInvalidArgument, "the request body could not be read");
      return;
    }
    if (req.has_header(kHeldEncoding)) {
      auto inflated = inflate_capped(body, options.max_body_bytes);
      if (!inflated) {
        ++rejected;
        bool over = inflated.error().code == Error::invalid_argument;
        res.status = over ? 413 : 400;
        set_status_body(res, enc, over ? kResourceExhausted : kInvalidArgument,
                        inflated.error().message);
        return;
      }
      body = std::move(*inflated);
    }
    auto spans = decoder(body, enc);
    if (!spans) {
      ++rejected;
      res.status = 400;
      set_status_body(res, enc, kInvalidArgument, spans.error().message);
      return;
    }
    if (Error e = store->insert(*spans)) {
      // Not acknowledged: the client keeps the spans and retries later.
      ++rejected;
      report_warning("collect_store_failed", "cannot store received spans: " + e.message);
      res.status = 503;
      res.set_header("Retry-After", "1");
      set_status_body(res, enc, kUnavailable, "the store is busy; retry later");
      return;
    }
    ++requests;
    spans_count(spans->size());
    res.status = 200;
    // An ExportTraceServiceResponse without partial_success: every span was accepted.
    res.set_content(enc == Encoding::json ? "{}" : "",
                    enc == Encoding::json ? kJsonType : kProtobufType);
  }

  void spans_count(size_t n) { spans += n; }
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
    int threads = std::max(1, options.threads);
    self->server.new_task_queue = [threads] {
      return new httplib::ThreadPool(static_cast<size_t>(threads));
    };
    // httplib listens with a backlog of 5, which drops connections when many
    // clients connect at once. Keep its default options, remember the socket,
    // and listen again with the system's maximum backlog after binding.
    self->server.set_socket_options([self](socket_t sock) {
      httplib::default_socket_options(sock);
      self->listen_fd = sock;
    });
    self->server.set_keep_alive_timeout(2);
    self->server.set_read_timeout(10, 0);
    self->server.set_payload_max_length(options.max_body_bytes);
    self->server.set_pre_routing_handler(
        [self](const httplib::Request& req, httplib::Response& res) {
          return self->pre_route(req, res);
        });
    self->server.Post(kTracesPath, [self](const httplib::Request& req, httplib::Response& res,
                                          const httplib::ContentReader& reader) {
      self->handle(req, res, reader);
    });
    if (options.port == 0) {
      self->port = self->server.bind_to_any_port(options.host.c_str());
      if (self->port <= 0) {
        return Error{Error::unavailable, "cannot listen on " + options.host + ": no free port"};
      }
    } else {
      if (!self->server.bind_to_port(options.host.c_str(), options.port)) {
        return Error{Error::unavailable, "cannot listen on " + options.host + ":" +
                                             std::to_string(options.port) +
                                             " (address in use or not local)"};
      }
      self->port = options.port;
    }
    if (self->listen_fd >= 0) ::listen(self->listen_fd, SOMAXCONN);
    self->thread = std::thread([self] { self->server.listen_after_bind(); });
    // The socket listens from bind on: connections made from now are queued
    // by the kernel until the loop accepts them.
    return std::unique_ptr<Receiver>(new Receiver(std::move(impl)));
  } catch (const std::exception& e) {
    return Error{Error::internal, e.what()};
  }
}

int Receiver::port() const { return impl_->port; }

void Receiver::stop() {
  if (!impl_ || impl_->stopped.exchange(true)) return;
  // httplib's stop() only reaches a server whose accept loop is running; a
  // stop right after start waits (bounded) for the loop to come up.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!impl_->server.is_running() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

ReceiverStats Receiver::stats() const {
  return ReceiverStats{impl_->requests.load(), impl_->spans.load(), impl_->rejected.load()};
}

}  // namespace convtrace::receiver
