// Clients of `convtrace collect` for the receiver tests: OTLP bodies, posts
// through cpp-httplib, raw requests on a socket.
#pragma once

#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "convtrace/attributes.h"
#include "convtrace/store.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"

namespace convtrace::testing {

// `n` spans of one trace; `seed` makes the trace id unique.
inline std::vector<SpanData> make_spans(uint32_t seed, int n = 3) {
  auto resource = std::make_shared<Resource>();
  resource->attributes = {{std::string(attr::kServiceName), std::string("svc")}};
  auto scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"test", "1"});
  std::vector<SpanData> out;
  for (int i = 0; i < n; ++i) {
    SpanData s;
    s.trace_id.bytes[0] = 0x7e;
    std::memcpy(&s.trace_id.bytes[8], &seed, sizeof seed);
    s.span_id.bytes[0] = static_cast<uint8_t>(i + 1);
    if (i > 0) s.parent_span_id.bytes[0] = 1;
    s.name = i == 0 ? "turn" : "chat";
    s.start_unix_nano = 1700000000000000000ULL + seed * 1000ULL + static_cast<uint64_t>(i);
    s.end_unix_nano = s.start_unix_nano + 10;
    s.attributes = {{std::string(attr::kConversationId), "conv_" + std::to_string(seed % 7)},
                    {std::string(attr::kInputTokens), int64_t{10 + i}},
                    {std::string(attr::kCostPicoUsd), int64_t{1000 * (i + 1)}},
                    {"app.custom", std::vector<std::string>{"x", "y"}}};
    s.resource = resource;
    s.scope = scope;
    out.push_back(std::move(s));
  }
  return out;
}

inline std::string protobuf_body(const std::vector<SpanData>& spans) {
  std::vector<const SpanData*> p;
  for (const auto& s : spans) p.push_back(&s);
  return otlp::encode_trace_request(SpanBatch(p.data(), p.size()));
}

inline std::string json_body(const std::vector<SpanData>& spans) {
  std::vector<const SpanData*> p;
  for (const auto& s : spans) p.push_back(&s);
  return otlp::encode_trace_request_json(SpanBatch(p.data(), p.size()));
}

inline std::string gzip(std::string_view data) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, data.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline constexpr const char* kProto = "application/x-protobuf";
inline constexpr const char* kJson = "application/json";

inline int post(int port, const std::string& body, const std::string& type,
                httplib::Headers headers = {}, std::string* response = nullptr,
                const std::string& path = "/v1/traces") {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(20, 0);
  auto res = client.Post(path.c_str(), headers, body, type.c_str());
  if (!res) return -100 - static_cast<int>(res.error());
  if (response) *response = res->body;
  return res->status;
}

// Sends raw bytes on a fresh connection; returns the status of the reply.
inline int raw_status(int port, const std::string& request) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  std::string reply;
  char buf[1024];
  ssize_t n;
  while (reply.find("\r\n") == std::string::npos && (n = recv(fd, buf, sizeof buf, 0)) > 0) {
    reply.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  if (reply.size() < 12) return -1;
  return std::stoi(reply.substr(9, 3));
}

inline int64_t stored_spans(const std::string& db) {
  auto store = Store::open(db);
  if (!store) return -1;
  auto n = (*store)->span_count();
  return n ? *n : -1;
}

// A blocking TCP connection to 127.0.0.1:`port`, from `local_ip` when given
// (any 127.x.y.z address reaches the loopback interface, so tests can play
// several client addresses); -1 when it cannot connect.
inline int connect_from(int port, const char* local_ip = nullptr) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (local_ip) {
    sockaddr_in local{};
    local.sin_family = AF_INET;
    inet_pton(AF_INET, local_ip, &local.sin_addr);
    if (bind(fd, reinterpret_cast<sockaddr*>(&local), sizeof local) != 0) {
      close(fd);
      return -1;
    }
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

inline bool send_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Reads one response (head and Content-Length body) from `fd`, waiting at
// most `timeout` in all; what arrived when the time is up or the peer closed.
inline std::string read_response(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string reply;
  while (true) {
    size_t end = reply.find("\r\n\r\n");
    if (end != std::string::npos) {
      size_t at = reply.find("Content-Length: ");
      size_t length = at == std::string::npos || at > end ? 0 : std::stoul(reply.substr(at + 16));
      if (reply.size() >= end + 4 + length) return reply.substr(0, end + 4 + length);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return reply;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return reply;
    reply.append(buf, static_cast<size_t>(n));
  }
}

// The status code of a response read by read_response, or -1.
inline int status_of(const std::string& response) {
  if (response.size() < 12 || response.compare(0, 9, "HTTP/1.1 ") != 0) return -1;
  return std::stoi(response.substr(9, 3));
}

// Whether the server closes `fd` (EOF or reset) within `timeout`; what it
// sends first is read and dropped.
inline bool closed_within(int fd, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return false;
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
    char buf[4096];
    if (recv(fd, buf, sizeof buf, 0) <= 0) return true;
  }
}

// A complete POST /v1/traces request with a protobuf body.
inline std::string raw_post(const std::string& body, const std::string& extra_headers = "") {
  return "POST /v1/traces HTTP/1.1\r\nHost: collect\r\nContent-Type: application/x-protobuf\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

}  // namespace convtrace::testing
