// convtrace's span processor for opentelemetry-cpp's SDK.
//
// Each opentelemetry-cpp span that starts inside convtrace scopes gets a
// convtrace span record of its own, a shadow that never leaves the process:
// the genai layer runs on it exactly as on a native span (claims the turn,
// stamps the context attributes, prices usage, adds to the totals, closes the
// turn), and what it writes there is copied onto the opentelemetry-cpp span.
// Spans outside any scope, without usage, only pass through a thin wrapper
// that watches for the GenAI attributes.
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <opentelemetry/sdk/trace/span_data.h>

#include "common/diagnostics.h"
#include "convtrace/attributes.h"
#include "convtrace/opentelemetry.h"
#include "dialects/dialects.h"
#include "genai/hooks.h"
#include "genai/operation.h"
#include "genai/totals.h"
#include "otelcpp/bridge_internal.h"
#include "otelcpp/convert.h"
#include "trace/context_internal.h"
#include "trace/genai_state.h"
#include "trace/sdk_state.h"
#include "trace/span_record.h"

namespace convtrace::otel {
namespace {
namespace nostd = ::opentelemetry::nostd;

// The SDK used when none was given and none is installed: the built-in
// catalog (and CONVTRACE_PRICING_FILE), its own turn registry, no exporter.
// Made once, never destroyed: spans may end during static destruction.
SdkState* fallback_state() {
  // Held by a static pointer (not freed, and still reachable for leak checkers).
  static std::shared_ptr<Sdk>* sdk = [] {
    Config config;
    config.exporter = ExporterKind::none;
    config.synchronous_export = true;  // no export thread for an exporter that discards
    Expected<std::shared_ptr<Sdk>> made = Sdk::create(std::move(config));
    return new std::shared_ptr<Sdk>(made ? std::move(*made) : nullptr);
  }();
  return *sdk ? SdkAccess::state(**sdk) : nullptr;
}

// Whether the processor must keep a copy of an attribute to read it at the
// end: the keys of every GenAI dialect (tokens, model, provider, cost,
// operation), so that spans of any instrumentation are priced alike.
bool watched_key(nostd::string_view key) {
  return dialects::is_known_key(std::string_view(key.data(), key.size()));
}

// The recordable convtrace's processor hands out: the exporting processor's
// own, wrapped. Every call goes straight to it.
class GenAiRecordable final : public otel_sdk::Recordable {
 public:
  explicit GenAiRecordable(std::unique_ptr<otel_sdk::Recordable> inner)
      : inner_(std::move(inner)) {}
  ~GenAiRecordable() override { free_span_record(shadow_); }

  void SetIdentity(const otel_api::SpanContext& context,
                   otel_api::SpanId parent_span_id) noexcept override {
    span_id_ = from_otel(context.span_id());
    inner_->SetIdentity(context, parent_span_id);
  }
  void SetAttribute(nostd::string_view key,
                    const otel_common::AttributeValue& value) noexcept override {
    inner_->SetAttribute(key, value);
    if (watched_key(key)) watch(key, value);
  }
  void AddEvent(nostd::string_view name, otel_common::SystemTimestamp timestamp,
                const otel_common::KeyValueIterable& attributes) noexcept override {
    inner_->AddEvent(name, timestamp, attributes);
  }
  void AddLink(const otel_api::SpanContext& context,
               const otel_common::KeyValueIterable& attributes) noexcept override {
    inner_->AddLink(context, attributes);
  }
  void SetStatus(otel_api::StatusCode code, nostd::string_view description) noexcept override {
    inner_->SetStatus(code, description);
  }
  void SetName(nostd::string_view name) noexcept override { inner_->SetName(name); }
  void SetTraceFlags(otel_api::TraceFlags flags) noexcept override { inner_->SetTraceFlags(flags); }
  void SetSpanKind(otel_api::SpanKind kind) noexcept override { inner_->SetSpanKind(kind); }
  void SetResource(const ::opentelemetry::sdk::resource::Resource& resource) noexcept override {
    inner_->SetResource(resource);
  }
  void SetStartTime(otel_common::SystemTimestamp start) noexcept override {
    inner_->SetStartTime(start);
  }
  void SetDuration(std::chrono::nanoseconds duration) noexcept override {
    inner_->SetDuration(duration);
  }
  void SetSpanLimits(const otel_sdk::SpanLimits& limits) noexcept override {
    inner_->SetSpanLimits(limits);
  }
  explicit operator otel_sdk::SpanData*() const override {
    return static_cast<otel_sdk::SpanData*>(*inner_);
  }
  void SetInstrumentationScope(
      const ::opentelemetry::sdk::instrumentationscope::InstrumentationScope& scope) noexcept
      override {
    inner_->SetInstrumentationScope(scope);
  }

