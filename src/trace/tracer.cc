#include "convtrace/sdk.h"
#include "convtrace/trace.h"
#include "trace/clock.h"
#include "trace/context_internal.h"
#include "trace/ids.h"
#include "trace/sdk_state.h"
#include "trace/span_record.h"

namespace convtrace {

Span Tracer::start_span(std::string_view name, const StartOptions& options) const {
  return start_span_on(sdk_ ? sdk_->state_ : nullptr, scope_, name, options);
}

Span start_span_on(Sdk::State* sdk, const std::shared_ptr<const InstrumentationScope>& scope,
                   std::string_view name, const StartOptions& options) {
  if (!sdk || sdk->disabled) return Span();
  if (sdk->shut_down.load(std::memory_order_acquire)) return Span();
  try {
    Context current;
    const Context* parent = options.parent;
    if (!parent) {
      current = Context::current();
      parent = &current;
    }
    const SpanContext& parent_span = parent->span_context();

    auto rec = std::make_unique<SpanRecord>();
    rec->sdk = sdk;
    rec->kind = options.kind;
    rec->genai = parent->genai();
    if (parent_span.valid()) {
      rec->context.trace_id = parent_span.trace_id;
      rec->context.trace_state = parent_span.trace_state;
    } else {
      rec->context.trace_id = random_trace_id();
    }
    rec->context.span_id = random_span_id();
    sdk->spans_started.fetch_add(1, std::memory_order_relaxed);

    SamplingInput input{*parent, rec->context.trace_id, name, options.span_kind};
    bool sampled = sdk->sampler->should_sample(input);
    rec->context.flags = sampled ? 0x01 : 0x00;
    rec->start_steady = now_steady();

    if (sampled) {
      auto data = std::make_unique<SpanData>();
      data->trace_id = rec->context.trace_id;
      data->span_id = rec->context.span_id;
      data->trace_state = rec->context.trace_state;
      data->flags = rec->context.flags;
      if (parent_span.valid()) {
        data->parent_span_id = parent_span.span_id;
        data->parent_is_remote = parent_span.remote;
      }
      data->name = std::string(name);
      data->kind = options.span_kind;
      data->start_unix_nano = options.start_unix_nano ? options.start_unix_nano : now_unix_nano();
      data->resource = sdk->resource;
      data->scope = scope ? scope : sdk->default_scope;
      data->attributes.reserve(options.attributes.size() + 12);
      data->links = options.links;
      rec->data = std::move(data);
      for (const Attribute& a : options.attributes) set_record_attribute(*rec, a.key, a.value);
    } else {
      sdk->spans_unsampled.fetch_add(1, std::memory_order_relaxed);
    }

    // Runs for unsampled spans too: turns must be counted whether or not a
    // trace is kept, or turn numbers would depend on the sampling ratio.
    if (sdk->on_start) sdk->on_start(*rec, *parent);
    if (rec->data) sdk->processor->on_start(*rec->data, *parent);
    return SpanAccess::make(rec.release());
  } catch (...) {
    // Out of memory or similar: the application carries on with a no-op span.
    return Span();
  }
}

Span start_span(std::string_view name, const StartOptions& options) {
  return start_span_on(installed_state(), nullptr, name, options);
}

}  // namespace convtrace
