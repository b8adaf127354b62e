// The opentelemetry-cpp bridge, side by side with opentelemetry-cpp alone and
// with convtrace's own SDK, in one program run:
//  - what convtrace's processor adds to an opentelemetry-cpp span with 8
//    attributes (BatchSpanProcessor, discarding exporter), outside any scope
//    and inside a conversation turn;
//  - an observed LLM call through the bridge against the same call through
//    convtrace's own SDK.
// Run with --benchmark_repetitions=N --benchmark_enable_random_interleaving=true
// so the variants alternate.
#include <benchmark/benchmark.h>

#include <atomic>
#include <map>
#include <memory>
#include <string>

#include <opentelemetry/sdk/common/global_log_handler.h>
#include <opentelemetry/sdk/trace/batch_span_processor_factory.h>
#include <opentelemetry/sdk/trace/batch_span_processor_options.h>
#include <opentelemetry/sdk/trace/exporter.h>
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

// The same span as B1: a name, 3 string, 3 integer and 2 double attributes.
void otel_span_loop(benchmark::State& state, otel_api::Tracer& tracer) {
  for (auto _ : state) {
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
