#include "otlp/otlp_proto.h"

#include "common/utf8.h"
#include "common/varint.h"
#include "otlp/array_builder.h"

#include <cassert>
#include <cstring>
#include <type_traits>

namespace convtrace::otlp {
namespace {

// ---------------------------------------------------------------------------
// Field numbers, from opentelemetry-proto (collector/trace/v1/trace_service.proto,
// trace/v1/trace.proto, common/v1/common.proto, resource/v1/resource.proto).

enum WireType : uint32_t { kVarint = 0, kI64 = 1, kLen = 2, kI32 = 5 };

constexpr uint8_t tag(uint32_t field, uint32_t wire_type) {
  return static_cast<uint8_t>((field << 3) | wire_type);
}

// ExportTraceServiceRequest / ExportTraceServiceResponse / ExportTracePartialSuccess
constexpr uint32_t kRequestResourceSpans = 1;
constexpr uint32_t kResponsePartialSuccess = 1;
constexpr uint32_t kPartialRejectedSpans = 1;
constexpr uint32_t kPartialErrorMessage = 2;
// ResourceSpans
constexpr uint32_t kResourceSpansResource = 1;
constexpr uint32_t kResourceSpansScopeSpans = 2;
// Resource
constexpr uint32_t kResourceAttributes = 1;
// ScopeSpans
constexpr uint32_t kScopeSpansScope = 1;
constexpr uint32_t kScopeSpansSpans = 2;
// InstrumentationScope
constexpr uint32_t kScopeName = 1;
constexpr uint32_t kScopeVersion = 2;
// Span
constexpr uint32_t kSpanTraceId = 1;
constexpr uint32_t kSpanSpanId = 2;
constexpr uint32_t kSpanTraceState = 3;
constexpr uint32_t kSpanParentSpanId = 4;
constexpr uint32_t kSpanName = 5;
constexpr uint32_t kSpanKind = 6;
constexpr uint32_t kSpanStart = 7;
constexpr uint32_t kSpanEnd = 8;
constexpr uint32_t kSpanAttributes = 9;
constexpr uint32_t kSpanDroppedAttributes = 10;
constexpr uint32_t kSpanEvents = 11;
constexpr uint32_t kSpanDroppedEvents = 12;
constexpr uint32_t kSpanLinks = 13;
constexpr uint32_t kSpanDroppedLinks = 14;
constexpr uint32_t kSpanStatus = 15;
constexpr uint32_t kSpanFlags = 16;  // the only field whose tag takes two bytes
// Span.Event
constexpr uint32_t kEventTime = 1;
constexpr uint32_t kEventName = 2;
constexpr uint32_t kEventAttributes = 3;
constexpr uint32_t kEventDroppedAttributes = 4;
// Span.Link
constexpr uint32_t kLinkTraceId = 1;
constexpr uint32_t kLinkSpanId = 2;
constexpr uint32_t kLinkTraceState = 3;
constexpr uint32_t kLinkAttributes = 4;
constexpr uint32_t kLinkDroppedAttributes = 5;
constexpr uint32_t kLinkFlags = 6;
// Status
constexpr uint32_t kStatusMessage = 2;
constexpr uint32_t kStatusCode = 3;
// KeyValue / AnyValue / ArrayValue
constexpr uint32_t kKeyValueKey = 1;
constexpr uint32_t kKeyValueValue = 2;
constexpr uint32_t kAnyString = 1;
constexpr uint32_t kAnyBool = 2;
constexpr uint32_t kAnyInt = 3;
constexpr uint32_t kAnyDouble = 4;
constexpr uint32_t kAnyArray = 5;
constexpr uint32_t kAnyKvlist = 6;
constexpr uint32_t kAnyBytes = 7;
constexpr uint32_t kArrayValues = 1;

// SpanFlags masks (trace.proto).
constexpr uint32_t kFlagsTraceFlagsMask = 0xFF;
constexpr uint32_t kFlagsHasIsRemote = 0x100;
constexpr uint32_t kFlagsIsRemote = 0x200;

// ---------------------------------------------------------------------------
// Encoding: sizes first, then a single pass writing into an exactly sized buffer.

inline size_t varint_size(uint64_t v) {
  // One byte per started group of 7 significant bits; zero takes one byte.
  int bits = 64 - __builtin_clzll(v | 1);
  return static_cast<size_t>((bits + 6) / 7);
}

// A length-delimited field with a one-byte tag and `n` bytes of payload.
inline size_t len_field_size(size_t n) { return 1 + varint_size(n) + n; }

// Size of an AnyValue message holding one scalar (the oneof field is always
// written, even when zero, because its presence is what names the type).
inline size_t scalar_value_size(bool) { return 2; }
inline size_t scalar_value_size(int64_t v) { return 1 + varint_size(static_cast<uint64_t>(v)); }
inline size_t scalar_value_size(double) { return 9; }
inline size_t scalar_value_size(const std::string& s) { return len_field_size(s.size()); }

// Size of the ArrayValue message for `v`.
template <typename T>
size_t array_content_size(const std::vector<T>& v) {
  size_t n = 0;
  for (const auto& e : v) {
    const T& x = e;  // vector<bool> yields proxies
    n += len_field_size(scalar_value_size(x));
  }
  return n;
}

size_t any_value_size(const AttributeValue& value) {
  // A switch on the index compiles to tighter code than std::visit here.
  switch (value.index()) {
    case 0:
      return scalar_value_size(*std::get_if<bool>(&value));
    case 1:
      return scalar_value_size(*std::get_if<int64_t>(&value));
    case 2:
      return scalar_value_size(*std::get_if<double>(&value));
    case 3:
      return scalar_value_size(*std::get_if<std::string>(&value));
    case 4:
      return len_field_size(array_content_size(*std::get_if<std::vector<bool>>(&value)));
    case 5:
      return len_field_size(array_content_size(*std::get_if<std::vector<int64_t>>(&value)));
    case 6:
      return len_field_size(array_content_size(*std::get_if<std::vector<double>>(&value)));
    default:
      return len_field_size(array_content_size(*std::get_if<std::vector<std::string>>(&value)));
  }
}

inline size_t key_value_size(const Attribute& a) {
  return (a.key.empty() ? 0 : len_field_size(a.key.size())) +
         len_field_size(any_value_size(a.value));
}

size_t attributes_size(const std::vector<Attribute>& attrs) {
  size_t n = 0;
  for (const Attribute& a : attrs) n += len_field_size(key_value_size(a));
  return n;
}

inline size_t string_field_size(const std::string& s) {
  return s.empty() ? 0 : len_field_size(s.size());
}
inline size_t uint_field_size(uint64_t v) { return v == 0 ? 0 : 1 + varint_size(v); }
inline size_t fixed64_field_size(uint64_t v) { return v == 0 ? 0 : 9; }

size_t event_size(const SpanEvent& e) {
  return fixed64_field_size(e.time_unix_nano) + string_field_size(e.name) +
         attributes_size(e.attributes) + uint_field_size(e.dropped_attributes_count);
}

size_t link_size(const SpanLink& l) {
  return len_field_size(16) + len_field_size(8) + string_field_size(l.trace_state) +
         attributes_size(l.attributes) + uint_field_size(l.dropped_attributes_count) +
         (l.flags == 0 ? 0 : 5);
}

inline uint64_t enum_wire(int v) { return static_cast<uint64_t>(static_cast<int64_t>(v)); }

size_t status_size(const SpanStatus& s) {
  return string_field_size(s.description) + uint_field_size(enum_wire(static_cast<int>(s.code)));
}

inline bool has_status(const SpanStatus& s) {
  return s.code != StatusCode::unset || !s.description.empty();
}

inline uint32_t span_flags(const SpanData& s) {
  return (s.flags & kFlagsTraceFlagsMask) | kFlagsHasIsRemote |
         (s.parent_is_remote ? kFlagsIsRemote : 0);
}

size_t span_size(const SpanData& s) {
  size_t n = len_field_size(16) + len_field_size(8) + string_field_size(s.trace_state) +
             (s.parent_span_id.valid() ? len_field_size(8) : 0) + string_field_size(s.name) +
             uint_field_size(enum_wire(static_cast<int>(s.kind))) +
             fixed64_field_size(s.start_unix_nano) + fixed64_field_size(s.end_unix_nano) +
             attributes_size(s.attributes) + uint_field_size(s.dropped_attributes_count) +
             uint_field_size(s.dropped_events_count) + uint_field_size(s.dropped_links_count) + 2 +
             4;  // flags: two-byte tag, fixed32
  for (const SpanEvent& e : s.events) n += len_field_size(event_size(e));
  for (const SpanLink& l : s.links) n += len_field_size(link_size(l));
  if (has_status(s.status)) n += len_field_size(status_size(s.status));
  return n;
}

size_t scope_size(const InstrumentationScope& s) {
  return string_field_size(s.name) + string_field_size(s.version);
}

// Writers: each takes the output position and returns the position after
// what it wrote, into memory sized by the functions above (no bounds checks).
// The position travels in a local variable rather than in an object: stores
// through a byte pointer may alias any object, so a position kept in memory
// would be reloaded and stored again around every byte.

inline uint8_t* put_byte(uint8_t* p, uint8_t b) {
  *p = b;
  return p + 1;
}

inline uint8_t* put_fixed64(uint8_t* p, uint64_t v) {
  for (int i = 0; i < 8; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));  // little-endian
  return p + 8;
}

inline uint8_t* put_fixed32(uint8_t* p, uint32_t v) {
  for (int i = 0; i < 4; ++i) p[i] = static_cast<uint8_t>(v >> (8 * i));
  return p + 4;
}

inline uint8_t* put_raw(uint8_t* p, const void* data, size_t n) {
  if (n != 0) std::memcpy(p, data, n);
  return p + n;
}

// Tag and length of a length-delimited field whose payload follows.
inline uint8_t* put_header(uint8_t* p, uint32_t field, size_t n) {
  return put_varint(put_byte(p, tag(field, kLen)), n);
}

inline uint8_t* put_bytes_field(uint8_t* p, uint32_t field, const void* data, size_t n) {
  return put_raw(put_header(p, field, n), data, n);
}

inline uint8_t* put_string_field(uint8_t* p, uint32_t field, const std::string& s) {
  return s.empty() ? p : put_bytes_field(p, field, s.data(), s.size());
}

inline uint8_t* put_uint_field(uint8_t* p, uint32_t field, uint64_t v) {
  return v == 0 ? p : put_varint(put_byte(p, tag(field, kVarint)), v);
}

inline uint8_t* put_fixed64_field(uint8_t* p, uint32_t field, uint64_t v) {
  return v == 0 ? p : put_fixed64(put_byte(p, tag(field, kI64)), v);
}

inline uint8_t* put_scalar(uint8_t* p, bool v) {
  p = put_byte(p, tag(kAnyBool, kVarint));
  return put_byte(p, v ? 1 : 0);
}
inline uint8_t* put_scalar(uint8_t* p, int64_t v) {
  return put_varint(put_byte(p, tag(kAnyInt, kVarint)), static_cast<uint64_t>(v));
}
inline uint8_t* put_scalar(uint8_t* p, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, sizeof bits);
  return put_fixed64(put_byte(p, tag(kAnyDouble, kI64)), bits);
}
inline uint8_t* put_scalar(uint8_t* p, const std::string& v) {
  return put_bytes_field(p, kAnyString, v.data(), v.size());
}

