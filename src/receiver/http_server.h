// A small HTTP/1.1 server that slow or idle clients cannot starve. Private.
//
// One I/O thread reads and writes every connection without blocking (epoll),
// so a client that trickles its request holds a connection slot, never a
// thread; complete requests are handed to a pool of worker threads, and their
// answers written back by the I/O thread. What a client can take is bounded:
//  - the request head must be complete within `header_timeout` of the
//    connection being accepted (or of its first byte, on a kept-alive
//    connection), and the body within `body_timeout` after the head; past a
//    deadline the request is answered 408 and the connection closed, however
//    steadily the bytes trickle;
//  - a kept-alive connection idle for `idle_timeout` is closed;
//  - at most `max_connections` connections are open, and at most
//    `max_connections_per_client` from one client address. A connection past
//    a cap displaces the connection idle longest (of that client, when its
//    own cap is the limit): one with no request under way, kept alive or
//    never used. When none is idle it is answered 503 with Retry-After and
//    closed;
//  - the head check (routing, the bearer token, the media type, the length)
//    runs before any byte of the body is read, and a refused request's body
//    is never read;
//  - bodies held at once (being received, queued, or being handled) are
//    bounded by `max_buffered_bytes`; a request that does not fit is answered
//    503 with Retry-After.
//
// Thread-safety: start/stop/port/stats may be called from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "convtrace/expected.h"
#include "receiver/http.h"

namespace convtrace::receiver {

struct HttpResponse {
  int status = 200;
  std::string content_type;  // omitted when empty
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // more header fields
  bool close = false;  // close the connection after this response
};

struct ServerLimits {
  std::chrono::milliseconds header_timeout{10000};
  std::chrono::milliseconds body_timeout{30000};  // also bounds writing the response
  std::chrono::milliseconds idle_timeout{15000};
  size_t max_connections = 1024;
  size_t max_connections_per_client = 256;
  size_t max_body_bytes = 16 * 1024 * 1024;
  size_t max_buffered_bytes = 64 * 1024 * 1024;
  http::HeadLimits head;
  int workers = 4;
};

struct ServerStats {
  uint64_t open = 0;       // connections open now
  uint64_t accepted = 0;   // connections accepted since start
  uint64_t refused = 0;    // connections answered 503 at a connection cap (or the fd limit)
  uint64_t displaced = 0;  // idle connections closed to make room for a new one
  uint64_t timed_out = 0;  // connections closed, or requests answered 408, at a deadline
  uint64_t rejected = 0;   // requests the server itself refused (400, 408, 413, 431, 503, …)
};

class HttpServer {
 public:
  // Runs on the I/O thread once a request's head is complete, before any of
  // its body is read; must be quick. A response refuses the request: its body
  // is not read, and the connection is closed after the answer unless the
  // request had no body.
  using HeadCheck = std::function<std::optional<HttpResponse>(const http::RequestHead&)>;
  // Runs on a worker thread with the complete body.
  using Handler = std::function<HttpResponse(const http::RequestHead&, std::string body)>;

  // Binds host:port (port 0 picks a free one) and starts serving. Errors:
  // invalid_argument (a host that is not an address or a known name),
  // unavailable (the address cannot be bound).
  static Expected<std::unique_ptr<HttpServer>> start(const std::string& host, int port,
                                                     ServerLimits limits, HeadCheck check,
                                                     Handler handler);
  ~HttpServer();  // stops
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  int port() const;
  // Stops accepting and closes connections between requests or in the middle
  // of one (nothing was answered for those); requests already complete are
  // handled and answered first. Idempotent.
  void stop();
  ServerStats stats() const;

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace convtrace::receiver
