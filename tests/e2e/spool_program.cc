// A process that exports through the OTLP disk spool, run by spool_test.cc.
//   spool_program write URL DIR N   N spans (attribute "i" = 0..N-1) with the
//                                   endpoint at URL down, flushed into the spool
//                                   at DIR; prints "spooled" and then keeps
//                                   ending spans (i >= N) until it is killed.
//   spool_program deliver URL DIR   opens the spool at DIR, waits until what it
//                                   found there is delivered to URL, prints
//                                   "recovered <spans>" and exits.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "convtrace/convtrace.h"
#include "convtrace/otlp.h"

namespace {

convtrace::OtlpHttpOptions options(const char* url) {
  convtrace::OtlpHttpOptions o;
  o.endpoint = url;
  o.timeout = std::chrono::milliseconds(500);
  o.retry_initial_backoff = std::chrono::milliseconds(20);
  o.retry_max_backoff = std::chrono::milliseconds(100);
  o.max_attempts = 2;
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) return 2;
  const std::string mode = argv[1];
  if (mode == "write" && argc >= 5) {
    // Through Config, as an application sets the spool up.
    convtrace::Config c;
    c.read_environment = false;
    c.exporter = convtrace::ExporterKind::otlp;
    c.otlp = options(argv[2]);
    c.otlp_spool_dir = argv[3];
    c.batch = convtrace::BatchOptions{2048, 64, std::chrono::milliseconds(5),
                                      std::chrono::milliseconds(1000)};
    auto sdk = convtrace::Sdk::create(std::move(c));
    if (!sdk) {
      std::fprintf(stderr, "%s\n", sdk.error().message.c_str());
      return 3;
    }
    convtrace::Tracer tracer = (*sdk)->tracer("spool");
    const long n = std::atol(argv[4]);
    for (long i = 0; i < n; ++i) {
      {
        convtrace::Span s = tracer.start_span("s");
        s.set_attribute("i", static_cast<int64_t>(i));
      }
      // Never more than the span queue holds: nothing is dropped before the spool.
      if (i % 400 == 399 && !(*sdk)->force_flush(std::chrono::seconds(20))) return 4;
    }
    // Returns once nothing is held only in memory: all of it is in the spool.
    if (!(*sdk)->force_flush(std::chrono::seconds(20))) return 4;
    std::printf("spooled\n");
    std::fflush(stdout);
    for (long i = n;; ++i) {
      convtrace::Span s = tracer.start_span("s");
      s.set_attribute("i", static_cast<int64_t>(i));
      s.end();
      if (i % 64 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  if (mode == "deliver") {
    convtrace::OtlpHttpOptions o = options(argv[2]);
    o.spool.directory = argv[3];
    auto exporter = convtrace::make_otlp_http_exporter(o);
    if (!exporter) {
      std::fprintf(stderr, "%s\n", exporter.error().message.c_str());
      return 3;
    }
    const convtrace::SpanExporter* raw = exporter->get();
    convtrace::Config c;
    c.read_environment = false;
    c.custom_exporter = std::move(*exporter);
    auto sdk = convtrace::Sdk::create(std::move(c));
    if (!sdk) return 3;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    for (;;) {
      auto stats = convtrace::otlp_exporter_stats(*raw);
      if (stats->pending_spans == 0) {
        std::printf("recovered %llu\n", static_cast<unsigned long long>(stats->recovered_spans));
        break;
      }
      if (std::chrono::steady_clock::now() > deadline) return 5;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    (*sdk)->shutdown(std::chrono::seconds(5));
    return 0;
  }
  return 2;
}
