// B1: the cost of tracing one span on the application thread.
#include <benchmark/benchmark.h>

#include <atomic>

#include "bench_support.h"
#include "trace/clock.h"

namespace convtrace::bench {
namespace {

// Start + 8 attributes (3 strings, 3 ints, 2 doubles) + end, with the batch
// processor queueing to a background worker and a no-op exporter — the
// configuration mainstream OTel C++ SDK measures at 1.6–2.5 µs per span.
void BM_B1_SpanStartEnd8Attributes(benchmark::State& state) {
  std::atomic<uint64_t> exported{0};
  auto sdk = make_bench_sdk(&exported);
  Tracer tracer = sdk->tracer("bench");
  for (auto _ : state) {
    Span span = tracer.start_span("GET /v1/chat");
    span.set_attribute("http.request.method", "POST");
    span.set_attribute("url.path", "/v1/chat/completions");
    span.set_attribute("server.address", "api.example.com");
    span.set_attribute("http.response.status_code", 200);
    span.set_attribute("server.port", 443);
    span.set_attribute("app.retry_count", 0);
    span.set_attribute("app.latency_budget_ms", 250.5);
    span.set_attribute("app.sample_weight", 0.75);
    span.end();
  }
  sdk->force_flush();
  SdkStats stats = sdk->stats();
  state.SetItemsProcessed(state.iterations());
  // Spans the worker could not take in time are dropped and counted; a run
  // that mostly drops would measure the wrong thing, so the share is shown.
  state.counters["dropped_pct"] = stats.processor.ended
                                      ? 100.0 * static_cast<double>(stats.processor.dropped) /
                                            static_cast<double>(stats.processor.ended)
                                      : 0.0;
}
BENCHMARK(BM_B1_SpanStartEnd8Attributes);

// The floor: a span with no attributes.
void BM_SpanStartEndBare(benchmark::State& state) {
  std::atomic<uint64_t> exported{0};
  auto sdk = make_bench_sdk(&exported);
  Tracer tracer = sdk->tracer("bench");
  for (auto _ : state) {
    Span span = tracer.start_span("bare");
    span.end();
  }
  sdk->force_flush();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpanStartEndBare);

// Without an installed SDK every span is a no-op.
void BM_SpanNoSdk(benchmark::State& state) {
  std::shared_ptr<Sdk> previous = installed();  // other benchmarks use it
  install(nullptr);
  for (auto _ : state) {
    Span span = start_span("noop");
    span.set_attribute("k", 1);
    span.end();
  }
  install(previous);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SpanNoSdk);

// A span reads the steady clock twice: the scaled time-stamp counter where
// the CPU has an invariant one, against clock_gettime(CLOCK_MONOTONIC).
void BM_ClockSteadyNanos(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(steady_nanos());
  state.counters["uses_tsc"] = steady_nanos_uses_tsc() ? 1 : 0;
}
BENCHMARK(BM_ClockSteadyNanos);

void BM_ClockGettimeMonotonic(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(monotonic_nanos());
}
BENCHMARK(BM_ClockGettimeMonotonic);

}  // namespace
}  // namespace convtrace::bench
