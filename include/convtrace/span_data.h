// The recorded form of a span, as exporters receive it.
//
// These types follow the OpenTelemetry trace data model one to one (the OTLP
// `Span`, `Event`, `Link`, `Status`, `Resource`, `InstrumentationScope` and
// `AnyValue` messages), so that any exporter — ours or a future bridge to
// opentelemetry-cpp — maps them field by field. They are plain values: copying
// a SpanData copies everything it holds. A SpanData handed to an exporter is
// finished and read-only; it is not shared with the application thread.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace convtrace {

// 16-byte W3C trace id; all-zero is invalid.
struct TraceId {
  std::array<uint8_t, 16> bytes{};
  bool valid() const;
  std::string hex() const;  // 32 lowercase hex digits
  static bool from_hex(std::string_view hex, TraceId* out);
  friend bool operator==(const TraceId& a, const TraceId& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const TraceId& a, const TraceId& b) { return !(a == b); }
};

// 8-byte W3C span id; all-zero is invalid (and means "no parent").
struct SpanId {
  std::array<uint8_t, 8> bytes{};
  bool valid() const;
  std::string hex() const;  // 16 lowercase hex digits
  static bool from_hex(std::string_view hex, SpanId* out);
  friend bool operator==(const SpanId& a, const SpanId& b) { return a.bytes == b.bytes; }
  friend bool operator!=(const SpanId& a, const SpanId& b) { return !(a == b); }
};

// An attribute value: the OTel primitive types and homogeneous arrays of them.
using AttributeValue =
    std::variant<bool, int64_t, double, std::string, std::vector<bool>, std::vector<int64_t>,
                 std::vector<double>, std::vector<std::string>>;

struct Attribute {
  std::string key;
  AttributeValue value;
};

// Finds `key` among `attrs`; nullptr when absent. Linear: attribute lists are short.
const AttributeValue* find_attribute(const std::vector<Attribute>& attrs, std::string_view key);
// Typed look-ups; nullptr when absent or of another type.
const std::string* find_string(const std::vector<Attribute>& attrs, std::string_view key);
const int64_t* find_int(const std::vector<Attribute>& attrs, std::string_view key);
const double* find_double(const std::vector<Attribute>& attrs, std::string_view key);

// OTel SpanKind. Values equal the OTLP enum.
enum class SpanKind : int {
  unspecified = 0,
  internal = 1,
  server = 2,
  client = 3,
  producer = 4,
  consumer = 5
};

// OTel status code. Values equal the OTLP enum.
enum class StatusCode : int { unset = 0, ok = 1, error = 2 };

struct SpanStatus {
  StatusCode code = StatusCode::unset;
  std::string description;  // only meaningful with StatusCode::error
};

struct SpanEvent {
  std::string name;
  uint64_t time_unix_nano = 0;
  std::vector<Attribute> attributes;
  uint32_t dropped_attributes_count = 0;
};

struct SpanLink {
  TraceId trace_id;
  SpanId span_id;
  std::string trace_state;
  uint32_t flags = 0;  // W3C trace flags in the low byte
  std::vector<Attribute> attributes;
  uint32_t dropped_attributes_count = 0;
};

// Describes the entity producing telemetry (`service.name`, `telemetry.sdk.*`, …).
struct Resource {
  std::vector<Attribute> attributes;
};

// The library that produced the span (OTel InstrumentationScope).
struct InstrumentationScope {
  std::string name;
  std::string version;
};

struct SpanData {
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;  // invalid (zero) for a root span
  std::string trace_state;
  uint32_t flags = 0;  // W3C trace flags (bit 0 = sampled)
  bool parent_is_remote = false;
  std::string name;
  SpanKind kind = SpanKind::internal;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  std::vector<Attribute> attributes;
  std::vector<SpanEvent> events;
  std::vector<SpanLink> links;
  SpanStatus status;
  uint32_t dropped_attributes_count = 0;
  uint32_t dropped_events_count = 0;
  uint32_t dropped_links_count = 0;
  // Shared by every span of one SDK; never null for spans produced by the SDK.
  std::shared_ptr<const Resource> resource;
  std::shared_ptr<const InstrumentationScope> scope;
};

// A read-only view of consecutive finished spans, handed to exporters.
class SpanBatch {
 public:
  SpanBatch(const SpanData* const* data, size_t size) : data_(data), size_(size) {}
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const SpanData& operator[](size_t i) const { return *data_[i]; }
  const SpanData* const* begin() const { return data_; }
  const SpanData* const* end() const { return data_ + size_; }

 private:
  const SpanData* const* data_;
  size_t size_;
};

}  // namespace convtrace
