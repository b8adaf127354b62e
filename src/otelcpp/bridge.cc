// A convtrace SDK whose spans are spans of an opentelemetry-cpp TracerProvider.
//
// convtrace records its spans as always (the genai layer untouched); when one
// ends, it is written into a recordable of the provider's processor and handed
// to it, as opentelemetry-cpp's own Span::End does. The two tracers share one
// notion of the current span through the trace core's ContextBackend: ours
// follows opentelemetry-cpp's RuntimeContext, and every context we attach is
// attached there too.
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <opentelemetry/context/runtime_context.h>
#include <opentelemetry/sdk/common/empty_attributes.h>
#include <opentelemetry/sdk/trace/sampler.h>
#include <opentelemetry/sdk/trace/tracer.h>
#include <opentelemetry/sdk/trace/tracer_provider.h>
#include <opentelemetry/trace/context.h>
#include <opentelemetry/trace/default_span.h>
#include <opentelemetry/trace/span_context_kv_iterable.h>
#include <opentelemetry/trace/tracer.h>

#include "convtrace/opentelemetry.h"
#include "otelcpp/bridge_internal.h"
#include "otelcpp/convert.h"
#include "processors/counters.h"
#include "trace/context_backend.h"

namespace convtrace::otel {
namespace {
namespace nostd = ::opentelemetry::nostd;
namespace otel_context = ::opentelemetry::context;

// What keeps the provider alive, however the caller held it.
struct ProviderHandle {
  std::shared_ptr<void> keep;
  otel_api::TracerProvider* provider = nullptr;

  // The SDK tracer for one instrumentation scope, or null when the provider
  // is not opentelemetry-cpp's SDK.
  nostd::shared_ptr<otel_api::Tracer> tracer(std::string_view name,
                                             std::string_view version) const {
    return provider->GetTracer(nostd::string_view(name.data(), name.size()),
                               nostd::string_view(version.data(), version.size()));
  }
};

otel_sdk::Tracer* as_sdk_tracer(const nostd::shared_ptr<otel_api::Tracer>& tracer) {
  return tracer ? dynamic_cast<otel_sdk::Tracer*>(tracer.get()) : nullptr;
}

// Samples convtrace's spans as the provider samples its own.
class ProviderSampler final : public Sampler {
 public:
  ProviderSampler(ProviderHandle provider, nostd::shared_ptr<otel_api::Tracer> tracer)
      : provider_(std::move(provider)), tracer_(std::move(tracer)) {}

  bool should_sample(const SamplingInput& input) const noexcept override {
    const SpanContext& parent = input.parent.span_context();
    const otel_api::SpanContext parent_context =
        parent.valid() ? to_otel(parent) : otel_api::SpanContext::GetInvalid();
    otel_sdk::SamplingResult result = as_sdk_tracer(tracer_)->GetSampler().ShouldSample(
        parent_context, to_otel(input.trace_id),
        nostd::string_view(input.name.data(), input.name.size()), kind(input.span_kind),
        ::opentelemetry::sdk::GetEmptyAttributes(), otel_api::NullSpanContext());
    return result.decision == otel_sdk::Decision::RECORD_AND_SAMPLE;
  }

  std::string description() const override {
    nostd::string_view d = as_sdk_tracer(tracer_)->GetSampler().GetDescription();
    return "opentelemetry-cpp provider's " + std::string(d.data(), d.size());
  }

 private:
  static otel_api::SpanKind kind(SpanKind k) {
    switch (k) {
      case SpanKind::server:
        return otel_api::SpanKind::kServer;
      case SpanKind::client:
        return otel_api::SpanKind::kClient;
      case SpanKind::producer:
        return otel_api::SpanKind::kProducer;
      case SpanKind::consumer:
        return otel_api::SpanKind::kConsumer;
      default:
        return otel_api::SpanKind::kInternal;
    }
  }

