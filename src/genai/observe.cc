// observe(): the span of an observed call.
#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
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
  bool conventional = !options.model.empty() && !operation.empty() &&
                      (options.kind == Kind::llm || options.kind == Kind::embedding);
  // The conventional name "{operation} {model}", built on the stack when it
  // fits: start_span copies it into the span.
  char short_name[96];
  std::string long_name;
  std::string_view name = options.name;
  if (conventional) {
    const size_t size = operation.size() + 1 + options.model.size();
    if (size <= sizeof short_name) {
      std::memcpy(short_name, operation.data(), operation.size());
      short_name[operation.size()] = ' ';
      std::memcpy(short_name + operation.size() + 1, options.model.data(), options.model.size());
      name = std::string_view(short_name, size);
    } else {
      long_name.append(operation.data(), operation.size()).append(1, ' ').append(options.model);
      name = long_name;
    }
  } else if (name.empty()) {
    name = operation.empty() ? to_string(options.kind) : operation;
  }
  Span span = start_span(name, start);
  SpanRecord* rec = SpanAccess::record(span);
  if (!rec) return span;
  rec->operation = operation;
  rec->name_is_given = !options.name.empty() && !conventional;
  if (options.price) rec->price_override = std::make_shared<ModelPrice>(*options.price);
  if (!operation.empty()) span.set_attribute(attr::kOperationName, operation);
  if (!options.model.empty()) {
    rec->request_model = options.model;
    span.set_attribute(attr::kRequestModel, options.model);
  }
  if (!options.provider.empty()) {
    rec->provider = options.provider;
    span.set_attribute(attr::kProviderName, options.provider);
  }
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
    if (SpanRecord* rec = SpanAccess::record(span)) rec->error_type = type_name;
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
