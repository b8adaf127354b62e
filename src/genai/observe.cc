// observe(): the span of an observed call.
#include <cxxabi.h>

#include <cstdlib>
#include <memory>
#include <string>

#include "convtrace/attributes.h"
#include "convtrace/genai.h"
#include "genai/operation.h"
#include "trace/context_internal.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

std::string demangle(const std::type_info* type) {
  if (!type) return "unknown";
  int status = 0;
  std::unique_ptr<char, void (*)(void*)> name(
      abi::__cxa_demangle(type->name(), nullptr, nullptr, &status), std::free);
  return status == 0 && name ? std::string(name.get()) : std::string(type->name());
}

}  // namespace

namespace detail {

Span start_observed(const ObserveOptions& options) {
  StartOptions start;
  start.kind = options.kind;
  // A model call leaves the process: CLIENT, as the GenAI conventions say.
  start.span_kind = (options.kind == Kind::llm || options.kind == Kind::embedding)
                        ? SpanKind::client
                        : SpanKind::internal;
  start.attributes = options.attributes;
  std::string_view operation = operation_for(options.kind);
  std::string name = options.name;
  bool conventional = !options.model.empty() && !operation.empty() &&
                      (options.kind == Kind::llm || options.kind == Kind::embedding);
  if (conventional) {
    name = std::string(operation) + " " + options.model;
  } else if (name.empty()) {
    name = operation.empty() ? std::string(to_string(options.kind)) : std::string(operation);
  }
  Span span = start_span(name, start);
  SpanRecord* rec = SpanAccess::record(span);
  if (!rec) return span;
  rec->operation = std::string(operation);
  rec->name_is_given = !options.name.empty() && !conventional;
  if (options.price) rec->price_override = std::make_shared<ModelPrice>(*options.price);
  if (!operation.empty()) span.set_attribute(attr::kOperationName, operation);
  if (!options.model.empty()) {
    rec->request_model = options.model;
    span.set_attribute(attr::kRequestModel, options.model);
  }
  if (!options.provider.empty()) span.set_attribute(attr::kProviderName, options.provider);
  if (options.kind == Kind::tool && !options.name.empty()) {
    span.set_attribute(attr::kToolName, options.name);
  }
  if (!options.input.empty()) span.record_input(options.input);
  return span;
}

void record_observed_output(Span& span, std::string_view output) { span.record_output(output); }

void fail_observed(Span& span, const std::type_info* type, std::string_view message) noexcept {
  try {
    std::string type_name = demangle(type);
    span.set_status(StatusCode::error, message);
    span.set_attribute(attr::kErrorType, type_name);
    span.record_exception(type_name, message);
  } catch (...) {
  }
  span.end();
}

void finish_observed(Span& span) noexcept { span.end(); }

}  // namespace detail
}  // namespace convtrace
