// Shared set-up for the benchmark programs: an SDK wired to an exporter that
// discards spans, and small readers of process statistics.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "convtrace/convtrace.h"

namespace convtrace::bench {

// Accepts every batch and only counts it: the benchmarks measure the SDK, not
// an exporter's I/O.
class CountingExporter : public SpanExporter {
 public:
  explicit CountingExporter(std::atomic<uint64_t>* exported) : exported_(exported) {}
  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    exported_->fetch_add(batch.size(), std::memory_order_relaxed);
    return ExportResult::success;
  }
  bool never_blocks() const noexcept override { return true; }

 private:
  std::atomic<uint64_t>* exported_;
};

inline Pricing bench_pricing() {
  Pricing pricing;
  pricing.set("gpt-4o", 2.50, 10.00, 1.25);
  pricing.set("claude-sonnet-4-5", 3.00, 15.00, 0.30, 3.75);
  return pricing;
}

// An SDK with the default batch processor (OTel defaults: queue 2048, batch
// 512) exporting to a CountingExporter, and with the GenAI metrics on when
// given a metric exporter (collecting every second). Exits on a configuration
// error, which would be a bug in the benchmark itself.
inline std::shared_ptr<Sdk> make_bench_sdk(std::atomic<uint64_t>* exported,
                                           std::unique_ptr<SpanExporter> exporter = nullptr,
                                           std::unique_ptr<MetricExporter> metrics = nullptr) {
  Config config;
  config.read_environment = false;
  config.service_name = "bench";
  config.exporter = ExporterKind::custom;
  config.custom_exporter =
      exporter ? std::move(exporter) : std::make_unique<CountingExporter>(exported);
  config.pricing = bench_pricing();
  if (metrics) {
    config.metrics_exporter = MetricsExporterKind::custom;
    config.custom_metric_exporter = std::move(metrics);
    config.metrics.export_interval = std::chrono::seconds(1);
  }
  auto sdk = Sdk::create(std::move(config));
  if (!sdk) {
    std::fprintf(stderr, "bench: %s\n", sdk.error().message.c_str());
    std::exit(2);
  }
  return std::move(*sdk);
}

// Whether the flag `--name` (no value) is on the command line.
inline bool flag_set(int argc, char** argv, const char* name) {
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], name) == 0) return true;
  }
  return false;
}

// The value of a `--name=N` command-line flag, or `fallback`.
inline uint64_t flag_value(int argc, char** argv, const char* name, uint64_t fallback) {
  size_t len = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, len) == 0 && argv[i][len] == '=') {
      return std::strtoull(argv[i] + len + 1, nullptr, 10);
    }
  }
  return fallback;
}

// The value of a `--name=TEXT` command-line flag, or `fallback`.
inline std::string flag_text(int argc, char** argv, const char* name, const char* fallback) {
  size_t len = std::strlen(name);
  for (int i = 1; i < argc; ++i) {
    if (std::strncmp(argv[i], name, len) == 0 && argv[i][len] == '=') return argv[i] + len + 1;
  }
  return fallback;
}

// A field of /proc/self/status in KiB ("VmRSS", "VmHWM"); 0 when unreadable.
inline uint64_t proc_status_kib(const char* field) {
  std::FILE* f = std::fopen("/proc/self/status", "r");
  if (!f) return 0;
  char line[256];
  uint64_t value = 0;
  size_t len = std::strlen(field);
  while (std::fgets(line, sizeof line, f)) {
    if (std::strncmp(line, field, len) == 0 && line[len] == ':') {
      value = std::strtoull(line + len + 1, nullptr, 10);
      break;
    }
  }
  std::fclose(f);
  return value;
}

// A realistic chat-completion usage, as a provider reports it.
inline Usage sample_usage() {
  Usage u;
  u.input_tokens = 1200;
  u.output_tokens = 350;
  u.cache_read_tokens = 1024;
  u.provider = "openai";
  u.model = "gpt-4o-2024-08-06";
  u.response_id = "chatcmpl-B9MBs8CjcvOU2jLn4n570S5";
  u.finish_reasons = {"stop"};
  return u;
}

// B1's span between start and end: 3 string, 3 integer and 2 double
// attributes; `counter` is the third integer (B1 itself uses 0).
inline void set_b1_attributes(Span& span, int64_t counter = 0) {
  span.set_attribute("http.request.method", "POST");
  span.set_attribute("url.path", "/v1/chat/completions");
  span.set_attribute("server.address", "api.example.com");
  span.set_attribute("http.response.status_code", 200);
  span.set_attribute("server.port", 443);
  span.set_attribute("app.retry_count", counter);
  span.set_attribute("app.latency_budget_ms", 250.5);
  span.set_attribute("app.sample_weight", 0.75);
}

}  // namespace convtrace::bench