template <typename T>
uint8_t* put_array(uint8_t* p, const std::vector<T>& values) {
  p = put_header(p, kAnyArray, array_content_size(values));
  for (const auto& e : values) {
    const T& v = e;  // vector<bool> yields proxies
    p = put_header(p, kArrayValues, scalar_value_size(v));
    p = put_scalar(p, v);
  }
  return p;
}

uint8_t* put_any_value(uint8_t* p, const AttributeValue& value) {
  switch (value.index()) {
    case 0:
      return put_scalar(p, *std::get_if<bool>(&value));
    case 1:
      return put_scalar(p, *std::get_if<int64_t>(&value));
    case 2:
      return put_scalar(p, *std::get_if<double>(&value));
    case 3:
      return put_scalar(p, *std::get_if<std::string>(&value));
    case 4:
      return put_array(p, *std::get_if<std::vector<bool>>(&value));
    case 5:
      return put_array(p, *std::get_if<std::vector<int64_t>>(&value));
    case 6:
      return put_array(p, *std::get_if<std::vector<double>>(&value));
    default:
      return put_array(p, *std::get_if<std::vector<std::string>>(&value));
  }
}

uint8_t* put_attributes(uint8_t* p, uint32_t field, const std::vector<Attribute>& attrs) {
  for (const Attribute& a : attrs) {
    size_t value_size = any_value_size(a.value);
    size_t key_size = a.key.empty() ? 0 : len_field_size(a.key.size());
    p = put_header(p, field, key_size + len_field_size(value_size));
    p = put_string_field(p, kKeyValueKey, a.key);
    p = put_header(p, kKeyValueValue, value_size);
    p = put_any_value(p, a.value);
  }
  return p;
}