  // Called by the processor, on the span's start and end.
  void on_start(SdkState* sdk, const otel_api::SpanContext& parent) {
    const Context& context = current_context();
    std::shared_ptr<const GenAiState> genai = context.genai();
    if (!genai || !sdk) return;
    if (parent.IsValid()) {
      if (auto adopted = adopt_turn(genai, from_otel(parent.span_id()))) genai = std::move(adopted);
    }
    SpanRecord& shadow = make_shadow(sdk, std::move(genai));
    shadow.kind = kind();
    counted_kind_ = shadow.kind;
    genai_on_start(shadow, context);
    copy_new_attributes();
    if (shadow.turn_root) remember_turn_root(span_id_, shadow.genai);
  }

  void on_end(SdkState* sdk) {
    if (!watched_.empty()) price(sdk);
    if (!shadow_) return;
    SpanRecord& shadow = *shadow_;
    // A span that named its operation only after it started counts now.
    if (counted_kind_ == Kind::none && shadow.genai) {
      Kind k = kind();
      if (k == Kind::llm || k == Kind::embedding) {
        add_to_totals(*shadow.genai, TotalsDelta{0, 0, 0, 1, 0, 0});
      } else if (k == Kind::tool) {
        add_to_totals(*shadow.genai, TotalsDelta{0, 0, 0, 0, 1, 0});
      }
    }
    if (shadow.turn_root) {
      genai_on_end(shadow);
      forget_turn_root(span_id_);
    }
    copy_new_attributes();
  }

  otel_sdk::Recordable& inner() { return *inner_; }
  std::unique_ptr<otel_sdk::Recordable> release_inner() { return std::move(inner_); }

 private:
  void watch(nostd::string_view key, const otel_common::AttributeValue& value) {
    try {
      AttributeValue converted;
      if (!from_otel(value, &converted)) return;
      std::string_view k(key.data(), key.size());
      for (Attribute& a : watched_) {
        if (a.key == k) {
          a.value = std::move(converted);
          return;
        }
      }
      watched_.push_back(Attribute{std::string(k), std::move(converted)});
    } catch (...) {
    }
  }

  Kind kind() const {
    if (const std::string* op = find_string(watched_, attr::kOperationName)) {
      return kind_for_operation(*op);
    }
    return watched_.empty() ? Kind::none : dialects::read_span(watched_).kind;
  }

  SpanRecord& make_shadow(SdkState* sdk, std::shared_ptr<const GenAiState> genai) {
    shadow_ = new_span_record();
    shadow_->sdk = sdk;
    shadow_->genai = std::move(genai);
    shadow_->context.span_id = span_id_;
    shadow_->data = std::make_unique<SpanData>();
    return *shadow_;
  }

