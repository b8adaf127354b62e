// The opentelemetry-cpp bridge, side by side with opentelemetry-cpp alone and
// with convtrace's own SDK, in one program run:
//  - what convtrace's processor adds to an opentelemetry-cpp span with 8
//    attributes (BatchSpanProcessor, discarding exporter), outside any scope
//    and inside a conversation turn;
//  - an observed LLM call through the bridge against the same call through
//    convtrace's own SDK.
// and the side-by-side comparison of the two SDKs on the same workloads
// (bench/side_by_side.py runs it in alternating rounds and prints medians and
// ratios): a span with 8 attributes through the batch and the simple
// processor; two application threads ending spans as fast as they can, with
// the share dropped and the spans that reached the exporter per second; an
// observed LLM call against the same 21 attributes set by hand.
// Run with --benchmark_repetitions=N --benchmark_enable_random_interleaving=true
// so the variants alternate.
//
// Not compared here, because the vendored opentelemetry-cpp source has no
// opentelemetry-proto files (its OTLP exporters need them, and this machine
// cannot download them): OTLP encoding and the collector-down behaviour of
// opentelemetry-cpp. convtrace's side of both is measured by B5 and B9/B10.
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <opentelemetry/sdk/common/global_log_handler.h>
#include <opentelemetry/sdk/trace/batch_span_processor_factory.h>
#include <opentelemetry/sdk/trace/batch_span_processor_options.h>
#include <opentelemetry/sdk/trace/exporter.h>
#include <opentelemetry/sdk/trace/simple_processor_factory.h>
#include <opentelemetry/sdk/trace/span_data.h>
#include <opentelemetry/sdk/trace/tracer_provider.h>
#include <opentelemetry/sdk/trace/tracer_provider_factory.h>
#include <opentelemetry/trace/scope.h>

#include "bench_support.h"
#include "convtrace/opentelemetry.h"
#include "trace/context_backend.h"

