#include "otlp/otlp_metrics.h"

#include <cstring>

#include "common/varint.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"

namespace convtrace::otlp {
namespace {

// Field numbers, from opentelemetry-proto (collector/metrics/v1/metrics_service.proto,
// metrics/v1/metrics.proto, common/v1/common.proto, resource/v1/resource.proto).
constexpr uint32_t kRequestResourceMetrics = 1;
constexpr uint32_t kResourceMetricsResource = 1;
constexpr uint32_t kResourceMetricsScopeMetrics = 2;
constexpr uint32_t kResourceAttributes = 1;
constexpr uint32_t kScopeMetricsScope = 1;
constexpr uint32_t kScopeMetricsMetrics = 2;
constexpr uint32_t kScopeName = 1;
constexpr uint32_t kScopeVersion = 2;
constexpr uint32_t kMetricName = 1;
constexpr uint32_t kMetricDescription = 2;
constexpr uint32_t kMetricUnit = 3;
constexpr uint32_t kMetricSum = 7;
constexpr uint32_t kMetricHistogram = 9;
constexpr uint32_t kSumDataPoints = 1;
constexpr uint32_t kSumTemporality = 2;
constexpr uint32_t kSumMonotonic = 3;
constexpr uint32_t kHistogramDataPoints = 1;
constexpr uint32_t kHistogramTemporality = 2;
// NumberDataPoint
constexpr uint32_t kNumberStart = 2;
constexpr uint32_t kNumberTime = 3;
constexpr uint32_t kNumberAsDouble = 4;
constexpr uint32_t kNumberExemplars = 5;
constexpr uint32_t kNumberAttributes = 7;
// HistogramDataPoint
constexpr uint32_t kHistStart = 2;
constexpr uint32_t kHistTime = 3;
constexpr uint32_t kHistCount = 4;
constexpr uint32_t kHistSum = 5;
constexpr uint32_t kHistBucketCounts = 6;
constexpr uint32_t kHistExplicitBounds = 7;
constexpr uint32_t kHistExemplars = 8;
constexpr uint32_t kHistAttributes = 9;
constexpr uint32_t kHistMin = 11;
constexpr uint32_t kHistMax = 12;
// Exemplar
constexpr uint32_t kExemplarTime = 2;
constexpr uint32_t kExemplarAsDouble = 3;
constexpr uint32_t kExemplarSpanId = 4;
constexpr uint32_t kExemplarTraceId = 5;

// AggregationTemporality: DELTA = 1, CUMULATIVE = 2.
uint64_t temporality_wire(Temporality t) { return t == Temporality::delta ? 1 : 2; }

enum WireType : uint32_t { kVarint = 0, kI64 = 1, kLen = 2 };

void put_tag(std::string& out, uint32_t field, uint32_t wire) {
  append_varint(out, (static_cast<uint64_t>(field) << 3) | wire);
}
void put_fixed64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>(v >> (8 * i)));  // little-endian
}
void put_fixed64_field(std::string& out, uint32_t field, uint64_t v) {
  put_tag(out, field, kI64);
  put_fixed64(out, v);
}
void put_double_field(std::string& out, uint32_t field, double v) {
  uint64_t bits;
  std::memcpy(&bits, &v, 8);
  put_fixed64_field(out, field, bits);
}
void put_varint_field(std::string& out, uint32_t field, uint64_t v) {
  put_tag(out, field, kVarint);
  append_varint(out, v);
}
void put_bytes_field(std::string& out, uint32_t field, std::string_view bytes) {
  put_tag(out, field, kLen);
  append_varint(out, bytes.size());
  out.append(bytes.data(), bytes.size());
}
void put_string_field(std::string& out, uint32_t field, std::string_view s) {
  if (!s.empty()) put_bytes_field(out, field, s);
}

void put_exemplars(std::string& out, uint32_t field, const std::vector<Exemplar>& exemplars) {
  for (const Exemplar& e : exemplars) {
    std::string m;
    put_fixed64_field(m, kExemplarTime, e.time_unix_nano);
    put_double_field(m, kExemplarAsDouble, e.value);
    put_bytes_field(m, kExemplarSpanId,
                    std::string_view(reinterpret_cast<const char*>(e.span_id.bytes.data()), 8));
    put_bytes_field(m, kExemplarTraceId,
                    std::string_view(reinterpret_cast<const char*>(e.trace_id.bytes.data()), 16));
    put_bytes_field(out, field, m);
  }
}

