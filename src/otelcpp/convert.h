// Conversions between convtrace's trace data model and opentelemetry-cpp's.
// Both follow the OpenTelemetry data model, so each is field by field.
#pragma once

#include <memory>
#include <string_view>
#include <vector>

#include <opentelemetry/common/attribute_value.h>
#include <opentelemetry/sdk/trace/recordable.h>
#include <opentelemetry/trace/span_context.h>

#include "convtrace/span_data.h"
#include "convtrace/trace.h"

namespace convtrace::otel {

namespace otel_api = ::opentelemetry::trace;
namespace otel_common = ::opentelemetry::common;
namespace otel_sdk = ::opentelemetry::sdk::trace;

TraceId from_otel(const otel_api::TraceId& id);
SpanId from_otel(const otel_api::SpanId& id);
otel_api::TraceId to_otel(const TraceId& id);
otel_api::SpanId to_otel(const SpanId& id);

// Whether both name the same span (trace and span id).
bool same_span(const otel_api::SpanContext& theirs, const SpanContext& ours);
SpanContext from_otel(const otel_api::SpanContext& context);
otel_api::SpanContext to_otel(const SpanContext& context);

// An opentelemetry-cpp attribute value as convtrace holds one. Unsigned values
// above INT64_MAX and byte arrays have no OTel data-model type: false then.
bool from_otel(const otel_common::AttributeValue& value, AttributeValue* out);

// Storage for what an opentelemetry-cpp array value views while a convtrace
// array is handed over (string views, and bools, which std::vector packs).
struct OtelScratch {
  std::vector<::opentelemetry::nostd::string_view> views;
  std::unique_ptr<bool[]> bools;
};
// `value` in opentelemetry-cpp's form, viewing `value` and `scratch`.
otel_common::AttributeValue to_otel(const AttributeValue& value, OtelScratch& scratch);

// Writes a finished convtrace span into an opentelemetry-cpp recordable:
// identity, name, kind, times, attributes, events, links, status. Resource
// and instrumentation scope are the caller's (they are the provider's).
void fill_recordable(const SpanData& span, otel_sdk::Recordable& out);

}  // namespace convtrace::otel
