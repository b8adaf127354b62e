// B9 and B10: what tracing costs the application when the OTLP endpoint is
// down, compared with an endpoint that is up.
//
//   convtrace_bench_endpoint_down [--spans=N] [--seconds=S]
//
// B9: N spans (default 1M) as fast as one application thread can end them,
// through the batch processor and the OTLP/HTTP exporter, once against a local
// endpoint that answers 200 and once against a closed 127.0.0.1 port. Prints
// RSS growth and the latency distribution of Span::end on the app thread.
// B10: a steady 50k spans/s for S seconds (default 15) with the endpoint
// down. Prints the CPU the background threads used, connection attempts and
// the warning lines logged.
//
// Output is one `key=value` line per measurement, read by bench/run.sh.
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "convtrace/otlp.h"

namespace convtrace::bench {
namespace {

using Clock = std::chrono::steady_clock;

// A minimal OTLP/HTTP endpoint: reads each request and answers 200 with an
// empty ExportTraceServiceResponse (full success). Keep-alive, one client.
class LocalEndpoint {
 public:
  LocalEndpoint() {
    listen_fd_ = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        listen(listen_fd_, 16) != 0) {
      std::perror("bench: endpoint");
      std::exit(2);
    }
    socklen_t len = sizeof addr;
    getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~LocalEndpoint() {
    stop_.store(true);
    thread_.join();
    close(listen_fd_);
  }
  int port() const { return port_; }
  uint64_t requests() const { return requests_.load(); }

 private:
  void serve() {
    while (!stop_.load()) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int fd = accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      handle(fd);
      close(fd);
    }
  }

  void handle(int fd) {
    std::string buf;
    char chunk[65536];
    while (!stop_.load()) {
      size_t header_end;
      while ((header_end = buf.find("\r\n\r\n")) == std::string::npos) {
        if (!read_some(fd, chunk, sizeof chunk, buf)) return;
      }
      size_t length = 0;
      size_t cl = find_header(buf, header_end, "content-length:");
      if (cl != std::string::npos) length = std::strtoull(buf.c_str() + cl, nullptr, 10);
      while (buf.size() < header_end + 4 + length) {
        if (!read_some(fd, chunk, sizeof chunk, buf)) return;
      }
      buf.erase(0, header_end + 4 + length);
      static const char kReply[] =
          "HTTP/1.1 200 OK\r\nContent-Type: application/x-protobuf\r\nContent-Length: 0\r\n\r\n";
      if (write(fd, kReply, sizeof kReply - 1) < 0) return;
      requests_.fetch_add(1);
    }
  }

