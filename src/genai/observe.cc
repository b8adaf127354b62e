// observe(): the span of an observed call.
#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include "common/utf8.h"
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

// What a span of `kind` is named after: "{operation} {target}".
std::string_view name_target(const ObserveOptions& o) {
  switch (o.kind) {
    case Kind::llm:
    case Kind::embedding:
      return o.model;
    case Kind::agent:
      return o.agent.name.empty() ? std::string_view(o.name) : std::string_view(o.agent.name);
    case Kind::retriever:
      return o.data_source_id.empty() ? std::string_view(o.name)
                                      : std::string_view(o.data_source_id);
    default:
      return o.name;
  }
}

Span start_observed(const ObserveOptions& options) {
  StartOptions start;
  start.kind = options.kind;
  // A model call leaves the process: CLIENT, as the GenAI conventions say.
  const bool model_call = options.kind == Kind::llm || options.kind == Kind::embedding;
  start.span_kind = model_call ? SpanKind::client : SpanKind::internal;
  start.attributes = options.attributes;
  std::string_view operation = operation_for(options.kind);
  std::string_view target = name_target(options);
  // A model call without a model keeps its given name (set_model may rename
  // it later); spans of other kinds with an operation are "{operation} {target}".
  bool conventional =
      !operation.empty() && !target.empty() && (!model_call || !options.model.empty());
  // The conventional name, built on the stack when it fits: start_span copies
  // it into the span.
  char short_name[96];
  std::string long_name;
  std::string_view name = options.name;
  if (conventional) {
    const size_t size = operation.size() + 1 + target.size();
    if (size <= sizeof short_name) {
      std::memcpy(short_name, operation.data(), operation.size());
      short_name[operation.size()] = ' ';
      std::memcpy(short_name + operation.size() + 1, target.data(), target.size());
      name = std::string_view(short_name, size);
    } else {
      long_name.append(operation.data(), operation.size()).append(1, ' ').append(target);
      name = long_name;
    }
  } else if (name.empty()) {
    name = operation.empty() ? to_string(options.kind) : operation;
  }
  Span span = start_span(name, start);
  SpanRecord* rec = SpanAccess::record(span);
  if (!rec) return span;
  rec->operation = operation;
  // Only a model call's name follows its model (set_model).
  rec->name_is_given = !model_call || (!options.name.empty() && !conventional);
  if (options.price) rec->price_override = std::make_shared<ModelPrice>(*options.price);
  if (!operation.empty()) span.set_attribute(attr::kOperationName, operation);
  if (!options.model.empty()) {
    utf8::assign(rec->request_model, options.model, "model name");
    span.set_attribute(attr::kRequestModel, rec->request_model);
  }
  if (!options.provider.empty()) {
    utf8::assign(rec->provider, options.provider, "provider name");
    span.set_attribute(attr::kProviderName, rec->provider);
  }
  switch (options.kind) {
    case Kind::tool:
      if (!options.name.empty()) span.set_attribute(attr::kToolName, options.name);
      if (!options.tool_call_id.empty())
        span.set_attribute(attr::kToolCallId, options.tool_call_id);
      if (!options.tool_type.empty()) span.set_attribute(attr::kToolType, options.tool_type);
      break;
    case Kind::agent:
      if (!target.empty()) span.set_attribute(attr::kAgentName, target);
      if (!options.agent.id.empty()) span.set_attribute(attr::kAgentId, options.agent.id);
      if (!options.agent.version.empty()) {
        span.set_attribute(attr::kAgentVersion, options.agent.version);
      }
      if (!options.agent.description.empty()) {
        span.set_attribute(attr::kAgentDescription, options.agent.description);
      }
      break;
    case Kind::retriever:
      if (!options.data_source_id.empty()) {
        span.set_attribute(attr::kDataSourceId, options.data_source_id);
      }
      break;
    case Kind::workflow:
      if (!options.name.empty()) span.set_attribute(attr::kWorkflowName, options.name);
      break;
    default:
      break;
  }
  if (!options.input.empty()) span.record_input(options.input);
  return span;
}

void record_observed_output(Span& span, std::string_view output) {
  // The callable's result is the output only when no response body gave it.
  SpanRecord* rec = SpanAccess::record(span);
  if (rec && rec->output_from_body) return;
  span.record_output(output);
}

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