  void price(SdkState* sdk) {
    dialects::SpanReading reading = dialects::read_span(watched_, dialects::Counts::numbers_only);
    bool unread_count = false;
    for (const dialects::Problem& p : reading.problems) {
      // As collect counts them; a count left out would price the call too low.
      report_warning(p.unread_count ? "invalid_usage" : "span_attribute",
                     "opentelemetry-cpp span" +
                         std::string(p.unread_count ? " left unpriced: " : ": ") + p.key + ": " +
                         p.message);
      unread_count = unread_count || p.unread_count;
    }
    if (unread_count) return;
    // A cost the span's own instrumentation sent is kept, as collect keeps
    // it; one a convtrace SDK wrote is recomputed here just the same.
    std::optional<int64_t> sent;
    if (!reading.priced_by_convtrace) sent = reading.sent_cost_pico;
    // A span with neither token counts nor a cost of its own has nothing to
    // price; one with a cost alone counts it, as collect does.
    if (!reading.has_tokens && !sent) return;
    Usage& usage = reading.usage;
    if (!shadow_) {
      if (!sdk) return;
      make_shadow(sdk, nullptr);
    }
    if (const std::string* model = find_string(watched_, attr::kRequestModel)) {
      shadow_->request_model = *model;
    }
    record_usage_on(*shadow_, usage, false, sent);
  }

  // Copies what the genai layer wrote on the shadow since the last copy.
  void copy_new_attributes() {
    if (!shadow_ || !shadow_->data) return;
    const std::vector<Attribute>& attrs = shadow_->data->attributes;
    OtelScratch scratch;
    for (size_t i = copied_; i < shadow_->attribute_count; ++i) {
      inner_->SetAttribute(nostd::string_view(attrs[i].key.data(), attrs[i].key.size()),
                           to_otel(attrs[i].value, scratch));
    }
    copied_ = shadow_->attribute_count;
  }

  std::unique_ptr<otel_sdk::Recordable> inner_;
  SpanId span_id_;
  std::vector<Attribute> watched_;  // the gen_ai.* attributes set so far
  SpanRecord* shadow_ = nullptr;    // only inside convtrace scopes, or with usage
  size_t copied_ = 0;
  Kind counted_kind_ = Kind::none;
};

class GenAiProcessor final : public otel_sdk::SpanProcessor {
 public:
  GenAiProcessor(std::unique_ptr<otel_sdk::SpanProcessor> next, ProcessorOptions options)
      : next_(std::move(next)), options_(std::move(options)) {}

  std::unique_ptr<otel_sdk::Recordable> MakeRecordable() noexcept override {
    std::unique_ptr<otel_sdk::Recordable> inner = next_->MakeRecordable();
    if (forwarding() || !inner) return inner;
    try {
      return std::make_unique<GenAiRecordable>(std::move(inner));
    } catch (...) {
      return nullptr;
    }
  }

  void OnStart(otel_sdk::Recordable& span,
               const otel_api::SpanContext& parent_context) noexcept override {
    if (forwarding()) return next_->OnStart(span, parent_context);
    auto& wrapped = static_cast<GenAiRecordable&>(span);
    try {
      wrapped.on_start(sdk_state(), parent_context);
    } catch (...) {
    }
    // The exporting processor sees its own recordable, as it made it.
    next_->OnStart(wrapped.inner(), parent_context);
  }

  void OnEnd(std::unique_ptr<otel_sdk::Recordable>&& span) noexcept override {
    if (forwarding() || !span) return next_->OnEnd(std::move(span));
    std::unique_ptr<GenAiRecordable> wrapped(static_cast<GenAiRecordable*>(span.release()));
    try {
      wrapped->on_end(sdk_state());
    } catch (...) {
    }
    next_->OnEnd(wrapped->release_inner());
  }

  bool ForceFlush(std::chrono::microseconds timeout) noexcept override {
    return next_->ForceFlush(timeout);
  }
  bool Shutdown(std::chrono::microseconds timeout) noexcept override {
    return next_->Shutdown(timeout);
  }

 private:
  SdkState* sdk_state() const {
    if (options_.sdk) return SdkAccess::state(*options_.sdk);
    if (SdkState* installed = installed_state()) return installed;
    return fallback_state();
  }

  std::unique_ptr<otel_sdk::SpanProcessor> next_;
  ProcessorOptions options_;
};

}  // namespace

std::unique_ptr<otel_sdk::SpanProcessor> make_span_processor(
    std::unique_ptr<otel_sdk::SpanProcessor> exporting, ProcessorOptions options) {
  if (!exporting) return nullptr;
  return std::make_unique<GenAiProcessor>(std::move(exporting), std::move(options));
}

}  // namespace convtrace::otel
