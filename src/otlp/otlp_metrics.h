// OTLP metrics messages: an ExportMetricsServiceRequest
// (opentelemetry/proto/collector/metrics/v1/metrics_service.proto) from a
// MetricsBatch, in the protobuf wire format and in OTLP/JSON. Metrics are
// encoded once per export interval, so these build nested messages in
// temporary strings rather than sizing everything first like the span
// encoder. The response (ExportMetricsServiceResponse) has the span
// response's shape and is read by decode_trace_response(_json).
#pragma once

#include <string>

#include "convtrace/metrics.h"

namespace convtrace::otlp {

std::string encode_metrics_request(const MetricsBatch& batch);
std::string encode_metrics_request_json(const MetricsBatch& batch);

// Data points in `batch` (what partial success counts).
uint64_t data_point_count(const MetricsBatch& batch);

}  // namespace convtrace::otlp
