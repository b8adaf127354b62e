// An OTLP/HTTP endpoint on 127.0.0.1 for the export benchmarks: accepts
// keep-alive connections one at a time, answers every request 200 with an
// empty ExportTraceServiceResponse, and can be taken down (its port then
// refuses connections) and brought back on the same port. Optionally it
// decodes each request and keeps the span ids it saw, so a benchmark can
// tell lost, delivered and duplicated spans apart.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cctype>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "otlp/otlp_proto.h"

namespace convtrace::bench {

class LoopbackSink {
 public:
  explicit LoopbackSink(bool decode = false) : decode_(decode) {
    if (!listen_on(0)) std::exit(2);
    thread_ = std::thread([this] { serve(); });
  }
  ~LoopbackSink() {
    stop_.store(true);
    thread_.join();
    std::lock_guard<std::mutex> lock(fd_mu_);
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  LoopbackSink(const LoopbackSink&) = delete;
  LoopbackSink& operator=(const LoopbackSink&) = delete;

  int port() const { return port_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1/traces"; }
  uint64_t requests() const { return requests_.load(); }
  uint64_t body_bytes() const { return body_bytes_.load(); }
  // The serving thread's id, to leave its CPU out of the SDK's.
  pid_t tid() const { return tid_.load(); }

  // Closes the port: connection attempts are refused until up().
  void down() {
    std::lock_guard<std::mutex> lock(fd_mu_);
    down_.store(true);
    if (listen_fd_ >= 0) ::close(listen_fd_);
    listen_fd_ = -1;
  }
  void up() {
    std::lock_guard<std::mutex> lock(fd_mu_);
    if (listen_fd_ < 0 && !listen_on(port_)) std::exit(2);
    down_.store(false);
  }

  // With decoding on: distinct span ids seen, and spans seen more than once.
  uint64_t distinct_spans() const {
    std::lock_guard<std::mutex> lock(ids_mu_);
    return seen_.size();
  }
  uint64_t duplicate_spans() const {
    std::lock_guard<std::mutex> lock(ids_mu_);
    return duplicates_;
  }
  uint64_t decode_errors() const { return decode_errors_.load(); }

 private:
  bool listen_on(int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 16) != 0) {
      std::perror("bench: sink");
      ::close(fd);
      return false;
    }
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    listen_fd_ = fd;
    return true;
  }

  void serve() {
    tid_.store(static_cast<pid_t>(::syscall(SYS_gettid)));
    while (!stop_.load()) {
      int lfd;
      {
        std::lock_guard<std::mutex> lock(fd_mu_);
        lfd = listen_fd_;
      }
      if (lfd < 0) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      pollfd p{lfd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      int fd = ::accept(lfd, nullptr, nullptr);
      if (fd < 0) continue;
      handle(fd);
      ::close(fd);
    }
  }

  // Reads requests from one connection until it closes, the sink goes
  // down, or the benchmark ends.
  void handle(int fd) {
    std::string buf;
    buf.reserve(1 << 20);
    size_t start = 0;  // first unconsumed byte
    char chunk[256 * 1024];
    for (;;) {
      size_t header_end;
      while ((header_end = buf.find("\r\n\r\n", start)) == std::string::npos) {
        if (!read_some(fd, chunk, sizeof chunk, buf)) return;
      }
      size_t length = content_length(buf, start, header_end);
      size_t body = header_end + 4;
      while (buf.size() < body + length) {
        if (!read_some(fd, chunk, sizeof chunk, buf)) return;
      }
      if (decode_) record(std::string_view(buf).substr(body, length));
      body_bytes_.fetch_add(length);
      requests_.fetch_add(1);
      static const char kReply[] =
          "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
      if (::write(fd, kReply, sizeof kReply - 1) < 0) return;
      start = body + length;
      if (start == buf.size()) {
        buf.clear();
        start = 0;
      } else if (start > (1u << 20)) {
        buf.erase(0, start);
        start = 0;
      }
    }
  }

  bool read_some(int fd, char* chunk, size_t size, std::string& buf) {
    for (;;) {
      if (stop_.load() || down_.load()) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 20) <= 0) continue;
      ssize_t n = ::read(fd, chunk, size);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  static size_t content_length(const std::string& buf, size_t from, size_t to) {
    static const char kName[] = "content-length:";
    const size_t n = sizeof kName - 1;
    for (size_t i = from; i + n <= to; ++i) {
      if ((buf[i] == 'c' || buf[i] == 'C') && (i == from || buf[i - 1] == '\n')) {
        size_t k = 0;
        while (k < n && std::tolower(static_cast<unsigned char>(buf[i + k])) == kName[k]) ++k;
        if (k == n) return std::strtoull(buf.c_str() + i + n, nullptr, 10);
      }
    }
    return 0;
  }

  void record(std::string_view body) {
    auto spans = otlp::decode_trace_request(body);
    if (!spans) {
      decode_errors_.fetch_add(1);
      return;
    }
    std::lock_guard<std::mutex> lock(ids_mu_);
    for (const SpanData& s : *spans) {
      uint64_t id;
      std::memcpy(&id, s.span_id.bytes.data(), 8);
      if (++seen_[id] == 2) ++duplicates_;
    }
  }

  const bool decode_;
  int port_ = 0;
  std::mutex fd_mu_;
  int listen_fd_ = -1;  // guarded by fd_mu_
  std::atomic<bool> stop_{false};
  std::atomic<bool> down_{false};
  std::atomic<uint64_t> requests_{0};
  std::atomic<uint64_t> body_bytes_{0};
  std::atomic<uint64_t> decode_errors_{0};
  std::atomic<pid_t> tid_{0};
  mutable std::mutex ids_mu_;
  std::unordered_map<uint64_t, uint32_t> seen_;  // guarded by ids_mu_
  uint64_t duplicates_ = 0;                      // guarded by ids_mu_
  std::thread thread_;
};

}  // namespace convtrace::bench