  ProviderHandle provider_;
  nostd::shared_ptr<otel_api::Tracer> tracer_;
};

// Hands convtrace's finished spans to the provider's processors.
class ForwardingProcessor final : public SpanProcessor {
 public:
  explicit ForwardingProcessor(ProviderHandle provider) : provider_(std::move(provider)) {}

  void on_end(std::unique_ptr<SpanData> span) noexcept override {
    counters_.ended.add();
    if (shut_down_.load(std::memory_order_acquire)) {
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    try {
      otel_sdk::Tracer* tracer = tracer_for(span->scope);
      if (!tracer) {
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      otel_sdk::SpanProcessor& processor = tracer->GetProcessor();
      ForwardingScope forwarding;
      std::unique_ptr<otel_sdk::Recordable> recordable = processor.MakeRecordable();
      if (!recordable) {
        counters_.dropped.fetch_add(1, std::memory_order_relaxed);
        return;
      }
      recordable->SetSpanLimits(tracer->GetSpanLimits());
      recordable->SetInstrumentationScope(tracer->GetInstrumentationScope());
      fill_recordable(*span, *recordable);
      recordable->SetResource(tracer->GetResource());
      SpanContext parent;
      if (span->parent_span_id.valid()) {
        parent.trace_id = span->trace_id;
        parent.span_id = span->parent_span_id;
        parent.flags = static_cast<uint8_t>(span->flags & 0xFF);
        parent.remote = span->parent_is_remote;
      }
      processor.OnStart(*recordable,
                        parent.valid() ? to_otel(parent) : otel_api::SpanContext::GetInvalid());
      processor.OnEnd(std::move(recordable));
      counters_.exported.fetch_add(1, std::memory_order_relaxed);
    } catch (...) {
      counters_.dropped.fetch_add(1, std::memory_order_relaxed);
    }
  }

  bool force_flush(std::chrono::milliseconds timeout) noexcept override {
    if (auto* sdk_provider = dynamic_cast<otel_sdk::TracerProvider*>(provider_.provider)) {
      return sdk_provider->ForceFlush(
          std::chrono::duration_cast<std::chrono::microseconds>(timeout));
    }
    return true;
  }

  bool shutdown(std::chrono::milliseconds timeout) noexcept override {
    if (shut_down_.exchange(true, std::memory_order_acq_rel)) return true;
    return force_flush(timeout);
  }

  ProcessorStats stats() const noexcept override { return counters_.snapshot(); }

 private:
  // One provider tracer per convtrace instrumentation scope; the provider
  // keeps its tracers (and the scopes exported spans point at) alive.
  otel_sdk::Tracer* tracer_for(const std::shared_ptr<const InstrumentationScope>& scope) {
    thread_local const ForwardingProcessor* last_owner = nullptr;
    thread_local const InstrumentationScope* last_scope = nullptr;
    thread_local otel_sdk::Tracer* last_tracer = nullptr;
    if (last_owner == this && last_scope == scope.get() && last_tracer) return last_tracer;
    std::lock_guard<std::mutex> lock(mu_);
    otel_sdk::Tracer* found = nullptr;
    for (const Entry& e : tracers_) {
      if (e.scope == scope) found = as_sdk_tracer(e.tracer);
    }
    if (!found) {
      Entry e;
      e.scope = scope;
      e.tracer = scope ? provider_.tracer(scope->name, scope->version)
                       : provider_.tracer("convtrace", CONVTRACE_VERSION);
      found = as_sdk_tracer(e.tracer);
      tracers_.push_back(std::move(e));
    }
    last_owner = this;
    last_scope = scope.get();
    last_tracer = found;
    return found;
  }

  struct Entry {
    // Kept alive here, so that an address names one scope for good.
    std::shared_ptr<const InstrumentationScope> scope;
    nostd::shared_ptr<otel_api::Tracer> tracer;
  };

  ProviderHandle provider_;
  std::atomic<bool> shut_down_{false};
  std::mutex mu_;
  std::vector<Entry> tracers_;  // guarded by mu_
  ProcessorCounters counters_;
};

// convtrace's current span follows opentelemetry-cpp's, and the other way round.
class RuntimeContextBackend final : public ContextBackend {
 public:
  bool resolve(const Context& native, Context* resolved) noexcept override {
    try {
      otel_api::SpanContext theirs = otel_api::Tracer::GetCurrentSpan()->GetContext();
      if (!theirs.IsValid() || same_span(theirs, native.span_context())) return false;
      SpanContext span = from_otel(theirs);
      std::shared_ptr<const GenAiState> adopted = adopt_turn(native.genai(), span.span_id);
      Context r = native.with_span_context(std::move(span));
      if (adopted) r = std::move(r).with_genai(std::move(adopted));
      *resolved = std::move(r);
      return true;
    } catch (...) {
      return false;
    }
  }

  void* attach(const SpanContext& span) noexcept override {
    try {
      otel_context::Context current = otel_context::RuntimeContext::GetCurrent();
      nostd::shared_ptr<otel_api::Span> active(new otel_api::DefaultSpan(
          span.valid() ? to_otel(span) : otel_api::SpanContext::GetInvalid()));
      return otel_context::RuntimeContext::Attach(otel_api::SetSpan(current, active)).release();
    } catch (...) {
      return nullptr;
    }
  }

  void detach(void* token) noexcept override {
    // A token detaches its context when destroyed.
    delete static_cast<otel_context::Token*>(token);
  }
};

Expected<std::shared_ptr<Sdk>> make_sdk_on(ProviderHandle provider, Config config) {
  if (!provider.provider) {
    return Error{Error::invalid_argument, "make_sdk: the TracerProvider is null"};
  }
  if (config.service_name || !config.resource_attributes.empty()) {
    return Error{Error::invalid_argument,
                 "make_sdk: spans carry the TracerProvider's resource; leave service_name and "
                 "resource_attributes unset and set them on the provider"};
  }
  if (config.processor) {
    return Error{Error::invalid_argument,
                 "make_sdk: spans go to the TracerProvider's processors; leave Config::processor "
                 "unset"};
  }
  nostd::shared_ptr<otel_api::Tracer> tracer = provider.tracer("convtrace", CONVTRACE_VERSION);
  if (!as_sdk_tracer(tracer)) {
    return Error{Error::invalid_argument,
                 "make_sdk: the TracerProvider is not opentelemetry-cpp's SDK TracerProvider "
                 "(opentelemetry::sdk::trace::TracerProvider)"};
  }
  if (!config.sampler) config.sampler = std::make_shared<ProviderSampler>(provider, tracer);
  config.processor = std::make_unique<ForwardingProcessor>(std::move(provider));
  Expected<std::shared_ptr<Sdk>> sdk = Sdk::create(std::move(config));
  if (!sdk) return sdk;
  static RuntimeContextBackend* backend = [] {
    auto* b = new RuntimeContextBackend();  // never destroyed (context_backend.h)
    set_context_backend(b);
    return b;
  }();
  (void)backend;
  return sdk;
}

}  // namespace

Expected<std::shared_ptr<Sdk>> make_sdk(std::shared_ptr<otel_api::TracerProvider> provider,
                                        Config config) {
  ProviderHandle handle;
  handle.provider = provider.get();
  handle.keep = std::move(provider);
  return make_sdk_on(std::move(handle), std::move(config));
}

Expected<std::shared_ptr<Sdk>> make_sdk(nostd::shared_ptr<otel_api::TracerProvider> provider,
                                        Config config) {
  ProviderHandle handle;
  handle.provider = provider.get();
  handle.keep = std::make_shared<nostd::shared_ptr<otel_api::TracerProvider>>(std::move(provider));
  return make_sdk_on(std::move(handle), std::move(config));
}

}  // namespace convtrace::otel
