#include "otelcpp/convert.h"

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <utility>

#include <opentelemetry/common/key_value_iterable_view.h>
#include <opentelemetry/common/timestamp.h>
#include <opentelemetry/nostd/span.h>
#include <opentelemetry/trace/span_metadata.h>
#include <opentelemetry/trace/trace_flags.h>
#include <opentelemetry/trace/trace_state.h>

namespace convtrace::otel {
namespace nostd = ::opentelemetry::nostd;

TraceId from_otel(const otel_api::TraceId& id) {
  TraceId out;
  id.CopyBytesTo(nostd::span<uint8_t, 16>(out.bytes.data(), 16));
  return out;
}

SpanId from_otel(const otel_api::SpanId& id) {
  SpanId out;
  id.CopyBytesTo(nostd::span<uint8_t, 8>(out.bytes.data(), 8));
  return out;
}

otel_api::TraceId to_otel(const TraceId& id) {
  return otel_api::TraceId(nostd::span<const uint8_t, 16>(id.bytes.data(), 16));
}

otel_api::SpanId to_otel(const SpanId& id) {
  return otel_api::SpanId(nostd::span<const uint8_t, 8>(id.bytes.data(), 8));
}

bool same_span(const otel_api::SpanContext& theirs, const SpanContext& ours) {
  return theirs.span_id() == to_otel(ours.span_id) && theirs.trace_id() == to_otel(ours.trace_id);
}

SpanContext from_otel(const otel_api::SpanContext& context) {
  SpanContext out;
  out.trace_id = from_otel(context.trace_id());
  out.span_id = from_otel(context.span_id());
  out.flags = context.trace_flags().flags();
  out.remote = context.IsRemote();
  if (context.trace_state()) out.trace_state = context.trace_state()->ToHeader();
  return out;
}

otel_api::SpanContext to_otel(const SpanContext& context) {
  return otel_api::SpanContext(to_otel(context.trace_id), to_otel(context.span_id),
                               otel_api::TraceFlags(context.flags), context.remote,
                               context.trace_state.empty()
                                   ? otel_api::TraceState::GetDefault()
                                   : otel_api::TraceState::FromHeader(context.trace_state));
}

namespace {

template <typename T>
std::vector<int64_t> widen(nostd::span<const T> values) {
  return std::vector<int64_t>(values.begin(), values.end());
}

struct FromOtel {
  AttributeValue* out;
  bool operator()(bool v) const { return *out = v, true; }
  bool operator()(int32_t v) const { return *out = int64_t{v}, true; }
  bool operator()(int64_t v) const { return *out = v, true; }
  bool operator()(uint32_t v) const { return *out = int64_t{v}, true; }
  bool operator()(uint64_t v) const {
    if (v > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    return *out = static_cast<int64_t>(v), true;
  }
  bool operator()(double v) const { return *out = v, true; }
  bool operator()(const char* v) const { return *out = std::string(v ? v : ""), true; }
  bool operator()(nostd::string_view v) const {
    return *out = std::string(v.data(), v.size()), true;
  }
  bool operator()(nostd::span<const bool> v) const {
    return *out = std::vector<bool>(v.begin(), v.end()), true;
  }
  bool operator()(nostd::span<const int32_t> v) const { return *out = widen(v), true; }
  bool operator()(nostd::span<const int64_t> v) const { return *out = widen(v), true; }
  bool operator()(nostd::span<const uint32_t> v) const { return *out = widen(v), true; }
  bool operator()(nostd::span<const uint64_t> v) const {
    for (uint64_t x : v) {
      if (x > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return false;
    }
    return *out = widen(v), true;
  }
  bool operator()(nostd::span<const double> v) const {
    return *out = std::vector<double>(v.begin(), v.end()), true;
  }
  bool operator()(nostd::span<const nostd::string_view> v) const {
    std::vector<std::string> strings;
    strings.reserve(v.size());
    for (nostd::string_view s : v) strings.emplace_back(s.data(), s.size());
    return *out = std::move(strings), true;
  }
  bool operator()(nostd::span<const uint8_t>) const { return false; }
};

struct ToOtel {
  OtelScratch* scratch;
  otel_common::AttributeValue operator()(bool v) const { return v; }
  otel_common::AttributeValue operator()(int64_t v) const { return v; }
  otel_common::AttributeValue operator()(double v) const { return v; }
  otel_common::AttributeValue operator()(const std::string& v) const {
    return nostd::string_view(v.data(), v.size());
  }
  otel_common::AttributeValue operator()(const std::vector<bool>& v) const {
    scratch->bools.reset(new bool[v.size() ? v.size() : 1]);
    for (size_t i = 0; i < v.size(); ++i) scratch->bools[i] = v[i];
    return nostd::span<const bool>(scratch->bools.get(), v.size());
  }
  otel_common::AttributeValue operator()(const std::vector<int64_t>& v) const {
    return nostd::span<const int64_t>(v.data(), v.size());
  }
  otel_common::AttributeValue operator()(const std::vector<double>& v) const {
    return nostd::span<const double>(v.data(), v.size());
  }
  otel_common::AttributeValue operator()(const std::vector<std::string>& v) const {
    scratch->views.clear();
    scratch->views.reserve(v.size());
    for (const std::string& s : v) scratch->views.emplace_back(s.data(), s.size());
    return nostd::span<const nostd::string_view>(scratch->views.data(), scratch->views.size());
  }
};

// Attributes of an event or link as opentelemetry-cpp iterates them. Views
// `attrs`; lives while the recordable copies them.
class AttributeList {
 public:
  explicit AttributeList(const std::vector<Attribute>& attrs) : scratch_(attrs.size()) {
    pairs_.reserve(attrs.size());
    for (size_t i = 0; i < attrs.size(); ++i) {
      pairs_.emplace_back(nostd::string_view(attrs[i].key.data(), attrs[i].key.size()),
                          to_otel(attrs[i].value, scratch_[i]));
    }
  }
  otel_common::KeyValueIterableView<
      std::vector<std::pair<nostd::string_view, otel_common::AttributeValue>>>
  view() const {
    return otel_common::KeyValueIterableView<
        std::vector<std::pair<nostd::string_view, otel_common::AttributeValue>>>(pairs_);
  }

 private:
  std::vector<OtelScratch> scratch_;
  std::vector<std::pair<nostd::string_view, otel_common::AttributeValue>> pairs_;
};

otel_api::SpanKind to_otel(SpanKind kind) {
  switch (kind) {
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

otel_api::StatusCode to_otel(StatusCode code) {
  switch (code) {
    case StatusCode::ok:
      return otel_api::StatusCode::kOk;
    case StatusCode::error:
      return otel_api::StatusCode::kError;
    default:
      return otel_api::StatusCode::kUnset;
  }
}

otel_common::SystemTimestamp timestamp(uint64_t unix_nano) {
  return otel_common::SystemTimestamp(std::chrono::nanoseconds(unix_nano));
}

}  // namespace

bool from_otel(const otel_common::AttributeValue& value, AttributeValue* out) {
  return nostd::visit(FromOtel{out}, value);
}

otel_common::AttributeValue to_otel(const AttributeValue& value, OtelScratch& scratch) {
  return std::visit(ToOtel{&scratch}, value);
}

void fill_recordable(const SpanData& span, otel_sdk::Recordable& out) {
  SpanContext identity;
  identity.trace_id = span.trace_id;
  identity.span_id = span.span_id;
  identity.flags = static_cast<uint8_t>(span.flags & 0xFF);
  identity.trace_state = span.trace_state;
  const otel_api::SpanContext context = to_otel(identity);
  out.SetIdentity(context, to_otel(span.parent_span_id));
  out.SetTraceFlags(context.trace_flags());
  out.SetName(nostd::string_view(span.name.data(), span.name.size()));
  out.SetSpanKind(to_otel(span.kind));
  out.SetStartTime(timestamp(span.start_unix_nano));
  uint64_t duration =
      span.end_unix_nano > span.start_unix_nano ? span.end_unix_nano - span.start_unix_nano : 0;
  out.SetDuration(std::chrono::nanoseconds(duration));
  OtelScratch scratch;
  for (const Attribute& a : span.attributes) {
    out.SetAttribute(nostd::string_view(a.key.data(), a.key.size()), to_otel(a.value, scratch));
  }
  for (const SpanEvent& event : span.events) {
    AttributeList attrs(event.attributes);
    out.AddEvent(nostd::string_view(event.name.data(), event.name.size()),
                 timestamp(event.time_unix_nano), attrs.view());
  }
  for (const SpanLink& link : span.links) {
    SpanContext linked;
    linked.trace_id = link.trace_id;
    linked.span_id = link.span_id;
    linked.flags = static_cast<uint8_t>(link.flags & 0xFF);
    linked.trace_state = link.trace_state;
    AttributeList attrs(link.attributes);
    out.AddLink(to_otel(linked), attrs.view());
  }
  if (span.status.code != StatusCode::unset) {
    out.SetStatus(to_otel(span.status.code), nostd::string_view(span.status.description.data(),
                                                                span.status.description.size()));
  }
}

}  // namespace convtrace::otel