uint8_t* put_event(uint8_t* p, const SpanEvent& e) {
  p = put_header(p, kSpanEvents, event_size(e));
  p = put_fixed64_field(p, kEventTime, e.time_unix_nano);
  p = put_string_field(p, kEventName, e.name);
  p = put_attributes(p, kEventAttributes, e.attributes);
  return put_uint_field(p, kEventDroppedAttributes, e.dropped_attributes_count);
}

uint8_t* put_link(uint8_t* p, const SpanLink& l) {
  p = put_header(p, kSpanLinks, link_size(l));
  p = put_bytes_field(p, kLinkTraceId, l.trace_id.bytes.data(), 16);
  p = put_bytes_field(p, kLinkSpanId, l.span_id.bytes.data(), 8);
  p = put_string_field(p, kLinkTraceState, l.trace_state);
  p = put_attributes(p, kLinkAttributes, l.attributes);
  p = put_uint_field(p, kLinkDroppedAttributes, l.dropped_attributes_count);
  if (l.flags != 0) p = put_fixed32(put_byte(p, tag(kLinkFlags, kI32)), l.flags);
  return p;
}

// Fields in field-number order, as canonical serializers write them.
uint8_t* put_span(uint8_t* p, const SpanData& s, size_t size) {
  p = put_header(p, kScopeSpansSpans, size);
  p = put_bytes_field(p, kSpanTraceId, s.trace_id.bytes.data(), 16);
  p = put_bytes_field(p, kSpanSpanId, s.span_id.bytes.data(), 8);
  p = put_string_field(p, kSpanTraceState, s.trace_state);
  if (s.parent_span_id.valid()) {
    p = put_bytes_field(p, kSpanParentSpanId, s.parent_span_id.bytes.data(), 8);
  }
  p = put_string_field(p, kSpanName, s.name);
  p = put_uint_field(p, kSpanKind, enum_wire(static_cast<int>(s.kind)));
  p = put_fixed64_field(p, kSpanStart, s.start_unix_nano);
  p = put_fixed64_field(p, kSpanEnd, s.end_unix_nano);
  p = put_attributes(p, kSpanAttributes, s.attributes);
  p = put_uint_field(p, kSpanDroppedAttributes, s.dropped_attributes_count);
  for (const SpanEvent& e : s.events) p = put_event(p, e);
  p = put_uint_field(p, kSpanDroppedEvents, s.dropped_events_count);
  for (const SpanLink& l : s.links) p = put_link(p, l);
  p = put_uint_field(p, kSpanDroppedLinks, s.dropped_links_count);
  if (has_status(s.status)) {
    p = put_header(p, kSpanStatus, status_size(s.status));
    p = put_string_field(p, kStatusMessage, s.status.description);
    p = put_uint_field(p, kStatusCode, enum_wire(static_cast<int>(s.status.code)));
  }
  p = put_varint(p, (kSpanFlags << 3) | kI32);
  return put_fixed32(p, span_flags(s));
}

// A batch's spans were written by application threads on other cores and
// are rarely in this core's cache: the encoder waits on fetching them more
// than it computes. Asking for a span's memory a few spans before it is used
// overlaps those fetches.
constexpr size_t kPrefetchAhead = 4;

inline void prefetch_bytes(const void* p, size_t n) {
  const char* c = static_cast<const char*>(p);
  for (size_t at = 0; at < n; at += 64) __builtin_prefetch(c + at);
}

// What the size pass reads of a span: its attribute array.
inline void prefetch_attributes(const SpanData& s) {
  prefetch_bytes(s.attributes.data(), s.attributes.size() * sizeof(Attribute));
}

