// An opentelemetry-cpp SDK pipeline for the bridge tests: a TracerProvider
// whose processor is convtrace's, decorating an exporting processor that
// writes into opentelemetry-cpp's in-memory exporter; and, on request, the
// convtrace SDK bridged onto that provider. Spans are read back in one form
// shared with convtrace's own SpanData, so both paths compare field by field.
#pragma once

#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include <opentelemetry/exporters/memory/in_memory_span_data.h>
#include <opentelemetry/exporters/memory/in_memory_span_exporter_factory.h>
#include <opentelemetry/sdk/resource/resource.h>
#include <opentelemetry/sdk/trace/batch_span_processor_factory.h>
#include <opentelemetry/sdk/trace/batch_span_processor_options.h>
#include <opentelemetry/sdk/trace/simple_processor_factory.h>
#include <opentelemetry/sdk/trace/span_data.h>
#include <opentelemetry/sdk/trace/tracer_provider.h>
#include <opentelemetry/sdk/trace/tracer_provider_factory.h>
#include <opentelemetry/trace/provider.h>
#include <opentelemetry/trace/scope.h>
#include <opentelemetry/trace/tracer.h>

#include "convtrace/convtrace.h"
#include "convtrace/opentelemetry.h"
#include "otelcpp/convert.h"

namespace convtrace::testing {

namespace otel_api = ::opentelemetry::trace;
namespace otel_sdk = ::opentelemetry::sdk::trace;
namespace otel_memory = ::opentelemetry::exporter::memory;

// The prices both paths use, so that costs are known numbers.
inline Pricing test_pricing() {
  Pricing pricing;
  pricing.set("gpt-4o", 2.50, 10.00, 1.25);
  pricing.set("gpt-4o-mini", 0.15, 0.60, 0.075);
  pricing.set("text-embedding-3-small", 0.02, 0.0);
  return pricing;
}

// One finished span, from either SDK, in one comparable form.
struct FlatSpan {
  std::string name;
  TraceId trace_id;
  SpanId span_id;
  SpanId parent_span_id;
  SpanKind kind = SpanKind::internal;
  StatusCode status = StatusCode::unset;
  std::string status_description;
  uint64_t start_unix_nano = 0;
  uint64_t end_unix_nano = 0;
  std::map<std::string, AttributeValue> attributes;
  std::vector<std::string> event_names;
  std::vector<std::map<std::string, AttributeValue>> event_attributes;

  const AttributeValue* find(const std::string& key) const {
    auto it = attributes.find(key);
    return it == attributes.end() ? nullptr : &it->second;
  }
  std::string str(const std::string& key) const {
    const AttributeValue* v = find(key);
    const std::string* s = v ? std::get_if<std::string>(v) : nullptr;
    return s ? *s : std::string("<absent>");
  }
  int64_t integer(const std::string& key, int64_t missing = -1) const {
    const AttributeValue* v = find(key);
    const int64_t* n = v ? std::get_if<int64_t>(v) : nullptr;
    return n ? *n : missing;
  }
  double real(const std::string& key, double missing = -1) const {
    const AttributeValue* v = find(key);
    const double* d = v ? std::get_if<double>(v) : nullptr;
    return d ? *d : missing;
  }
};

inline AttributeValue from_owned(const ::opentelemetry::sdk::common::OwnedAttributeValue& v) {
  struct Visit {
    AttributeValue operator()(bool b) const { return b; }
    AttributeValue operator()(int32_t n) const { return int64_t{n}; }
    AttributeValue operator()(uint32_t n) const { return int64_t{n}; }
    AttributeValue operator()(int64_t n) const { return n; }
    AttributeValue operator()(uint64_t n) const { return static_cast<int64_t>(n); }
    AttributeValue operator()(double d) const { return d; }
    AttributeValue operator()(const std::string& s) const { return s; }
    AttributeValue operator()(const std::vector<bool>& b) const { return b; }
    AttributeValue operator()(const std::vector<int32_t>& n) const {
      return std::vector<int64_t>(n.begin(), n.end());
    }
    AttributeValue operator()(const std::vector<uint32_t>& n) const {
      return std::vector<int64_t>(n.begin(), n.end());
    }
    AttributeValue operator()(const std::vector<int64_t>& n) const { return n; }
    AttributeValue operator()(const std::vector<uint64_t>& n) const {
      return std::vector<int64_t>(n.begin(), n.end());
    }
    AttributeValue operator()(const std::vector<double>& d) const { return d; }
    AttributeValue operator()(const std::vector<std::string>& s) const { return s; }
    AttributeValue operator()(const std::vector<uint8_t>&) const { return std::string("<bytes>"); }
  };
  return ::opentelemetry::nostd::visit(Visit{}, v);
}

inline FlatSpan flatten(const otel_sdk::SpanData& s) {
  FlatSpan f;
  f.name = std::string(s.GetName());
  f.trace_id = otel::from_otel(s.GetTraceId());
  f.span_id = otel::from_otel(s.GetSpanId());
  f.parent_span_id = otel::from_otel(s.GetParentSpanId());
  switch (s.GetSpanKind()) {
    case otel_api::SpanKind::kServer:
      f.kind = SpanKind::server;
      break;
    case otel_api::SpanKind::kClient:
      f.kind = SpanKind::client;
      break;
    case otel_api::SpanKind::kProducer:
      f.kind = SpanKind::producer;
      break;
    case otel_api::SpanKind::kConsumer:
      f.kind = SpanKind::consumer;
      break;
    default:
      f.kind = SpanKind::internal;
  }
  f.status = s.GetStatus() == otel_api::StatusCode::kError ? StatusCode::error
             : s.GetStatus() == otel_api::StatusCode::kOk  ? StatusCode::ok
                                                           : StatusCode::unset;
  f.status_description = std::string(s.GetDescription());
  f.start_unix_nano = static_cast<uint64_t>(s.GetStartTime().time_since_epoch().count());
  f.end_unix_nano = f.start_unix_nano + static_cast<uint64_t>(s.GetDuration().count());
  for (const auto& [key, value] : s.GetAttributes()) f.attributes[key] = from_owned(value);
  for (const auto& e : s.GetEvents()) {
    f.event_names.push_back(e.GetName());
    std::map<std::string, AttributeValue> attrs;
    for (const auto& [key, value] : e.GetAttributes()) attrs[key] = from_owned(value);
    f.event_attributes.push_back(std::move(attrs));
  }
  return f;
}

inline FlatSpan flatten(const SpanData& s) {
  FlatSpan f;
  f.name = s.name;
  f.trace_id = s.trace_id;
  f.span_id = s.span_id;
  f.parent_span_id = s.parent_span_id;
  f.kind = s.kind;
  f.status = s.status.code;
  f.status_description = s.status.description;
  f.start_unix_nano = s.start_unix_nano;
  f.end_unix_nano = s.end_unix_nano;
  for (const Attribute& a : s.attributes) f.attributes[a.key] = a.value;
  for (const SpanEvent& e : s.events) {
    f.event_names.push_back(e.name);
    std::map<std::string, AttributeValue> attrs;
    for (const Attribute& a : e.attributes) attrs[a.key] = a.value;
    f.event_attributes.push_back(std::move(attrs));
  }
  return f;
}

struct OtelPipeline {
  std::shared_ptr<otel_memory::InMemorySpanData> data;
  std::shared_ptr<otel_sdk::TracerProvider> provider;
  std::shared_ptr<Sdk> sdk;  // the bridged convtrace SDK, when asked for
  std::vector<FlatSpan> collected;

