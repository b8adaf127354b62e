#include "common/diagnostics.h"
#include "common/unix_time.h"
#include "convtrace/sdk.h"
#include "convtrace/trace.h"
#include "trace/clock.h"
#include "trace/context_backend.h"
#include "trace/context_internal.h"
#include "trace/ids.h"
#include "trace/sdk_state.h"
#include "trace/span_pool.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

struct RecordDeleter {
  void operator()(SpanRecord* record) const noexcept { free_span_record(record); }
};

}  // namespace

Span Tracer::start_span(std::string_view name, const StartOptions& options) const {
  return start_span_on(sdk_ ? sdk_->state_ : nullptr, scope_, name, options);
}

Span start_span_on(SdkState* sdk, const std::shared_ptr<const InstrumentationScope>& scope,
                   std::string_view name, const StartOptions& options) {
  if (!sdk || sdk->disabled) return Span();
  if (sdk->shut_down.load(std::memory_order_acquire)) return Span();
  try {
    const Context* parent = options.parent;
    Context resolved;  // the current context as a bridged tracer sees it
    if (!parent) {
      parent = &current_context();
      if (ContextBackend* backend = context_backend()) {
        if (backend->resolve(*parent, &resolved)) parent = &resolved;
      }
    }
    const SpanContext& parent_span = parent->span_context();
    const bool has_parent = parent_span.valid();

    std::unique_ptr<SpanRecord, RecordDeleter> rec(new_span_record());
    rec->sdk = sdk;
    rec->kind = options.kind;
    rec->genai = parent->genai();
    if (has_parent) {
      rec->context.trace_id = parent_span.trace_id;
      rec->context.trace_state = parent_span.trace_state;
    } else {
      rec->context.trace_id = random_trace_id();
    }
    rec->context.span_id = random_span_id();
    sdk->spans_started.add();

    SamplingInput input{*parent, rec->context.trace_id, name, options.span_kind};
    bool sampled = sdk->sampler->should_sample(input);
    rec->context.flags = sampled ? 0x01 : 0x00;
    rec->start_steady = steady_nanos();

    if (sampled) {
      bool named = false;  // the record holds this name already
      std::unique_ptr<SpanData> data =
          sdk->span_pool ? sdk->span_pool->take(name, &named) : std::make_unique<SpanData>();
      // A recycled record still holds its previous span: overwrite every
      // field, assigning into strings and vectors so their capacity is reused.
      data->trace_id = rec->context.trace_id;
      data->span_id = rec->context.span_id;
      record_attr::rewrite(data->trace_state, rec->context.trace_state, "trace state");
      data->flags = rec->context.flags;
      data->parent_span_id = has_parent ? parent_span.span_id : SpanId{};
      data->parent_is_remote = has_parent && parent_span.remote;
      if (!named) record_attr::rewrite(data->name, name, "span name");
      data->kind = options.span_kind;
      data->start_unix_nano = unix_nano_at(rec->start_steady);
      if (options.start_unix_nano != 0) {
        if (unix_time::in_range(options.start_unix_nano)) {
          data->start_unix_nano = options.start_unix_nano;
        } else {
          report_warning("time_out_of_range", "StartOptions::start_unix_nano " +
                                                  std::to_string(options.start_unix_nano) +
                                                  " is after " + std::string(unix_time::kMaxText) +
                                                  "; the span starts now");
        }
      }
      data->end_unix_nano = 0;
      data->events.clear();
      data->links = options.links;
      for (SpanLink& link : data->links) {
        utf8::repair(link.trace_state, "span link trace state");
        utf8::repair(link.attributes, "span link");
      }
      data->status.code = StatusCode::unset;
      data->status.description.clear();
      data->dropped_attributes_count = 0;
      data->dropped_events_count = 0;
      data->dropped_links_count = 0;
      // Usually the same objects as last time: skip the shared reference
      // counts, which every thread ending spans would otherwise bounce.
      const std::shared_ptr<const InstrumentationScope>& span_scope =
          scope ? scope : sdk->default_scope;
      if (data->resource != sdk->resource) data->resource = sdk->resource;
      if (data->scope != span_scope) data->scope = span_scope;
      size_t wanted = options.attributes.size() + 16;
      if (data->attributes.capacity() < wanted) data->attributes.reserve(wanted);
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
