// convtrace inside an existing opentelemetry-cpp setup (library
// convtrace::opentelemetry, built when opentelemetry-cpp is found).
//
// Two pieces, used together or apart:
//
// 1. A span processor for opentelemetry-cpp's SDK. It decorates the processor
//    that exports your spans (opentelemetry-cpp hands each processor only the
//    recordable it made, so a processor registered beside the exporting one
//    could never reach the exporter):
//
//      auto exporting = sdktrace::BatchSpanProcessorFactory::Create(std::move(exporter), {});
//      auto provider = sdktrace::TracerProviderFactory::Create(
//          convtrace::otel::make_span_processor(std::move(exporting)), resource);
//
//    Every span that starts inside convtrace scopes (conversation(),
//    workflow(), an observed call) gets gen_ai.conversation.id,
//    gen_ai.conversation.turn, user.id, workflow.id, workflow.type and the
//    custom attributes, exactly as convtrace's own spans do: the outermost span
//    of a conversation claims the next turn and its children share it. A span
//    that ends with GenAI usage from any instrumentation
//    (gen_ai.usage.input_tokens / output_tokens and the cache and reasoning
//    keys, with gen_ai.response.model or gen_ai.request.model) gets its exact
//    cost from the price catalog, and that cost goes into the enclosing
//    workflow's and turn's totals. Malformed usage (negative or non-integer
//    token counts) leaves the span unpriced with a counted "invalid_usage"
//    warning. Nothing is thrown through opentelemetry-cpp's interface.
//
// 2. A convtrace SDK whose spans are spans of your TracerProvider:
//
//      auto sdk = convtrace::otel::make_sdk(provider);   // Expected<std::shared_ptr<Sdk>>
//      convtrace::install(*sdk);
//
//    observe(), workflow() and conversation() then make one trace with your
//    opentelemetry-cpp spans: an observed call made while an opentelemetry-cpp
//    span is active is its child; an opentelemetry-cpp span started inside an
//    observed call is the observed span's child; convtrace::inject/extract and
//    opentelemetry-cpp's propagators see the same current span; wrap() carries
//    both to other threads. convtrace's spans leave through the provider's own
//    processors and exporter, with the provider's resource, and are sampled by
//    the provider's sampler (unless Config::sampler is set).
//
// The GenAI layer is the same code in both cases: the processor runs
// convtrace's own turn, stamping and pricing functions on each
// opentelemetry-cpp span.
#pragma once

#include <memory>

#include <opentelemetry/nostd/shared_ptr.h>
#include <opentelemetry/sdk/trace/processor.h>
#include <opentelemetry/trace/tracer_provider.h>

#include "convtrace/expected.h"
#include "convtrace/sdk.h"

namespace convtrace::otel {

struct ProcessorOptions {
  // The convtrace SDK whose price catalog, cost keys, attribute limits and turn
  // registry apply. Null (the default): the SDK installed with
  // convtrace::install() when each span starts — typically the one make_sdk()
  // made, so both kinds of span count turns in one registry — or, with none
  // installed, a built-in default (Pricing::builtin() with
  // CONVTRACE_PRICING_FILE merged over it, a registry of its own).
  std::shared_ptr<Sdk> sdk;
};

// Wraps `exporting` (e.g. a BatchSpanProcessor) in convtrace's processor. The
// result forwards every span, and ForceFlush and Shutdown, to `exporting`.
// A null `exporting` gives null.
std::unique_ptr<::opentelemetry::sdk::trace::SpanProcessor> make_span_processor(
    std::unique_ptr<::opentelemetry::sdk::trace::SpanProcessor> exporting,
    ProcessorOptions options = {});

// A convtrace SDK whose spans go out through `provider` (an opentelemetry-cpp
// SDK TracerProvider; keep it decorated with make_span_processor() so that
// its own spans carry conversations too). `config` is validated as
// Sdk::create does, with these differences: the provider's resource applies,
// so service_name and resource_attributes must be unset; the provider's
// pipeline exports, so no exporter setting may be made; the sampler defaults
// to the provider's. Sdk::force_flush flushes the provider; Sdk::shutdown
// stops handing spans to it but leaves it running — it is yours to shut down.
// The first call also makes convtrace follow opentelemetry-cpp's current span
// on every thread of the process (and mirror its own into it), for good.
// Errors: invalid_argument (a setting above, a null provider, or one that is
// not opentelemetry-cpp's SDK TracerProvider).
Expected<std::shared_ptr<Sdk>> make_sdk(
    std::shared_ptr<::opentelemetry::trace::TracerProvider> provider, Config config = {});
// The same, for a provider held as opentelemetry-cpp's own shared pointer
// (e.g. from opentelemetry::trace::Provider::GetTracerProvider()).
Expected<std::shared_ptr<Sdk>> make_sdk(
    ::opentelemetry::nostd::shared_ptr<::opentelemetry::trace::TracerProvider> provider,
    Config config = {});

}  // namespace convtrace::otel
