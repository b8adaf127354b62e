// An app that already runs opentelemetry-cpp, with convtrace added.
#include <convtrace/convtrace.h>
#include <convtrace/opentelemetry.h>

#include <opentelemetry/exporters/ostream/span_exporter_factory.h>
#include <opentelemetry/sdk/resource/resource.h>
#include <opentelemetry/sdk/trace/batch_span_processor_factory.h>
#include <opentelemetry/sdk/trace/batch_span_processor_options.h>
#include <opentelemetry/sdk/trace/tracer_provider.h>
#include <opentelemetry/sdk/trace/tracer_provider_factory.h>
#include <opentelemetry/trace/provider.h>
#include <opentelemetry/trace/scope.h>

#include <iostream>
#include <memory>

namespace sdktrace = opentelemetry::sdk::trace;

int main() {
  // Your pipeline as it is (here printing spans; OtlpHttpExporterFactory in production),
  // with its exporting processor wrapped in convtrace's.
  auto exporter = opentelemetry::exporter::trace::OStreamSpanExporterFactory::Create();
  auto exporting = sdktrace::BatchSpanProcessorFactory::Create(std::move(exporter), {});
  std::shared_ptr<sdktrace::TracerProvider> provider = sdktrace::TracerProviderFactory::Create(
      convtrace::otel::make_span_processor(std::move(exporting)),
      opentelemetry::sdk::resource::Resource::Create({{"service.name", "support-bot"}}));
  opentelemetry::trace::Provider::SetTracerProvider(
      opentelemetry::nostd::shared_ptr<opentelemetry::trace::TracerProvider>(provider));

  // convtrace's spans go through the same provider: one trace, one pipeline.
  auto sdk = convtrace::otel::make_sdk(provider);
  if (!sdk) {
    std::cerr << sdk.error().message << '\n';
    return 1;
  }
  convtrace::install(*sdk);

  auto tracer = provider->GetTracer("support-bot");
  auto conv = convtrace::conversation("support_789", {"user_123"});
  {
    auto request = tracer->StartSpan("POST /chat");  // e.g. your HTTP server's span
    opentelemetry::trace::Scope active(request);
    convtrace::observe(
        {"chat", convtrace::Kind::llm, "gpt-4o", "openai"}, [](convtrace::Span& span) {
          convtrace::Usage usage;  // or span.record_response(body) with the provider's reply
          usage.input_tokens = 1234;
          usage.output_tokens = 567;
          span.record_usage(usage);  // gen_ai.usage.*, exact gen_ai.usage.cost_usd
        });
    tracer->StartSpan("INSERT INTO messages")->End();  // gets the conversation and turn
    request->End();
  }
  provider->ForceFlush();
  return 0;
}