// What the writing pass copies of a span: its keys and string values.
inline void prefetch_attribute_text(const SpanData& s) {
  for (const Attribute& a : s.attributes) {
    __builtin_prefetch(a.key.data());
    if (const auto* v = std::get_if<std::string>(&a.value)) __builtin_prefetch(v->data());
  }
}

}  // namespace

void TraceRequestEncoder::encode(const SpanBatch& batch, std::string& out) {
  groups_.build(batch);
  span_sizes_.resize(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i + kPrefetchAhead < batch.size()) prefetch_attributes(batch[i + kPrefetchAhead]);
    span_sizes_[i] = span_size(batch[i]);
  }

  const auto& resources = groups_.resources();
  const auto& scopes = groups_.scopes();
  const auto& order = groups_.order();

  // Payload sizes of every ScopeSpans and ResourceSpans, recomputed in the
  // writing pass below (cheap: they are sums over already known span sizes).
  auto scope_spans_size = [&](const SpanGroups::ScopeGroup& g) {
    size_t n = g.scope ? len_field_size(scope_size(*g.scope)) : 0;
    for (uint32_t k = g.begin; k < g.end; ++k) n += len_field_size(span_sizes_[order[k]]);
    return n;
  };
  auto resource_spans_size = [&](const SpanGroups::ResourceGroup& r) {
    size_t n = r.resource ? len_field_size(attributes_size(r.resource->attributes)) : 0;
    for (uint32_t s = r.scope_begin; s < r.scope_end; ++s) {
      n += len_field_size(scope_spans_size(scopes[s]));
    }
    return n;
  };

  size_t total = 0;
  for (const auto& r : resources) total += len_field_size(resource_spans_size(r));
  out.resize(total);

  auto* p = reinterpret_cast<uint8_t*>(out.data());
  for (const auto& r : resources) {
    p = put_header(p, kRequestResourceSpans, resource_spans_size(r));
    if (r.resource) {
      p = put_header(p, kResourceSpansResource, attributes_size(r.resource->attributes));
      p = put_attributes(p, kResourceAttributes, r.resource->attributes);
    }
    for (uint32_t s = r.scope_begin; s < r.scope_end; ++s) {
      const auto& g = scopes[s];
      p = put_header(p, kResourceSpansScopeSpans, scope_spans_size(g));
      if (g.scope) {
        p = put_header(p, kScopeSpansScope, scope_size(*g.scope));
        p = put_string_field(p, kScopeName, g.scope->name);
        p = put_string_field(p, kScopeVersion, g.scope->version);
      }
      for (uint32_t k = g.begin; k < g.end; ++k) {
        if (k + kPrefetchAhead < g.end) prefetch_attribute_text(batch[order[k + kPrefetchAhead]]);
        p = put_span(p, batch[order[k]], span_sizes_[order[k]]);
      }
    }
  }
  assert(reinterpret_cast<char*>(p) == out.data() + out.size());
}

void append_key_values_proto(uint32_t field, const std::vector<Attribute>& attrs,
                             std::string& out) {
  size_t n = 0;
  for (const Attribute& a : attrs) n += len_field_size(key_value_size(a));
  const size_t at = out.size();
  out.resize(at + n);
  auto* p = reinterpret_cast<uint8_t*>(out.data() + at);
  p = put_attributes(p, field, attrs);
  assert(reinterpret_cast<char*>(p) == out.data() + out.size());
}

std::string encode_trace_request(const SpanBatch& batch) {
  TraceRequestEncoder encoder;
  std::string out;
  encoder.encode(batch, out);
  return out;
}

std::string encode_trace_response(const PartialSuccess& partial) {
  if (partial.rejected_spans == 0 && partial.error_message.empty()) return {};
  size_t inner = uint_field_size(static_cast<uint64_t>(partial.rejected_spans)) +
                 string_field_size(partial.error_message);
  std::string out(len_field_size(inner), '\0');
  auto* p = reinterpret_cast<uint8_t*>(out.data());
  p = put_header(p, kResponsePartialSuccess, inner);
  p = put_uint_field(p, kPartialRejectedSpans, static_cast<uint64_t>(partial.rejected_spans));
  p = put_string_field(p, kPartialErrorMessage, partial.error_message);
  assert(reinterpret_cast<char*>(p) == out.data() + out.size());
  return out;
}

// ---------------------------------------------------------------------------
// Decoding.

namespace {

const char* wire_type_name(uint32_t wt) {
  switch (wt) {
    case kVarint:
      return "varint";
    case kI64:
      return "fixed64";
    case kLen:
      return "length-delimited";
    case kI32:
      return "fixed32";
    default:
      return "group";
  }
}

// A bounded view of one message's bytes.
class Reader {
 public:
  Reader(const uint8_t* p, const uint8_t* end) : p_(p), end_(end) {}
  bool done() const { return p_ >= end_; }
  const uint8_t* pos() const { return p_; }
  const uint8_t* end() const { return end_; }

  bool varint(uint64_t* out) {
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
      if (p_ >= end_) return false;
      uint8_t b = *p_++;
      if (shift < 64) v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) {
        *out = v;
        return true;
      }
    }
    return false;  // longer than the 10 bytes a 64-bit varint may take
  }
  bool fixed(size_t n, uint64_t* out) {
    if (static_cast<size_t>(end_ - p_) < n) return false;
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) v |= static_cast<uint64_t>(p_[i]) << (8 * i);
    p_ += n;
    *out = v;
    return true;
  }
  bool length_delimited(Reader* out) {
    uint64_t n = 0;
    if (!varint(&n) || n > static_cast<uint64_t>(end_ - p_)) return false;
    *out = Reader(p_, p_ + n);
    p_ += n;
    return true;
  }

 private:
  const uint8_t* p_;
  const uint8_t* end_;
};

