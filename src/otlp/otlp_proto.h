// OTLP trace messages in the protobuf wire format, without libprotobuf.
//
// The encoder writes an `ExportTraceServiceRequest`
// (opentelemetry/proto/collector/trace/v1/trace_service.proto) straight from
// SpanData into a string: sizes are computed first, so every length prefix is
// written once in its canonical form and the output buffer is sized exactly.
// The decoder is the receiving side (the `collect` receiver, tests): it treats
// its input as hostile — every length is bounds-checked, a field with the wrong
// wire type is an error, unknown fields are skipped, and the memory the decoded
// spans may take is capped.
//
// Mapping notes (both directions):
// - Span.flags (fixed32) carries the W3C trace flags in bits 0-7, bit 8
//   (HAS_IS_REMOTE) always set because we know whether the parent is remote,
//   and bit 9 (IS_REMOTE) from SpanData::parent_is_remote.
// - Link.flags is written and read unchanged.
// - AnyValue kinds the data model cannot hold (kvlist, bytes, nested or mixed
//   arrays, an empty AnyValue) are dropped on decode and counted in the
//   owner's dropped_attributes_count and in DecodeStats.
// - An empty array decodes as an empty std::vector<std::string>: the wire
//   format does not say what the element type was.
// - Decoded spans always have non-null resource and scope; spans of one
//   ResourceSpans (ScopeSpans) share one Resource (InstrumentationScope).
// - Strings are copied byte for byte. The encoder relies on them being valid
//   UTF-8, as everything that enters convtrace is made (common/utf8.h); the
//   decoder repairs strings that are not (each ill-formed sequence becomes
//   U+FFFD), counts them in DecodeStats and an `invalid_utf8` warning, and
//   keeps the span.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/span_data.h"
#include "otlp/span_groups.h"

namespace convtrace::otlp {

// Bounds a decoder applies to untrusted input.
struct DecodeLimits {
  // Larger inputs are rejected before parsing.
  size_t max_input_bytes = size_t{64} << 20;
  // Approximate heap the decoded spans may use (object sizes plus string
  // lengths). Stops small inputs from expanding into huge object graphs: an
  // empty span is two bytes on the wire but hundreds of bytes in memory.
  size_t max_decoded_bytes = size_t{512} << 20;
  // Maximum JSON nesting depth (the protobuf schema has a fixed depth).
  size_t max_json_depth = 64;
};

// What a decoder had to leave out.
struct DecodeStats {
  // Attribute values of a kind the data model cannot hold (see above).
  uint64_t dropped_values = 0;
  // Strings that were not valid UTF-8 and were kept repaired (protobuf), or
  // invalid sequences and lone surrogate escapes repaired in the body (JSON).
  uint64_t repaired_strings = 0;
};

// The ExportTracePartialSuccess part of an ExportTraceServiceResponse.
struct PartialSuccess {
  int64_t rejected_spans = 0;
  std::string error_message;
};

// Encodes ExportTraceServiceRequest messages. Keeps its scratch buffers
// between calls, so a long-lived encoder does not allocate per batch once its
// buffers have grown. Not thread-safe: one per exporter.
class TraceRequestEncoder {
 public:
  // Replaces the contents of `out` with the encoded request for `batch`.
  // Spans are grouped into ResourceSpans by resource (same object or equal
  // attributes) and into ScopeSpans by scope (same object or equal name and
  // version); within a group they keep batch order.
  void encode(const SpanBatch& batch, std::string& out);

 private:
  SpanGroups groups_;
  std::vector<size_t> span_sizes_;  // indexed like the batch
};

// Appends `attrs` as repeated KeyValue fields number `field` (for other OTLP
// messages: metrics data points, Resource).
void append_key_values_proto(uint32_t field, const std::vector<Attribute>& attrs, std::string& out);

// One-shot form of TraceRequestEncoder::encode.
std::string encode_trace_request(const SpanBatch& batch);

// Decodes an ExportTraceServiceRequest. Returns the spans in wire order, or
// Error::parse_error with a message naming the offending field and byte
// offset (for example "Span.trace_id: length 3, expected 16 or 0 (offset 41)").
// `stats`, when given, receives what had to be dropped.
Expected<std::vector<SpanData>> decode_trace_request(std::string_view body,
                                                     const DecodeLimits& limits = {},
                                                     DecodeStats* stats = nullptr);

// Encodes an ExportTraceServiceResponse. A default PartialSuccess (nothing
// rejected, no message) encodes as the empty message, meaning full success.
std::string encode_trace_response(const PartialSuccess& partial);

// Decodes an ExportTraceServiceResponse; an empty body is full success.
Expected<PartialSuccess> decode_trace_response(std::string_view body);

// The message of a google.rpc.Status, the body OTLP/HTTP servers send with an
// error status; empty when `body` is not a readable Status.
std::string decode_status_message(std::string_view body);

}  // namespace convtrace::otlp
