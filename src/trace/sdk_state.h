// The runtime state behind an Sdk handle (Sdk::State): everything a span
// needs while it is recorded. It belongs to the trace core and does not
// depend on the SDK's public header; sdk.cc builds it from a Config. Spans
// point at it with a raw pointer, so it is never freed while the process
// runs: an Sdk that is destroyed shuts its processor down and leaves this
// small shell behind with `shut_down` set (see sdk.cc). That keeps span start
// and end free of reference counting on a shared object.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "common/striped_counter.h"
#include "convtrace/pricing.h"
#include "convtrace/processor.h"
#include "convtrace/sampler.h"
#include "convtrace/span_content.h"
#include "convtrace/span_data.h"

namespace convtrace {

class ConversationRegistry;
class MetricsReader;
class MetricsRecorder;
class SpanDataPool;
struct SpanRecord;

// Called on the starting thread after a span record exists: the genai layer
// stamps context attributes and claims turns here.
using StartHook = void (*)(SpanRecord& record, const Context& parent);
// Called when a span ends, before it is handed to the processor.
using EndHook = void (*)(SpanRecord& record);

struct SdkState {
  std::shared_ptr<const Resource> resource;
  std::shared_ptr<const InstrumentationScope> default_scope;
  std::shared_ptr<const Sampler> sampler;
  std::unique_ptr<SpanProcessor> processor;
  // Set when `processor` is the SDK's own batch or simple processor, which
  // hand exported records back here for reuse (trace/span_pool.h). Their
  // on_start does not read attributes, so records may carry spare attribute
  // slots while they are recorded (SpanRecord::attribute_count).
  std::shared_ptr<SpanDataPool> span_pool;
  size_t attribute_count_limit = 128;
  size_t attribute_value_length_limit = 0;  // 0 = unlimited

  // OTEL_SDK_DISABLED: every span is a no-op (see Config::disabled).
  bool disabled = false;
  std::chrono::milliseconds shutdown_timeout{5000};
  std::atomic<bool> shut_down{false};
  StripedCounter spans_started;
  std::atomic<uint64_t> spans_unsampled{0};
  std::atomic<uint64_t> dropped_after_shutdown{0};

  StartHook on_start = nullptr;
  EndHook on_end = nullptr;

  // GenAI settings.
  mutable std::mutex pricing_mu;
  std::shared_ptr<const Pricing> pricing;  // guarded by pricing_mu
  // Bumped (under pricing_mu) each time `pricing` is replaced, so per-thread
  // caches of the catalog (span_usage.cc) know when to refresh without taking
  // the mutex on every call.
  std::atomic<uint64_t> pricing_generation{0};
  AttributeProfile profile = AttributeProfile::standard;
  // Config::cost_keys resolved against the environment and the profile.
  struct {
    bool cost_usd = true, cost_generic = true, cost_parts = true, llm_cost = false;
  } cost_keys;
  ContentCapture content;
  std::unique_ptr<ConversationRegistry> registry;

  // GenAI metrics; null when metrics are off. Never freed, like the state
  // itself: spans ending late may still record into the recorder.
  MetricsRecorder* metrics = nullptr;
  MetricsReader* metrics_reader = nullptr;  // stopped by Sdk::shutdown

  std::shared_ptr<const Pricing> current_pricing() const {
    std::lock_guard<std::mutex> lock(pricing_mu);
    return pricing;
  }
};

}  // namespace convtrace