struct Field {
  uint32_t number = 0;
  uint32_t wire_type = 0;
  const uint8_t* at = nullptr;
};

class Decoder {
 public:
  Decoder(std::string_view body, const DecodeLimits& limits, DecodeStats* stats)
      : base_(reinterpret_cast<const uint8_t*>(body.data())),
        end_(base_ + body.size()),
        budget_(limits.max_decoded_bytes),
        stats_(stats) {}

  Reader whole() const { return Reader(base_, end_); }
  const std::string& error() const { return error_; }
  size_t repaired_strings() const { return repaired_strings_; }
  size_t repaired_sequences() const { return repaired_sequences_; }
  const char* first_repaired() const { return first_repaired_; }

  bool request(Reader r, std::vector<SpanData>* out) {
    out_ = out;
    Field f;
    while (next(r, &f)) {
      if (f.number == kRequestResourceSpans) {
        Reader m(nullptr, nullptr);
        if (!message(r, f, "ExportTraceServiceRequest.resource_spans", &m) || !resource_spans(m)) {
          return false;
        }
      } else if (!skip(r, f)) {
        return false;
      }
    }
    return error_.empty();
  }

  bool response(Reader r, PartialSuccess* out) {
    Field f;
    while (next(r, &f)) {
      if (f.number == kResponsePartialSuccess) {
        Reader m(nullptr, nullptr);
        if (!message(r, f, "ExportTraceServiceResponse.partial_success", &m)) return false;
        Field g;
        while (next(m, &g)) {
          if (g.number == kPartialRejectedSpans) {
            uint64_t v = 0;
            if (!uint_value(m, g, "ExportTracePartialSuccess.rejected_spans", &v)) return false;
            out->rejected_spans = static_cast<int64_t>(v);
          } else if (g.number == kPartialErrorMessage) {
            if (!string_value(m, g, "ExportTracePartialSuccess.error_message",
                              &out->error_message)) {
              return false;
            }
          } else if (!skip(m, g)) {
            return false;
          }
        }
        if (!error_.empty()) return false;
      } else if (!skip(r, f)) {
        return false;
      }
    }
    return error_.empty();
  }

 private:
  bool fail(const uint8_t* at, const char* field, const std::string& problem) {
    if (error_.empty()) {
      error_.append(field).append(": ").append(problem);
      error_.append(" (offset ").append(std::to_string(at - base_)).append(")");
    }
    return false;
  }

  bool charge(const uint8_t* at, size_t n) {
    if (n > budget_) return fail(at, "request", "decoded size exceeds the limit");
    budget_ -= n;
    return true;
  }

  // Reads the next field tag. False at the end of `r` or on error (then error_ is set).
  bool next(Reader& r, Field* f) {
    if (r.done()) return false;
    f->at = r.pos();
    uint64_t t = 0;
    if (!r.varint(&t)) return fail(f->at, "tag", "truncated or overlong varint");
    uint64_t number = t >> 3;
    f->wire_type = static_cast<uint32_t>(t & 7);
    if (number == 0 || number > 0x1FFFFFFF) {
      return fail(f->at, "tag", "invalid field number " + std::to_string(number));
    }
    f->number = static_cast<uint32_t>(number);
    if (f->wire_type != kVarint && f->wire_type != kI64 && f->wire_type != kLen &&
        f->wire_type != kI32) {
      return fail(f->at, "tag",
                  "unsupported wire type " + std::to_string(f->wire_type) + " for field " +
                      std::to_string(number));
    }
    return true;
  }

  bool skip(Reader& r, const Field& f) {
    uint64_t ignored = 0;
    Reader m(nullptr, nullptr);
    bool ok = false;
    switch (f.wire_type) {
      case kVarint:
        ok = r.varint(&ignored);
        break;
      case kI64:
        ok = r.fixed(8, &ignored);
        break;
      case kI32:
        ok = r.fixed(4, &ignored);
        break;
      case kLen:
        ok = r.length_delimited(&m);
        break;
    }
    return ok || fail(f.at, "unknown field", "truncated");
  }

  bool expect(const Field& f, uint32_t wire_type, const char* name) {
    if (f.wire_type == wire_type) return true;
    return fail(f.at, name,
                std::string("wire type ") + wire_type_name(f.wire_type) + ", expected " +
                    wire_type_name(wire_type));
  }

  bool message(Reader& r, const Field& f, const char* name, Reader* out) {
    if (!expect(f, kLen, name)) return false;
    return r.length_delimited(out) ||
           fail(f.at, name, "bad length (truncated, or beyond the enclosing message)");
  }

  // A protobuf `string` must hold valid UTF-8; one that does not (other SDKs
  // send raw bytes) is kept repaired (common/utf8.h) rather than failing the
  // whole request, and the repairs are counted.
  bool string_value(Reader& r, const Field& f, const char* name, std::string* out) {
    Reader m(nullptr, nullptr);
    if (!message(r, f, name, &m)) return false;
    size_t n = static_cast<size_t>(m.end() - m.pos());
    std::string_view bytes(reinterpret_cast<const char*>(m.pos()), n);
    if (utf8::valid(bytes)) {
      if (!charge(f.at, n)) return false;
      out->assign(bytes.data(), n);
      return true;
    }
    std::string fixed;
    repaired_sequences_ += utf8::append_repaired(bytes, fixed);
    if (!charge(f.at, fixed.size())) return false;
    *out = std::move(fixed);
    if (repaired_strings_++ == 0) first_repaired_ = name;
    if (stats_) ++stats_->repaired_strings;
    return true;
  }

  bool uint_value(Reader& r, const Field& f, const char* name, uint64_t* out) {
    if (!expect(f, kVarint, name)) return false;
    return r.varint(out) || fail(f.at, name, "truncated or overlong varint");
  }