std::string histogram_point(const HistogramPoint& p, const std::vector<double>& bounds) {
  std::string m;
  append_key_values_proto(kHistAttributes, p.attributes, m);
  put_fixed64_field(m, kHistStart, p.start_time_unix_nano);
  put_fixed64_field(m, kHistTime, p.time_unix_nano);
  put_fixed64_field(m, kHistCount, p.count);
  put_double_field(m, kHistSum, p.sum);
  // Packed repeated fixed64 and double.
  put_tag(m, kHistBucketCounts, kLen);
  append_varint(m, p.bucket_counts.size() * 8);
  for (uint64_t c : p.bucket_counts) put_fixed64(m, c);
  put_tag(m, kHistExplicitBounds, kLen);
  append_varint(m, bounds.size() * 8);
  for (double b : bounds) {
    uint64_t bits;
    std::memcpy(&bits, &b, 8);
    put_fixed64(m, bits);
  }
  put_exemplars(m, kHistExemplars, p.exemplars);
  if (p.min) put_double_field(m, kHistMin, *p.min);
  if (p.max) put_double_field(m, kHistMax, *p.max);
  return m;
}

std::string number_point(const SumPoint& p) {
  std::string m;
  put_fixed64_field(m, kNumberStart, p.start_time_unix_nano);
  put_fixed64_field(m, kNumberTime, p.time_unix_nano);
  put_double_field(m, kNumberAsDouble, p.value);
  put_exemplars(m, kNumberExemplars, p.exemplars);
  append_key_values_proto(kNumberAttributes, p.attributes, m);
  return m;
}

std::string metric_message(const MetricData& md) {
  std::string m;
  put_string_field(m, kMetricName, md.name);
  put_string_field(m, kMetricDescription, md.description);
  put_string_field(m, kMetricUnit, md.unit);
  std::string data;
  if (md.type == MetricData::Type::histogram) {
    for (const HistogramPoint& p : md.histogram_points) {
      put_bytes_field(data, kHistogramDataPoints, histogram_point(p, md.explicit_bounds));
    }
    put_varint_field(data, kHistogramTemporality, temporality_wire(md.temporality));
    put_bytes_field(m, kMetricHistogram, data);
  } else {
    for (const SumPoint& p : md.sum_points) {
      put_bytes_field(data, kSumDataPoints, number_point(p));
    }
    put_varint_field(data, kSumTemporality, temporality_wire(md.temporality));
    if (md.monotonic) put_varint_field(data, kSumMonotonic, 1);
    put_bytes_field(m, kMetricSum, data);
  }
  return m;
}

// --- OTLP/JSON ---------------------------------------------------------------

void json_key(const char* k, bool& first, std::string& out) {
  if (!first) out.push_back(',');
  first = false;
  out.push_back('"');
  out.append(k);
  out.append("\":");
}

void json_quoted_uint(uint64_t v, std::string& out) {
  out.push_back('"');
  out.append(std::to_string(v));
  out.push_back('"');
}

void json_hex(const uint8_t* data, size_t n, std::string& out) {
  static const char kHex[] = "0123456789abcdef";
  out.push_back('"');
  for (size_t i = 0; i < n; ++i) {
    out.push_back(kHex[data[i] >> 4]);
    out.push_back(kHex[data[i] & 15]);
  }
  out.push_back('"');
}

void json_exemplars(const std::vector<Exemplar>& exemplars, bool& first, std::string& out) {
  if (exemplars.empty()) return;
  json_key("exemplars", first, out);
  out.push_back('[');
  for (size_t i = 0; i < exemplars.size(); ++i) {
    const Exemplar& e = exemplars[i];
    if (i) out.push_back(',');
    bool f = true;
    out.push_back('{');
    json_key("timeUnixNano", f, out);
    json_quoted_uint(e.time_unix_nano, out);
    json_key("asDouble", f, out);
    append_json_double(e.value, out);
    json_key("spanId", f, out);
    json_hex(e.span_id.bytes.data(), 8, out);
    json_key("traceId", f, out);
    json_hex(e.trace_id.bytes.data(), 16, out);
    out.push_back('}');
  }
  out.push_back(']');
}

void json_point_common(const std::vector<Attribute>& attributes, uint64_t start, uint64_t time,
                       bool& first, std::string& out) {
  if (!attributes.empty()) {
    json_key("attributes", first, out);
    append_key_values_json(attributes, out);
  }
  json_key("startTimeUnixNano", first, out);
  json_quoted_uint(start, out);
  json_key("timeUnixNano", first, out);
  json_quoted_uint(time, out);
}