  bool read_some(int fd, char* chunk, size_t size, std::string& buf) {
    for (;;) {
      if (stop_.load()) return false;
      pollfd p{fd, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = read(fd, chunk, size);
      if (n <= 0) return false;
      buf.append(chunk, static_cast<size_t>(n));
      return true;
    }
  }

  static size_t find_header(const std::string& buf, size_t end, const char* name) {
    std::string lower = buf.substr(0, end);
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    size_t at = lower.find(name);
    return at == std::string::npos ? at : at + std::strlen(name);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> requests_{0};
  std::thread thread_;
};

// A port on 127.0.0.1 that refuses connections: bound, then closed.
int closed_port() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

struct OtlpSdk {
  std::shared_ptr<Sdk> sdk;
  const SpanExporter* exporter = nullptr;  // owned by the SDK's processor
};

// Exporter settings are the defaults (10 s timeout, 5 attempts, backoff 1–30 s)
// apart from the endpoint.
OtlpSdk make_otlp_sdk(int port) {
  OtlpHttpOptions options;
  options.endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1/traces";
  auto exporter = make_otlp_http_exporter(options);
  if (!exporter) {
    std::fprintf(stderr, "bench: %s\n", exporter.error().message.c_str());
    std::exit(2);
  }
  OtlpSdk out;
  out.exporter = exporter->get();
  out.sdk = make_bench_sdk(nullptr, std::move(*exporter));
  return out;
}

void end_one_span(const Tracer& tracer, uint64_t i) {
  Span span = tracer.start_span("GET /v1/chat");
  span.set_attribute("http.request.method", "POST");
  span.set_attribute("url.path", "/v1/chat/completions");
  span.set_attribute("server.address", "api.example.com");
  span.set_attribute("http.response.status_code", 200);
  span.set_attribute("server.port", 443);
  span.set_attribute("app.iteration", static_cast<int64_t>(i));
  span.set_attribute("app.latency_budget_ms", 250.5);
  span.set_attribute("app.sample_weight", 0.75);
}

// B9: N spans at full speed; the latency of each Span::end call on this thread.
void run_b9(const char* label, int port, uint64_t n) {
  std::vector<uint32_t> end_ns(n);  // allocated before the RSS baseline
  std::memset(end_ns.data(), 0, n * sizeof(uint32_t));
  // The baseline is taken before the SDK exists: its queue, record pool and
  // exporter buffers are part of what tracing costs.
  uint64_t rss_base = proc_status_kib("VmRSS");
  OtlpSdk o = make_otlp_sdk(port);
  Tracer tracer = o.sdk->tracer("bench");
  uint64_t rss_max = rss_base;
  auto t0 = Clock::now();
  for (uint64_t i = 0; i < n; ++i) {
    Span span = tracer.start_span("GET /v1/chat");
    span.set_attribute("http.request.method", "POST");
    span.set_attribute("url.path", "/v1/chat/completions");
    span.set_attribute("server.address", "api.example.com");
    span.set_attribute("http.response.status_code", 200);
    span.set_attribute("server.port", 443);
    span.set_attribute("app.iteration", static_cast<int64_t>(i));
    span.set_attribute("app.latency_budget_ms", 250.5);
    span.set_attribute("app.sample_weight", 0.75);
    auto a = Clock::now();
    span.end();
    auto b = Clock::now();
    end_ns[i] = static_cast<uint32_t>(std::min<int64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(b - a).count(), UINT32_MAX));
    if ((i & 0x3fff) == 0) rss_max = std::max(rss_max, proc_status_kib("VmRSS"));
  }
  double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  rss_max = std::max(rss_max, proc_status_kib("VmRSS"));
  SdkStats stats = o.sdk->stats();
  auto otlp = otlp_exporter_stats(*o.exporter);
  std::sort(end_ns.begin(), end_ns.end());
  auto pct = [&](double p) { return end_ns[static_cast<size_t>(p * static_cast<double>(n - 1))]; };
  std::printf(
      "B9 endpoint=%s spans=%llu seconds=%.3f spans_per_s=%.0f rss_growth_kib=%llu "
      "end_p50_ns=%u end_p99_ns=%u end_p999_ns=%u dropped=%llu exported=%llu "
      "http_requests=%llu\n",
      label, static_cast<unsigned long long>(n), seconds, static_cast<double>(n) / seconds,
      static_cast<unsigned long long>(rss_max - rss_base), pct(0.50), pct(0.99), pct(0.999),
      static_cast<unsigned long long>(stats.processor.dropped),
      static_cast<unsigned long long>(otlp ? otlp->exported_spans : 0),
      static_cast<unsigned long long>(otlp ? otlp->http_requests : 0));
  std::fflush(stdout);
  auto t_shutdown = Clock::now();
  o.sdk->shutdown(std::chrono::milliseconds(2000));
  std::printf("B9 endpoint=%s shutdown_ms=%.0f\n", label,
              std::chrono::duration<double, std::milli>(Clock::now() - t_shutdown).count());
}

// CPU time (user + system, in clock ticks) of every thread but the main one.
uint64_t background_ticks() {
  uint64_t total = 0;
  pid_t main_tid = getpid();
  DIR* dir = opendir("/proc/self/task");
  if (!dir) return 0;
  while (dirent* e = readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    if (std::atoi(e->d_name) == main_tid) continue;
    std::string path = std::string("/proc/self/task/") + e->d_name + "/stat";
    std::FILE* f = std::fopen(path.c_str(), "r");
    if (!f) continue;
    char line[1024];
    if (std::fgets(line, sizeof line, f)) {
      // Fields after the parenthesised command name: state is field 3,
      // utime 14, stime 15.
      const char* p = std::strrchr(line, ')');
      unsigned long long utime = 0, stime = 0;
      if (p && std::sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime,
                           &stime) == 2) {
        total += utime + stime;
      }
    }
    std::fclose(f);
  }
  closedir(dir);
  return total;
}

// B10: a steady 50k spans/s against a closed port.
void run_b10(double seconds) {
  // Earlier runs in this process already used up the rate limit of the
  // categories that matter here; start counting afresh.
  TEST_reset_warnings();
  std::mutex lines_mu;
  std::vector<std::string> lines;
  set_log_handler([&](std::string_view line) {
    std::lock_guard<std::mutex> lock(lines_mu);
    lines.emplace_back(line);
  });
  OtlpSdk o = make_otlp_sdk(closed_port());
  Tracer tracer = o.sdk->tracer("bench");
  constexpr int kRate = 50000;
  constexpr int kPerTick = 50;  // one tick per millisecond
  uint64_t ticks_before = background_ticks();
  auto t0 = Clock::now();
  auto next = t0;
  uint64_t spans = 0;
  while (Clock::now() - t0 < std::chrono::duration<double>(seconds)) {
    for (int i = 0; i < kPerTick; ++i) end_one_span(tracer, spans++);
    next += std::chrono::microseconds(1000000 * kPerTick / kRate);
    std::this_thread::sleep_until(next);
  }
  double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  uint64_t ticks = background_ticks() - ticks_before;
  double cpu_seconds = static_cast<double>(ticks) / static_cast<double>(sysconf(_SC_CLK_TCK));
  auto otlp = otlp_exporter_stats(*o.exporter);
  SdkStats stats = o.sdk->stats();
  size_t line_count;
  {
    std::lock_guard<std::mutex> lock(lines_mu);
    line_count = lines.size();
  }
  std::printf(
      "B10 seconds=%.2f spans=%llu spans_per_s=%.0f background_cpu_pct=%.2f "
      "http_requests=%llu connects_per_s=%.2f skipped_exports=%llu dropped=%llu "
      "failed_spans=%llu warning_lines=%zu warning_lines_per_min=%.1f warnings_counted=%llu\n",
      wall, static_cast<unsigned long long>(spans), static_cast<double>(spans) / wall,
      100.0 * cpu_seconds / wall, static_cast<unsigned long long>(otlp ? otlp->http_requests : 0),
      otlp ? static_cast<double>(otlp->http_requests) / wall : 0.0,
      static_cast<unsigned long long>(otlp ? otlp->skipped_exports : 0),
      static_cast<unsigned long long>(stats.processor.dropped),
      static_cast<unsigned long long>(stats.processor.failed_spans), line_count,
      60.0 * static_cast<double>(line_count) / wall, [] {
        uint64_t n = 0;
        for (const auto& [category, count] : warning_counts()) n += count;
        return static_cast<unsigned long long>(n);
      }());
  {
    std::lock_guard<std::mutex> lock(lines_mu);
    for (const std::string& line : lines) std::printf("B10 log: %s\n", line.c_str());
  }
  std::fflush(stdout);
  o.sdk->shutdown(std::chrono::milliseconds(2000));
  set_log_handler(nullptr);
}

}  // namespace
}  // namespace convtrace::bench

int main(int argc, char** argv) {
  using namespace convtrace::bench;
  uint64_t spans = flag_value(argc, argv, "--spans", 1000000);
  uint64_t seconds = flag_value(argc, argv, "--seconds", 15);
  {
    LocalEndpoint up;
    run_b9("up", up.port(), spans);
  }
  run_b9("down", closed_port(), spans);
  run_b10(static_cast<double>(seconds));
  return 0;
}