  // `batch`: the exporting processor is a BatchSpanProcessor, else a
  // SimpleSpanProcessor. `bridge`: also make (and install) the convtrace SDK.
  explicit OtelPipeline(bool bridge, bool batch = false, Config config = Config(),
                        otel::ProcessorOptions processor_options = {}) {
    std::unique_ptr<otel_sdk::SpanExporter> exporter =
        otel_memory::InMemorySpanExporterFactory::Create(data, 100000);
    std::unique_ptr<otel_sdk::SpanProcessor> exporting;
    if (batch) {
      otel_sdk::BatchSpanProcessorOptions options;
      options.schedule_delay_millis = std::chrono::milliseconds(3600 * 1000);  // flushes only
      exporting = otel_sdk::BatchSpanProcessorFactory::Create(std::move(exporter), options);
    } else {
      exporting = otel_sdk::SimpleSpanProcessorFactory::Create(std::move(exporter));
    }
    auto resource = ::opentelemetry::sdk::resource::Resource::Create({{"service.name", "bridged"}});
    provider = std::shared_ptr<otel_sdk::TracerProvider>(otel_sdk::TracerProviderFactory::Create(
        otel::make_span_processor(std::move(exporting), std::move(processor_options)), resource));
    if (bridge) {
      config.read_environment = false;
      if (!config.pricing) config.pricing = test_pricing();
      auto made = otel::make_sdk(provider, std::move(config));
      if (!made) throw std::runtime_error(made.error().message);
      sdk = std::move(*made);
      install(sdk);
    }
  }

  ~OtelPipeline() {
    if (sdk && installed() == sdk) install(nullptr);
    if (sdk) sdk->shutdown();
    provider->Shutdown();
  }

  ::opentelemetry::nostd::shared_ptr<otel_api::Tracer> tracer(const std::string& name = "app") {
    return provider->GetTracer(name, "1.0");
  }

  // Every span exported so far, in end order (kept across calls).
  const std::vector<FlatSpan>& spans() {
    provider->ForceFlush();
    for (auto& s : data->GetSpans()) collected.push_back(flatten(*s));
    return collected;
  }
};

// The one span named `name` in `spans`, or null when there is not exactly one.
inline const FlatSpan* only(const std::vector<FlatSpan>& spans, const std::string& name) {
  const FlatSpan* found = nullptr;
  for (const FlatSpan& s : spans) {
    if (s.name == name) {
      if (found) return nullptr;
      found = &s;
    }
  }
  return found;
}
const FlatSpan* only(std::vector<FlatSpan>&&, const std::string&) = delete;

}  // namespace convtrace::testing
