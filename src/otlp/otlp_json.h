// OTLP trace messages in the OTLP/JSON encoding.
//
// OTLP/JSON is the protobuf JSON mapping with the exceptions the OTLP
// specification makes: field names in lowerCamelCase, trace and span ids as
// hex strings (not base64), enums as integers. 64-bit integers (int64,
// fixed64) are written as decimal strings, as the protobuf JSON mapping does,
// and non-finite doubles as the strings "NaN", "Infinity" and "-Infinity".
// Fields holding their default value are omitted, except the ids, span name,
// kind and flags, and the AnyValue oneof (whose presence names the type).
//
// Strings are escaped for JSON; invalid UTF-8 sequences become U+FFFD so the
// output is always valid JSON even when an attribute holds arbitrary bytes.
//
// The decoder accepts what the OTLP/JSON specification requires receivers to
// accept: hex ids (either case), integers as JSON numbers or strings, enums
// as integers (or their proto names), unknown fields ignored. Its input is
// treated as hostile: depth, input size and decoded memory are bounded. The
// data-model notes of otlp_proto.h (flags, unsupported AnyValue kinds, empty
// arrays, shared resource and scope) apply here too.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/span_data.h"
#include "otlp/otlp_proto.h"
#include "otlp/span_groups.h"

namespace convtrace::otlp {

// Encodes ExportTraceServiceRequest bodies in OTLP/JSON. Keeps its scratch
// buffers between calls. Not thread-safe: one per exporter.
class TraceRequestJsonEncoder {
 public:
  // Replaces the contents of `out` with the JSON request for `batch`, grouped
  // like TraceRequestEncoder::encode.
  void encode(const SpanBatch& batch, std::string& out);

 private:
  SpanGroups groups_;
};

// One-shot form of TraceRequestJsonEncoder::encode.
std::string encode_trace_request_json(const SpanBatch& batch);

// Appends the OTLP/JSON object of one Span message (without its resource
// and scope) to `out`.
void append_span_json(const SpanData& span, std::string& out);
// Appends the OTLP/JSON object of a Resource message.
void append_resource_json(const Resource& resource, std::string& out);
// Appends the OTLP/JSON object of an InstrumentationScope message.
void append_scope_json(const InstrumentationScope& scope, std::string& out);
// Appends the OTLP/JSON array of KeyValue messages for `attrs`.
void append_key_values_json(const std::vector<Attribute>& attrs, std::string& out);
// Appends a double as OTLP/JSON writes one (shortest round-trip form, "NaN", "Infinity").
void append_json_double(double v, std::string& out);
// Appends `s` as a quoted JSON string (escaped; invalid UTF-8 replaced by U+FFFD).
void append_json_string(std::string_view s, std::string& out);

// Decodes an ExportTraceServiceRequest in OTLP/JSON. Returns the spans in
// document order or Error::parse_error naming the offending field (for
// example "resourceSpans[0].scopeSpans[1].spans[3].traceId: expected 32 hex
// digits"). `stats`, when given, receives what had to be dropped.
Expected<std::vector<SpanData>> decode_trace_request_json(std::string_view body,
                                                          const DecodeLimits& limits = {},
                                                          DecodeStats* stats = nullptr);

// Encodes an ExportTraceServiceResponse in OTLP/JSON ("{}" for full success).
std::string encode_trace_response_json(const PartialSuccess& partial);

// Decodes an ExportTraceServiceResponse in OTLP/JSON; an empty body is full success.
Expected<PartialSuccess> decode_trace_response_json(std::string_view body);

// The "message" of a google.rpc.Status in JSON; empty when there is none.
std::string decode_status_message_json(std::string_view body);

}  // namespace convtrace::otlp