namespace convtrace::bench {
namespace {

namespace otel_sdk = ::opentelemetry::sdk::trace;
namespace otel_api = ::opentelemetry::trace;
namespace nostd = ::opentelemetry::nostd;

// Accepts every batch and drops it, counting spans.
class DiscardingExporter final : public otel_sdk::SpanExporter {
 public:
  std::unique_ptr<otel_sdk::Recordable> MakeRecordable() noexcept override {
    return std::make_unique<otel_sdk::SpanData>();
  }
  ::opentelemetry::sdk::common::ExportResult Export(
      const nostd::span<std::unique_ptr<otel_sdk::Recordable>>& spans) noexcept override {
    exported.fetch_add(spans.size(), std::memory_order_relaxed);
    return ::opentelemetry::sdk::common::ExportResult::kSuccess;
  }
  bool ForceFlush(std::chrono::microseconds) noexcept override { return true; }
  bool Shutdown(std::chrono::microseconds) noexcept override { return true; }
  static inline std::atomic<uint64_t> exported{0};
};

std::shared_ptr<otel_sdk::TracerProvider> make_provider(bool with_convtrace) {
  // A full queue drops spans in every variant alike; its log line per span
  // would only slow the runs down.
  ::opentelemetry::sdk::common::internal_log::GlobalLogHandler::SetLogLevel(
      ::opentelemetry::sdk::common::internal_log::LogLevel::None);
  auto exporting = otel_sdk::BatchSpanProcessorFactory::Create(
      std::make_unique<DiscardingExporter>(), otel_sdk::BatchSpanProcessorOptions{});
  std::unique_ptr<otel_sdk::SpanProcessor> processor =
      with_convtrace ? otel::make_span_processor(std::move(exporting)) : std::move(exporting);
  return std::shared_ptr<otel_sdk::TracerProvider>(
      otel_sdk::TracerProviderFactory::Create(std::move(processor)));
}

std::shared_ptr<otel_sdk::TracerProvider> make_simple_provider() {
  ::opentelemetry::sdk::common::internal_log::GlobalLogHandler::SetLogLevel(
      ::opentelemetry::sdk::common::internal_log::LogLevel::None);
  return std::shared_ptr<otel_sdk::TracerProvider>(otel_sdk::TracerProviderFactory::Create(
      otel_sdk::SimpleSpanProcessorFactory::Create(std::make_unique<DiscardingExporter>())));
}

// The same span as B1: a name, 3 string, 3 integer and 2 double attributes.
void end_otel_b1_span(otel_api::Tracer& tracer) {
  auto span = tracer.StartSpan("GET /v1/chat");
  span->SetAttribute("http.request.method", "POST");
  span->SetAttribute("url.path", "/v1/chat/completions");
  span->SetAttribute("server.address", "api.example.com");
  span->SetAttribute("http.response.status_code", 200);
  span->SetAttribute("server.port", 443);
  span->SetAttribute("app.retry_count", 0);
  span->SetAttribute("app.latency_budget_ms", 250.5);
  span->SetAttribute("app.sample_weight", 0.75);
  span->End();
}

void otel_span_loop(benchmark::State& state, otel_api::Tracer& tracer) {
  for (auto _ : state) end_otel_b1_span(tracer);
  state.SetItemsProcessed(state.iterations());
}

void BM_OtelSpan8Attributes_Plain(benchmark::State& state) {
  auto provider = make_provider(false);
  otel_span_loop(state, *provider->GetTracer("bench"));
  provider->Shutdown();
}
BENCHMARK(BM_OtelSpan8Attributes_Plain);

void BM_OtelSpan8Attributes_ConvtraceProcessor(benchmark::State& state) {
  auto provider = make_provider(true);
  otel_span_loop(state, *provider->GetTracer("bench"));
  provider->Shutdown();
}
BENCHMARK(BM_OtelSpan8Attributes_ConvtraceProcessor);

// --- Side by side: the same workloads on both SDKs -------------------------

void convtrace_span_loop(benchmark::State& state, const Tracer& tracer) {
  for (auto _ : state) {
    Span span = tracer.start_span("GET /v1/chat");
    set_b1_attributes(span);
    span.end();
  }
  state.SetItemsProcessed(state.iterations());
}

// opentelemetry-cpp's side of the batch row is BM_OtelSpan8Attributes_Plain.
void BM_SideBySide_Span8Batch_Convtrace(benchmark::State& state) {
  std::atomic<uint64_t> exported{0};
  auto sdk = make_bench_sdk(&exported);
  convtrace_span_loop(state, sdk->tracer("bench"));
  sdk->shutdown();
}
BENCHMARK(BM_SideBySide_Span8Batch_Convtrace);

void BM_SideBySide_Span8Simple_Otel(benchmark::State& state) {
  auto provider = make_simple_provider();
  otel_span_loop(state, *provider->GetTracer("bench"));
  provider->Shutdown();
}
BENCHMARK(BM_SideBySide_Span8Simple_Otel);

void BM_SideBySide_Span8Simple_Convtrace(benchmark::State& state) {
  std::atomic<uint64_t> exported{0};
  Config config;
  config.read_environment = false;
  config.service_name = "bench";
  config.custom_exporter = std::make_unique<CountingExporter>(&exported);
  config.synchronous_export = true;
  auto sdk = Sdk::create(std::move(config));
  if (!sdk) {
    state.SkipWithError(sdk.error().message.c_str());
    return;
  }
  convtrace_span_loop(state, (*sdk)->tracer("bench"));
  (*sdk)->shutdown();
}
BENCHMARK(BM_SideBySide_Span8Simple_Convtrace);

// Two application threads ending B1's span as fast as they can for a fixed
// count each (one benchmark iteration = one round). Counters: spans ended
// and spans that reached the exporter per second of wall time, and the
// share dropped at the queue.
constexpr int kSpansPerThread = 200000;

template <typename EndOne>
double two_threads(EndOne end_one) {
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int t = 0; t < 2; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kSpansPerThread; ++i) end_one();
    });
  }
  for (auto& t : threads) t.join();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void report_rates(benchmark::State& state, double wall, uint64_t ended, uint64_t exported) {
  state.SetIterationTime(wall);
  state.counters["ended_per_s"] = static_cast<double>(ended) / wall;
  state.counters["exported_per_s"] = static_cast<double>(exported) / wall;
  state.counters["dropped_pct"] =
      ended ? 100.0 * static_cast<double>(ended - std::min(ended, exported)) /
                  static_cast<double>(ended)
            : 0.0;
}

void BM_SideBySide_TwoThreads_Otel(benchmark::State& state) {
  for (auto _ : state) {
    auto provider = make_provider(false);
    auto tracer = provider->GetTracer("bench");
    uint64_t before = DiscardingExporter::exported.load();
    double wall = two_threads([&] { end_otel_b1_span(*tracer); });
    // What the worker took before the threads finished reached the exporter
    // within the round; the flush counts the rest, which a full queue kept.
    provider->ForceFlush();
    report_rates(state, wall, 2 * kSpansPerThread, DiscardingExporter::exported.load() - before);
    provider->Shutdown();
  }
}
BENCHMARK(BM_SideBySide_TwoThreads_Otel)->Iterations(1)->UseManualTime();

void BM_SideBySide_TwoThreads_Convtrace(benchmark::State& state) {
  for (auto _ : state) {
    std::atomic<uint64_t> exported{0};
    auto sdk = make_bench_sdk(&exported);
    Tracer tracer = sdk->tracer("bench");
    double wall = two_threads([&] {
      Span span = tracer.start_span("GET /v1/chat");
      set_b1_attributes(span);
      span.end();
    });
    sdk->force_flush();
    report_rates(state, wall, 2 * kSpansPerThread, exported.load());
    sdk->shutdown();
  }
}
BENCHMARK(BM_SideBySide_TwoThreads_Convtrace)->Iterations(1)->UseManualTime();