  bool fixed64_value(Reader& r, const Field& f, const char* name, uint64_t* out) {
    if (!expect(f, kI64, name)) return false;
    return r.fixed(8, out) || fail(f.at, name, "truncated");
  }

  bool fixed32_value(Reader& r, const Field& f, const char* name, uint32_t* out) {
    uint64_t v = 0;
    if (!expect(f, kI32, name)) return false;
    if (!r.fixed(4, &v)) return fail(f.at, name, "truncated");
    *out = static_cast<uint32_t>(v);
    return true;
  }

  // Ids are fixed-size bytes fields; empty means "not set".
  template <size_t N>
  bool id_value(Reader& r, const Field& f, const char* name, std::array<uint8_t, N>* out) {
    Reader m(nullptr, nullptr);
    if (!message(r, f, name, &m)) return false;
    size_t n = static_cast<size_t>(m.end() - m.pos());
    if (n == 0) {
      out->fill(0);
      return true;
    }
    if (n != N) {
      return fail(f.at, name,
                  "length " + std::to_string(n) + ", expected " + std::to_string(N) + " or 0");
    }
    std::memcpy(out->data(), m.pos(), N);
    return true;
  }

  // Decodes one AnyValue. Sets *supported to false (and skips the rest) when
  // the value is of a kind the data model cannot hold. Arrays are accepted only
  // when `allow_array`: array elements must be scalars.
  bool any_value(Reader r, bool allow_array, AttributeValue* out, bool* supported) {
    *supported = false;
    Field f;
    while (next(r, &f)) {
      switch (f.number) {
        case kAnyString: {
          std::string s;
          if (!string_value(r, f, "AnyValue.string_value", &s)) return false;
          *out = std::move(s);
          *supported = true;
          break;
        }
        case kAnyBool: {
          uint64_t v = 0;
          if (!uint_value(r, f, "AnyValue.bool_value", &v)) return false;
          *out = v != 0;
          *supported = true;
          break;
        }
        case kAnyInt: {
          uint64_t v = 0;
          if (!uint_value(r, f, "AnyValue.int_value", &v)) return false;
          *out = static_cast<int64_t>(v);
          *supported = true;
          break;
        }
        case kAnyDouble: {
          uint64_t bits = 0;
          if (!fixed64_value(r, f, "AnyValue.double_value", &bits)) return false;
          double d;
          std::memcpy(&d, &bits, sizeof d);
          *out = d;
          *supported = true;
          break;
        }
        case kAnyArray: {
          Reader m(nullptr, nullptr);
          if (!message(r, f, "AnyValue.array_value", &m)) return false;
          *supported = false;
          if (allow_array && !array_value(m, out, supported)) return false;
          break;
        }
        case kAnyKvlist:
        case kAnyBytes: {
          Reader m(nullptr, nullptr);
          if (!message(r, f,
                       f.number == kAnyKvlist ? "AnyValue.kvlist_value" : "AnyValue.bytes_value",
                       &m)) {
            return false;
          }
          *supported = false;
          break;
        }
        default:
          if (!skip(r, f)) return false;
      }
    }
    return error_.empty();
  }

  bool array_value(Reader r, AttributeValue* out, bool* supported) {
    ArrayBuilder array(out);
    Field f;
    while (next(r, &f)) {
      if (f.number != kArrayValues) {
        if (!skip(r, f)) return false;
        continue;
      }
      Reader m(nullptr, nullptr);
      if (!message(r, f, "ArrayValue.values", &m)) return false;
      AttributeValue element;
      bool element_ok;
      if (!any_value(m, /*allow_array=*/false, &element, &element_ok)) return false;
      if (!charge(f.at, sizeof(std::string))) return false;
      array.add(std::move(element), element_ok);
    }
    if (!error_.empty()) return false;
    *supported = array.homogeneous();
    return true;
  }

  // Appends one KeyValue to `attrs`, or counts it in *dropped when its value
  // cannot be represented.
  bool key_value(Reader r, const uint8_t* at, std::vector<Attribute>* attrs, uint32_t* dropped) {
    if (!charge(at, sizeof(Attribute))) return false;
    Attribute a;
    bool has_value = false;
    bool supported = false;
    Field f;
    while (next(r, &f)) {
      if (f.number == kKeyValueKey) {
        if (!string_value(r, f, "KeyValue.key", &a.key)) return false;
      } else if (f.number == kKeyValueValue) {
        Reader m(nullptr, nullptr);
        if (!message(r, f, "KeyValue.value", &m)) return false;
        // A repeated singular message field merges; for a oneof that means the last value wins.
        if (!any_value(m, /*allow_array=*/true, &a.value, &supported)) return false;
        has_value = true;
      } else if (!skip(r, f)) {
        return false;
      }
    }
    if (!error_.empty()) return false;
    if (has_value && supported) {
      attrs->push_back(std::move(a));
    } else {
      if (stats_) ++stats_->dropped_values;
      if (dropped) ++*dropped;
    }
    return true;
  }

  bool attribute(Reader& r, const Field& f, const char* name, std::vector<Attribute>* attrs,
                 uint32_t* dropped) {
    Reader m(nullptr, nullptr);
    return message(r, f, name, &m) && key_value(m, f.at, attrs, dropped);
  }

