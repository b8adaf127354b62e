// B2–B4: the GenAI layer on the application thread.
#include <benchmark/benchmark.h>

#include <time.h>

#include <algorithm>
#include <atomic>
#include <string>
#include <vector>

#include "bench_support.h"
#include "genai/registry.h"
#include "trace/sdk_state.h"

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

// Discards every collection: B2m measures recording, not export.
class NullMetricExporter : public MetricExporter {
 public:
  ExportResult export_metrics(const MetricsBatch&) noexcept override {
    return ExportResult::success;
  }
};

uint64_t thread_cpu_ns() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return uint64_t(ts.tv_sec) * 1000000000u + uint64_t(ts.tv_nsec);
}

// B2m: what recording metrics adds to an observed call. Two SDKs differ in
// more than metrics (their span pools, export threads and caches), and this
// host's speed drifts by more than the difference within seconds, so one SDK
// runs blocks of calls with its recorder attached and detached in turn, and
// each pair of neighbouring blocks gives one difference. The counters are
// medians over the pairs, per call, in thread CPU time.
void BM_B2m_MetricsAddedToObservedCall(benchmark::State& state) {
  static std::shared_ptr<Sdk> sdk =
      make_bench_sdk(&g_exported, nullptr, std::make_unique<NullMetricExporter>());
  SdkState* st = sdk->TEST_state();
  MetricsRecorder* recorder = st->metrics;
  std::shared_ptr<Sdk> previous = installed_bench_sdk();
  install(sdk);
  const Usage usage = sample_usage();
  auto conv = conversation("support_m", {"user_123"});
  auto wf = workflow("rag_m", "rag");
  constexpr int kBlock = 128;
  auto run_block = [&](bool with_metrics) {
    st->metrics = with_metrics ? recorder : nullptr;
    const uint64_t t0 = thread_cpu_ns();
    for (int i = 0; i < kBlock; ++i) {
      int64_t tokens = observe({"chat", Kind::llm, "gpt-4o", "openai"}, [&](Span& span) {
        span.record_usage(usage);
        return usage.output_tokens.value_or(0);
      });
      benchmark::DoNotOptimize(tokens);
    }
    return double(thread_cpu_ns() - t0) / kBlock;
  };
  std::vector<double> off, on, added;
  bool metrics_first = false;
  for (auto _ : state) {
    // Which block comes first alternates, so neither side always runs on
    // caches the other warmed.
    double first = run_block(metrics_first);
    double second = run_block(!metrics_first);
    double with = metrics_first ? first : second;
    double without = metrics_first ? second : first;
    on.push_back(with);
    off.push_back(without);
    added.push_back(with - without);
    metrics_first = !metrics_first;
  }
  st->metrics = recorder;
  install(previous);
  auto median = [](std::vector<double>& v) {
    if (v.empty()) return 0.0;
    std::nth_element(v.begin(), v.begin() + v.size() / 2, v.end());
    return v[v.size() / 2];
  };
  state.counters["off_ns"] = median(off);
  state.counters["on_ns"] = median(on);
  state.counters["added_ns"] = median(added);
  state.SetItemsProcessed(state.iterations() * 2 * kBlock);
}
BENCHMARK(BM_B2m_MetricsAddedToObservedCall);

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
