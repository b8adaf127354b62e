// B2–B4: the GenAI layer on the application thread.
#include <benchmark/benchmark.h>

#include <atomic>
#include <string>

#include "bench_support.h"
#include "genai/registry.h"

namespace convtrace::bench {
namespace {

// One SDK for the whole program, installed once: observe() and the scopes use
// the installed SDK, and multi-threaded runs must share it.
std::atomic<uint64_t> g_exported{0};
std::shared_ptr<Sdk>& installed_bench_sdk() {
  static std::shared_ptr<Sdk> sdk = [] {
    auto s = make_bench_sdk(&g_exported);
    install(s);
    return s;
  }();
  return sdk;
}

// An observed LLM call as an app writes it, inside a conversation and a
// workflow: span start, stamping of conversation/turn/user/workflow, usage
// attributes, exact cost, workflow/turn totals, span end.
void observed_call_loop(benchmark::State& state) {
  if (!installed()) installed_bench_sdk();
  const Usage usage = sample_usage();
  // Each thread is its own request of its own conversation, as in a server.
  std::string conv_id = "support_" + std::to_string(state.thread_index());
  auto conv = conversation(conv_id, {"user_123"});
  auto wf = workflow("rag_" + std::to_string(state.thread_index()), "rag");
  for (auto _ : state) {
    int64_t tokens = observe({"chat", Kind::llm, "gpt-4o", "openai"}, [&](Span& span) {
      span.record_usage(usage);
      return usage.output_tokens.value_or(0);
    });
    benchmark::DoNotOptimize(tokens);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_B2_ObservedLlmCall(benchmark::State& state) { observed_call_loop(state); }
BENCHMARK(BM_B2_ObservedLlmCall);

// Discards every collection: B2 with metrics measures recording, not export.
class NullMetricExporter : public MetricExporter {
 public:
  ExportResult export_metrics(const MetricsBatch&) noexcept override {
    return ExportResult::success;
  }
};

// B2 with the GenAI metrics on (duration, tokens, cost, exemplars), in the
// same program run as B2 without them, so the difference is what metrics add.
void BM_B2_ObservedLlmCallWithMetrics(benchmark::State& state) {
  static std::shared_ptr<Sdk> sdk = [] {
    Config config;
    config.read_environment = false;
    config.service_name = "bench";
    config.exporter = ExporterKind::custom;
    config.custom_exporter = std::make_unique<CountingExporter>(&g_exported);
    config.pricing = bench_pricing();
    config.metrics_exporter = MetricsExporterKind::custom;
    config.custom_metric_exporter = std::make_unique<NullMetricExporter>();
    config.metrics.export_interval = std::chrono::seconds(1);
    auto s = Sdk::create(std::move(config));
    if (!s) std::abort();
    return std::move(*s);
  }();
  std::shared_ptr<Sdk> previous = installed_bench_sdk();
  install(sdk);
  observed_call_loop(state);
  install(previous);
}
BENCHMARK(BM_B2_ObservedLlmCallWithMetrics);

// B4: the same on 1 and 2 threads at once; items_per_second is the aggregate.
void BM_B4_ObservedLlmCallThreads(benchmark::State& state) { observed_call_loop(state); }
BENCHMARK(BM_B4_ObservedLlmCallThreads)->Threads(1)->Threads(2)->UseRealTime();

// B3: entering and leaving a conversation scope for a known id.
void BM_B3_ConversationScope(benchmark::State& state) {
  installed_bench_sdk();
  for (auto _ : state) {
    auto conv = conversation("support_789", {"user_123"});
    benchmark::DoNotOptimize(&conv);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_B3_ConversationScope);

// B3: a new request of a known conversation: enter the scope, and its first
// span claims the next turn from the registry.
void BM_B3_ConversationScopeWithTurn(benchmark::State& state) {
  installed_bench_sdk();
  for (auto _ : state) {
    auto conv = conversation("support_789", {"user_123"});
    Span span = start_span("turn");
    span.end();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_B3_ConversationScopeWithTurn);

// B3: the registry look-up alone, for a known id among 10k live ones.
void BM_B3_RegistryLookup(benchmark::State& state) {
  ConversationRegistry registry(100000, std::chrono::hours(6));
  std::vector<std::string> ids;
  for (int i = 0; i < 10000; ++i) ids.push_back("conversation_" + std::to_string(i));
  for (const std::string& id : ids) registry.get(id);
  size_t i = 0;
  for (auto _ : state) {
    auto entry = registry.get(ids[i]);
    benchmark::DoNotOptimize(entry.get());
    i = (i + 1) % ids.size();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_B3_RegistryLookup);

}  // namespace
}  // namespace convtrace::bench