  bool event(Reader r, const uint8_t* at, SpanEvent* e) {
    if (!charge(at, sizeof(SpanEvent))) return false;
    Field f;
    uint64_t v = 0;
    while (next(r, &f)) {
      switch (f.number) {
        case kEventTime:
          if (!fixed64_value(r, f, "Event.time_unix_nano", &e->time_unix_nano)) return false;
          break;
        case kEventName:
          if (!string_value(r, f, "Event.name", &e->name)) return false;
          break;
        case kEventAttributes:
          if (!attribute(r, f, "Event.attributes", &e->attributes, &e->dropped_attributes_count)) {
            return false;
          }
          break;
        case kEventDroppedAttributes:
          if (!uint_value(r, f, "Event.dropped_attributes_count", &v)) return false;
          e->dropped_attributes_count += static_cast<uint32_t>(v);
          break;
        default:
          if (!skip(r, f)) return false;
      }
    }
    return error_.empty();
  }

  bool link(Reader r, const uint8_t* at, SpanLink* l) {
    if (!charge(at, sizeof(SpanLink))) return false;
    Field f;
    uint64_t v = 0;
    while (next(r, &f)) {
      switch (f.number) {
        case kLinkTraceId:
          if (!id_value(r, f, "Link.trace_id", &l->trace_id.bytes)) return false;
          break;
        case kLinkSpanId:
          if (!id_value(r, f, "Link.span_id", &l->span_id.bytes)) return false;
          break;
        case kLinkTraceState:
          if (!string_value(r, f, "Link.trace_state", &l->trace_state)) return false;
          break;
        case kLinkAttributes:
          if (!attribute(r, f, "Link.attributes", &l->attributes, &l->dropped_attributes_count)) {
            return false;
          }
          break;
        case kLinkDroppedAttributes:
          if (!uint_value(r, f, "Link.dropped_attributes_count", &v)) return false;
          l->dropped_attributes_count += static_cast<uint32_t>(v);
          break;
        case kLinkFlags:
          if (!fixed32_value(r, f, "Link.flags", &l->flags)) return false;
          break;
        default:
          if (!skip(r, f)) return false;
      }
    }
    return error_.empty();
  }

  bool status(Reader r, SpanStatus* s) {
    Field f;
    uint64_t v = 0;
    while (next(r, &f)) {
      if (f.number == kStatusMessage) {
        if (!string_value(r, f, "Status.message", &s->description)) return false;
      } else if (f.number == kStatusCode) {
        if (!uint_value(r, f, "Status.code", &v)) return false;
        // Unknown codes (a newer schema) read as unset rather than an out-of-range enum.
        s->code = v <= 2 ? static_cast<StatusCode>(v) : StatusCode::unset;
      } else if (!skip(r, f)) {
        return false;
      }
    }
    return error_.empty();
  }

  bool span(Reader r, SpanData* s) {
    Field f;
    uint64_t v = 0;
    while (next(r, &f)) {
      switch (f.number) {
        case kSpanTraceId:
          if (!id_value(r, f, "Span.trace_id", &s->trace_id.bytes)) return false;
          break;
        case kSpanSpanId:
          if (!id_value(r, f, "Span.span_id", &s->span_id.bytes)) return false;
          break;
        case kSpanTraceState:
          if (!string_value(r, f, "Span.trace_state", &s->trace_state)) return false;
          break;
        case kSpanParentSpanId:
          if (!id_value(r, f, "Span.parent_span_id", &s->parent_span_id.bytes)) return false;
          break;
        case kSpanFlags: {
          uint32_t flags = 0;
          if (!fixed32_value(r, f, "Span.flags", &flags)) return false;
          s->flags = flags & kFlagsTraceFlagsMask;
          s->parent_is_remote = (flags & kFlagsIsRemote) != 0;
          break;
        }
        case kSpanName:
          if (!string_value(r, f, "Span.name", &s->name)) return false;
          break;
        case kSpanKind:
          if (!uint_value(r, f, "Span.kind", &v)) return false;
          s->kind = v <= 5 ? static_cast<SpanKind>(v) : SpanKind::unspecified;
          break;
        case kSpanStart:
          if (!fixed64_value(r, f, "Span.start_time_unix_nano", &s->start_unix_nano)) return false;
          break;
        case kSpanEnd:
          if (!fixed64_value(r, f, "Span.end_time_unix_nano", &s->end_unix_nano)) return false;
          break;
        case kSpanAttributes:
          if (!attribute(r, f, "Span.attributes", &s->attributes, &s->dropped_attributes_count)) {
            return false;
          }
          break;
        case kSpanDroppedAttributes:
          if (!uint_value(r, f, "Span.dropped_attributes_count", &v)) return false;
          s->dropped_attributes_count += static_cast<uint32_t>(v);
          break;
        case kSpanEvents: {
          Reader m(nullptr, nullptr);
          if (!message(r, f, "Span.events", &m)) return false;
          s->events.emplace_back();
          if (!event(m, f.at, &s->events.back())) return false;
          break;
        }
        case kSpanDroppedEvents:
          if (!uint_value(r, f, "Span.dropped_events_count", &v)) return false;
          s->dropped_events_count = static_cast<uint32_t>(v);
          break;
        case kSpanLinks: {
          Reader m(nullptr, nullptr);
          if (!message(r, f, "Span.links", &m)) return false;
          s->links.emplace_back();
          if (!link(m, f.at, &s->links.back())) return false;
          break;
        }
        case kSpanDroppedLinks:
          if (!uint_value(r, f, "Span.dropped_links_count", &v)) return false;
          s->dropped_links_count = static_cast<uint32_t>(v);
          break;
        case kSpanStatus: {
          Reader m(nullptr, nullptr);
          if (!message(r, f, "Span.status", &m) || !status(m, &s->status)) return false;
          break;
        }
        default:
          if (!skip(r, f)) return false;
      }
    }
    return error_.empty();
  }

