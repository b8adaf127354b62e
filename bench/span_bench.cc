// B1: the cost of tracing one span on the application thread.
#include <benchmark/benchmark.h>

#include <atomic>

#include "bench_support.h"
#include "trace/clock.h"

namespace convtrace::bench {
namespace {

// Four span shapes (names and attribute sets) a service mixes: an HTTP
// call (B1's), a database query, a cache look-up and an LLM call.
void shape_http(Span& s) {
  s.set_attribute("http.request.method", "POST");
  s.set_attribute("url.path", "/v1/chat/completions");
  s.set_attribute("server.address", "api.example.com");
  s.set_attribute("http.response.status_code", 200);
  s.set_attribute("server.port", 443);
  s.set_attribute("app.retry_count", 0);
  s.set_attribute("app.latency_budget_ms", 250.5);
  s.set_attribute("app.sample_weight", 0.75);
}
void shape_db(Span& s) {
  s.set_attribute("db.system.name", "postgresql");
  s.set_attribute("db.namespace", "orders");
  s.set_attribute("db.query.text", "SELECT id, total FROM orders WHERE customer_id = $1");
  s.set_attribute("db.response.returned_rows", 12);
  s.set_attribute("server.address", "db.internal");
}
void shape_cache(Span& s) {
  s.set_attribute("cache.key", "session:4f1c2a");
  s.set_attribute("cache.hit", true);
  s.set_attribute("cache.ttl_s", 300);
}
void shape_llm(Span& s) {
  s.set_attribute("gen_ai.operation.name", "chat");
  s.set_attribute("gen_ai.provider.name", "openai");
  s.set_attribute("gen_ai.request.model", "gpt-4o");
  s.set_attribute("gen_ai.response.model", "gpt-4o-2024-08-06");
  s.set_attribute("gen_ai.request.temperature", 0.2);
  s.set_attribute("gen_ai.request.max_tokens", 512);
  s.set_attribute("gen_ai.usage.input_tokens", 1200);
  s.set_attribute("gen_ai.usage.output_tokens", 310);
  s.set_attribute("gen_ai.response.id", "chatcmpl-9x1Yq2");
  s.set_attribute("server.address", "api.openai.com");
}
struct Shape {
  const char* name;
  const char* renamed;  // for Arg 2: the name it is given after it starts
  void (*fill)(Span&);
};
constexpr Shape kShapes[] = {
    {"POST /v1/chat", "POST /v1/chat/completions", shape_http},
    {"SELECT orders", "SELECT orders.total", shape_db},
    {"cache get", "cache get session", shape_cache},
    {"chat", "chat gpt-4o", shape_llm},
};

// Spans the worker could not take in time are dropped and counted; a run
// that mostly drops would measure the wrong thing, so the share is shown.
void count_dropped(benchmark::State& state, Sdk& sdk) {
  sdk.force_flush();
  SdkStats stats = sdk.stats();
  state.SetItemsProcessed(state.iterations());
  state.counters["dropped_pct"] = stats.processor.ended
                                      ? 100.0 * static_cast<double>(stats.processor.dropped) /
                                            static_cast<double>(stats.processor.ended)
                                      : 0.0;
}

// Start + 8 attributes (3 strings, 3 ints, 2 doubles) + end, with the batch
// processor queueing to a background worker and a no-op exporter — the
// configuration mainstream OTel C++ SDK measures at 1.6–2.5 µs per span.
void BM_B1_SpanStartEnd8Attributes(benchmark::State& state) {
  std::atomic<uint64_t> exported{0};
  auto sdk = make_bench_sdk(&exported);
  Tracer tracer = sdk->tracer("bench");
  for (auto _ : state) {
    Span span = tracer.start_span("GET /v1/chat");
    shape_http(span);
    span.end();
  }
  count_dropped(state, *sdk);
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

// The four shapes, the same number of spans of each, in long runs of one
// shape (Arg 0) or rotating span by span (Arg 1). The order is all that
// differs: a recycled record written by a span of another shape must be
// rewritten slot by slot. The target is rotating ≤ 1.2× runs. Arg 2 is
// Arg 0 with every span renamed after it starts (as a model call is once
// its model is known), so no record comes back under the name it is asked for.
void BM_B1s_FourShapes(benchmark::State& state) {
  std::atomic<uint64_t> exported{0};
  auto sdk = make_bench_sdk(&exported);
  Tracer tracer = sdk->tracer("bench");
  const bool rotating = state.range(0) == 1;
  const bool renamed = state.range(0) == 2;
  // Longer than the records in flight between the application thread and
  // the export thread, so a run's records come back to spans of its shape.
  constexpr uint64_t kRun = 1 << 14;
  uint64_t i = 0;
  for (auto _ : state) {
    const Shape& shape = kShapes[(rotating ? i : i / kRun) % 4];
    Span span = tracer.start_span(shape.name);
    if (renamed) span.update_name(shape.renamed);
    shape.fill(span);
    span.end();
    ++i;
  }
  count_dropped(state, *sdk);
}
BENCHMARK(BM_B1s_FourShapes)->ArgName("order")->Arg(0)->Arg(1)->Arg(2);

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