void json_metric(const MetricData& md, std::string& out) {
  bool first = true;
  out.push_back('{');
  json_key("name", first, out);
  append_json_string(md.name, out);
  if (!md.description.empty()) {
    json_key("description", first, out);
    append_json_string(md.description, out);
  }
  if (!md.unit.empty()) {
    json_key("unit", first, out);
    append_json_string(md.unit, out);
  }
  const bool histogram = md.type == MetricData::Type::histogram;
  json_key(histogram ? "histogram" : "sum", first, out);
  out.append("{\"dataPoints\":[");
  if (histogram) {
    for (size_t i = 0; i < md.histogram_points.size(); ++i) {
      const HistogramPoint& p = md.histogram_points[i];
      if (i) out.push_back(',');
      bool f = true;
      out.push_back('{');
      json_point_common(p.attributes, p.start_time_unix_nano, p.time_unix_nano, f, out);
      json_key("count", f, out);
      json_quoted_uint(p.count, out);
      json_key("sum", f, out);
      append_json_double(p.sum, out);
      json_key("bucketCounts", f, out);
      out.push_back('[');
      for (size_t b = 0; b < p.bucket_counts.size(); ++b) {
        if (b) out.push_back(',');
        json_quoted_uint(p.bucket_counts[b], out);
      }
      out.push_back(']');
      json_key("explicitBounds", f, out);
      out.push_back('[');
      for (size_t b = 0; b < md.explicit_bounds.size(); ++b) {
        if (b) out.push_back(',');
        append_json_double(md.explicit_bounds[b], out);
      }
      out.push_back(']');
      json_exemplars(p.exemplars, f, out);
      if (p.min) {
        json_key("min", f, out);
        append_json_double(*p.min, out);
      }
      if (p.max) {
        json_key("max", f, out);
        append_json_double(*p.max, out);
      }
      out.push_back('}');
    }
  } else {
    for (size_t i = 0; i < md.sum_points.size(); ++i) {
      const SumPoint& p = md.sum_points[i];
      if (i) out.push_back(',');
      bool f = true;
      out.push_back('{');
      json_point_common(p.attributes, p.start_time_unix_nano, p.time_unix_nano, f, out);
      json_key("asDouble", f, out);
      append_json_double(p.value, out);
      json_exemplars(p.exemplars, f, out);
      out.push_back('}');
    }
  }
  out.append("],\"aggregationTemporality\":");
  out.append(std::to_string(temporality_wire(md.temporality)));
  if (!histogram && md.monotonic) out.append(",\"isMonotonic\":true");
  out.append("}}");
}

}  // namespace

std::string encode_metrics_request(const MetricsBatch& batch) {
  std::string scope_metrics;
  if (batch.scope) {
    std::string scope;
    put_string_field(scope, kScopeName, batch.scope->name);
    put_string_field(scope, kScopeVersion, batch.scope->version);
    put_bytes_field(scope_metrics, kScopeMetricsScope, scope);
  }
  for (const MetricData& md : batch.metrics) {
    put_bytes_field(scope_metrics, kScopeMetricsMetrics, metric_message(md));
  }
  std::string resource_metrics;
  if (batch.resource) {
    std::string resource;
    append_key_values_proto(kResourceAttributes, batch.resource->attributes, resource);
    put_bytes_field(resource_metrics, kResourceMetricsResource, resource);
  }
  put_bytes_field(resource_metrics, kResourceMetricsScopeMetrics, scope_metrics);
  std::string out;
  put_bytes_field(out, kRequestResourceMetrics, resource_metrics);
  return out;
}

std::string encode_metrics_request_json(const MetricsBatch& batch) {
  std::string out = "{\"resourceMetrics\":[{";
  bool first = true;
  if (batch.resource) {
    json_key("resource", first, out);
    append_resource_json(*batch.resource, out);
  }
  json_key("scopeMetrics", first, out);
  out.append("[{");
  bool f = true;
  if (batch.scope) {
    json_key("scope", f, out);
    append_scope_json(*batch.scope, out);
  }
  json_key("metrics", f, out);
  out.push_back('[');
  for (size_t i = 0; i < batch.metrics.size(); ++i) {
    if (i) out.push_back(',');
    json_metric(batch.metrics[i], out);
  }
  out.append("]}]}]}");
  return out;
}

uint64_t data_point_count(const MetricsBatch& batch) {
  uint64_t n = 0;
  for (const MetricData& md : batch.metrics) n += md.histogram_points.size() + md.sum_points.size();
  return n;
}

}  // namespace convtrace::otlp