  bool scope_spans(Reader r) {
    // The scope may follow the spans on the wire: attach it once the message is read.
    size_t first = out_->size();
    auto scope = std::make_shared<InstrumentationScope>();
    Field f;
    while (next(r, &f)) {
      if (f.number == kScopeSpansScope) {
        Reader m(nullptr, nullptr);
        if (!message(r, f, "ScopeSpans.scope", &m)) return false;
        Field g;
        while (next(m, &g)) {
          if (g.number == kScopeName) {
            if (!string_value(m, g, "InstrumentationScope.name", &scope->name)) return false;
          } else if (g.number == kScopeVersion) {
            if (!string_value(m, g, "InstrumentationScope.version", &scope->version)) return false;
          } else if (!skip(m, g)) {
            return false;
          }
        }
        if (!error_.empty()) return false;
      } else if (f.number == kScopeSpansSpans) {
        Reader m(nullptr, nullptr);
        if (!message(r, f, "ScopeSpans.spans", &m)) return false;
        if (!charge(f.at, sizeof(SpanData))) return false;
        out_->emplace_back();
        // An absent kind is 0 on the wire, while SpanData defaults to internal.
        out_->back().kind = SpanKind::unspecified;
        if (!span(m, &out_->back())) return false;
      } else if (!skip(r, f)) {
        return false;
      }
    }
    if (!error_.empty()) return false;
    std::shared_ptr<const InstrumentationScope> shared = std::move(scope);
    for (size_t i = first; i < out_->size(); ++i) (*out_)[i].scope = shared;
    return true;
  }

  bool resource_spans(Reader r) {
    size_t first = out_->size();
    auto resource = std::make_shared<Resource>();
    Field f;
    while (next(r, &f)) {
      if (f.number == kResourceSpansResource) {
        Reader m(nullptr, nullptr);
        if (!message(r, f, "ResourceSpans.resource", &m)) return false;
        Field g;
        while (next(m, &g)) {
          if (g.number == kResourceAttributes) {
            if (!attribute(m, g, "Resource.attributes", &resource->attributes, nullptr)) {
              return false;
            }
          } else if (!skip(m, g)) {
            return false;
          }
        }
        if (!error_.empty()) return false;
      } else if (f.number == kResourceSpansScopeSpans) {
        Reader m(nullptr, nullptr);
        if (!message(r, f, "ResourceSpans.scope_spans", &m) || !scope_spans(m)) return false;
      } else if (!skip(r, f)) {
        return false;
      }
    }
    if (!error_.empty()) return false;
    std::shared_ptr<const Resource> shared = std::move(resource);
    for (size_t i = first; i < out_->size(); ++i) (*out_)[i].resource = shared;
    return true;
  }

  const uint8_t* base_;
  const uint8_t* end_;
  size_t budget_;
  DecodeStats* stats_;
  std::vector<SpanData>* out_ = nullptr;
  std::string error_;
  // Strings kept repaired, the sequences replaced in them, and the field of the first.
  size_t repaired_strings_ = 0;
  size_t repaired_sequences_ = 0;
  const char* first_repaired_ = nullptr;
};

}  // namespace

Expected<std::vector<SpanData>> decode_trace_request(std::string_view body,
                                                     const DecodeLimits& limits,
                                                     DecodeStats* stats) {
  if (body.size() > limits.max_input_bytes) {
    return Error{Error::parse_error, "otlp protobuf: request of " + std::to_string(body.size()) +
                                         " bytes exceeds the limit of " +
                                         std::to_string(limits.max_input_bytes)};
  }
  try {
    Decoder d(body, limits, stats);
    std::vector<SpanData> spans;
    if (!d.request(d.whole(), &spans)) {
      return Error{Error::parse_error, "otlp protobuf: " + d.error()};
    }
    if (d.repaired_strings() > 0) {
      utf8::warn("OTLP protobuf request (" + std::to_string(d.repaired_strings()) +
                     " strings, the first in " + d.first_repaired() + ")",
                 d.repaired_sequences());
    }
    return spans;
  } catch (const std::bad_alloc&) {
    return Error{Error::parse_error, "otlp protobuf: out of memory while decoding"};
  }
}

Expected<PartialSuccess> decode_trace_response(std::string_view body) {
  try {
    Decoder d(body, DecodeLimits{}, nullptr);
    PartialSuccess out;
    if (!d.response(d.whole(), &out)) {
      return Error{Error::parse_error, "otlp protobuf response: " + d.error()};
    }
    return out;
  } catch (const std::bad_alloc&) {
    return Error{Error::parse_error, "otlp protobuf response: out of memory while decoding"};
  }
}

std::string decode_status_message(std::string_view body) {
  // google.rpc.Status: int32 code = 1; string message = 2; repeated Any details = 3.
  constexpr uint32_t kStatusRpcMessage = 2;
  Reader r(reinterpret_cast<const uint8_t*>(body.data()),
           reinterpret_cast<const uint8_t*>(body.data()) + body.size());
  std::string message;
  while (!r.done()) {
    uint64_t t = 0;
    uint64_t ignored = 0;
    Reader m(nullptr, nullptr);
    if (!r.varint(&t)) return {};
    bool ok = false;
    switch (t & 7) {
      case kVarint:
        ok = r.varint(&ignored);
        break;
      case kI64:
        ok = r.fixed(8, &ignored);
        break;
      case kI32:
        ok = r.fixed(4, &ignored);
        break;
      case kLen:
        ok = r.length_delimited(&m);
        if (ok && (t >> 3) == kStatusRpcMessage) {
          message.assign(reinterpret_cast<const char*>(m.pos()), m.end() - m.pos());
        }
        break;
    }
    if (!ok) return {};
  }
  return message;
}

}  // namespace convtrace::otlp
