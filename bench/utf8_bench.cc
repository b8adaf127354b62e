// The cost of the UTF-8 check at the door (common/utf8.h), and of B1 when
// every string value is new text. B1 sets the same values on every span, which
// a recycled span record already holds: those are compared, not checked.
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>
#include <vector>

#include "bench_support.h"
#include "common/utf8.h"

namespace convtrace::bench {
namespace {

// B1 with its three string values different on every span (4093 of each, a
// prime, so a recycled record never holds the value it is given): each value
// is checked and copied.
void BM_B1_ChangingStringValues(benchmark::State& state) {
  std::atomic<uint64_t> exported{0};
  auto sdk = make_bench_sdk(&exported);
  Tracer tracer = sdk->tracer("bench");
  constexpr size_t kValues = 4093;
  std::vector<std::string> paths, hosts, methods;
  for (size_t i = 0; i < kValues; ++i) {
    paths.push_back("/v1/chat/completions/" + std::to_string(i));
    hosts.push_back("api" + std::to_string(i) + ".example.com");
    methods.push_back(i % 2 ? "POST" : "GET" + std::to_string(i));
  }
  size_t i = 0;
  for (auto _ : state) {
    Span span = tracer.start_span("GET /v1/chat");
    span.set_attribute("http.request.method", methods[i]);
    span.set_attribute("url.path", paths[i]);
    span.set_attribute("server.address", hosts[i]);
    span.set_attribute("http.response.status_code", 200);
    span.set_attribute("server.port", 443);
    span.set_attribute("app.retry_count", 0);
    span.set_attribute("app.latency_budget_ms", 250.5);
    span.set_attribute("app.sample_weight", 0.75);
    span.end();
    if (++i == kValues) i = 0;
  }
  sdk->force_flush();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_B1_ChangingStringValues);

// utf8::valid on ASCII of a given length, and on text that is mostly not ASCII.
void BM_Utf8ValidAscii(benchmark::State& state) {
  std::string text(static_cast<size_t>(state.range(0)), 'a');
  for (auto _ : state) {
    benchmark::DoNotOptimize(text.data());
    benchmark::DoNotOptimize(utf8::valid(text));
  }
  state.SetBytesProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_Utf8ValidAscii)->Arg(8)->Arg(24)->Arg(256)->Arg(4096);

void BM_Utf8ValidMixed(benchmark::State& state) {
  std::string text;
  while (text.size() < static_cast<size_t>(state.range(0)))
    text += "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC ";
  for (auto _ : state) {
    benchmark::DoNotOptimize(text.data());
    benchmark::DoNotOptimize(utf8::valid(text));
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(text.size()));
}
BENCHMARK(BM_Utf8ValidMixed)->Arg(256);

}  // namespace
}  // namespace convtrace::bench