// Inside a conversation whose turn an enclosing span claimed: every span is
// stamped with the conversation, user and turn.
void BM_OtelSpan8Attributes_ConvtraceProcessorInTurn(benchmark::State& state) {
  auto provider = make_provider(true);
  auto tracer = provider->GetTracer("bench");
  {
    auto conv = conversation("support_789", {"user_123"});
    auto request = tracer->StartSpan("POST /chat");
    otel_api::Scope active(request);
    otel_span_loop(state, *tracer);
    request->End();
  }
  provider->Shutdown();
}
BENCHMARK(BM_OtelSpan8Attributes_ConvtraceProcessorInTurn);

// What B2's observed call records, set by hand on a plain opentelemetry-cpp
// span: the same 21 attributes (no turn, no totals, cost precomputed).
void BM_OtelSpan21GenAiAttributesByHand_Plain(benchmark::State& state) {
  auto provider = make_provider(false);
  auto tracer = provider->GetTracer("bench");
  for (auto _ : state) {
    otel_api::StartSpanOptions options;
    options.kind = otel_api::SpanKind::kClient;
    auto span = tracer->StartSpan("chat gpt-4o", options);
    span->SetAttribute("gen_ai.conversation.id", "support_789");
    span->SetAttribute("gen_ai.conversation.turn", 1);
    span->SetAttribute("user.id", "user_123");
    span->SetAttribute("workflow.id", "rag_1");
    span->SetAttribute("workflow.type", "rag");
    span->SetAttribute("gen_ai.l9.span.kind", "llm");
    span->SetAttribute("gen_ai.operation.name", "chat");
    span->SetAttribute("gen_ai.request.model", "gpt-4o");
    span->SetAttribute("gen_ai.provider.name", "openai");
    span->SetAttribute("gen_ai.usage.input_tokens", 1200);
    span->SetAttribute("gen_ai.usage.output_tokens", 350);
    span->SetAttribute("gen_ai.usage.cache_read.input_tokens", 1024);
    span->SetAttribute("gen_ai.response.model", "gpt-4o-2024-08-06");
    span->SetAttribute("gen_ai.response.id", "chatcmpl-B9MBs8CjcvOU2jLn4n570S5");
    span->SetAttribute("gen_ai.usage.cost_usd", 0.00413);
    span->SetAttribute("gen_ai.usage.input_cost_usd", 0.00063);
    span->SetAttribute("gen_ai.usage.output_cost_usd", 0.0035);
    span->SetAttribute("gen_ai.usage.cost", 0.00413);
    span->SetAttribute("convtrace.cost_pico_usd", int64_t{4130000000});
    span->SetAttribute("convtrace.priced_as", "gpt-4o");
    span->SetAttribute("gen_ai.response.finish_reasons", "stop");
    span->End();
  }
  state.SetItemsProcessed(state.iterations());
  provider->Shutdown();
}
BENCHMARK(BM_OtelSpan21GenAiAttributesByHand_Plain);

// B2's observed LLM call, inside a conversation and a workflow.
void observed_call_loop(benchmark::State& state) {
  const Usage usage = sample_usage();
  auto conv = conversation("support_789", {"user_123"});
  auto wf = workflow("rag_1", "rag");
  for (auto _ : state) {
    int64_t tokens = observe({"chat", Kind::llm, "gpt-4o", "openai"}, [&](Span& span) {
      span.record_usage(usage);
      return usage.output_tokens.value_or(0);
    });
    benchmark::DoNotOptimize(tokens);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_ObservedLlmCall_NativeSdk(benchmark::State& state) {
  // convtrace's own SDK in a process without the bridge: no context backend.
  ContextBackend* backend = context_backend();
  set_context_backend(nullptr);
  std::atomic<uint64_t> exported{0};
  auto sdk = make_bench_sdk(&exported);
  install(sdk);
  observed_call_loop(state);
  install(nullptr);
  sdk->shutdown();
  set_context_backend(backend);
}
BENCHMARK(BM_ObservedLlmCall_NativeSdk);

void BM_ObservedLlmCall_Bridge(benchmark::State& state) {
  auto provider = make_provider(true);
  Config config;
  config.read_environment = false;
  config.pricing = bench_pricing();
  auto sdk = otel::make_sdk(provider, std::move(config));
  if (!sdk) {
    state.SkipWithError(sdk.error().message.c_str());
    return;
  }
  install(*sdk);
  observed_call_loop(state);
  install(nullptr);
  (*sdk)->shutdown();
  provider->Shutdown();
}
BENCHMARK(BM_ObservedLlmCall_Bridge);

}  // namespace
}  // namespace convtrace::bench
