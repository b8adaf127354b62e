// The GenAI methods of Span that read provider bodies and capture content:
// record_request, record_response, record_input, record_output.
#include <string>

#include "common/diagnostics.h"
#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "convtrace/trace.h"
#include "genai/content.h"
#include "trace/sdk_state.h"
#include "trace/span_record.h"
#include "usage/messages.h"

namespace convtrace {
namespace {

using usage_internal::Message;
using usage_internal::Part;

// The record when content capture is on and the span is recording.
SpanRecord* capturing(SpanRecord* rec) {
  if (!rec || rec->ended || !rec->data || !rec->sdk->content.enabled) return nullptr;
  return rec;
}

void set_captured(SpanRecord& rec, std::string_view key, const Captured& captured) {
  set_record_attribute(rec, key, captured.json);
  if (captured.truncated) set_record_attribute(rec, attr::kContentTruncated, true);
}

// The openinference profile's input.value / output.value: the captured text
// as given (redacted and cut, never split inside a character).
void set_openinference_value(SpanRecord& rec, std::string_view key, std::string_view text) {
  if (rec.sdk->profile != AttributeProfile::openinference) return;
  const ContentCapture& capture = rec.sdk->content;
  std::string value = capture.redact ? capture.redact(key, text) : std::string(text);
  // Repaired before it is cut: a repair lengthens the text.
  utf8::repair(value, "captured content");
  set_record_attribute(rec, key, truncate_content(value, capture.max_length));
}

// Runs a capture; a throwing redaction callback must not leak the unredacted text.
template <typename F>
void guarded(F&& capture) {
  try {
    capture();
  } catch (...) {
    report_warning("redaction_failed", "content redaction callback threw; content not recorded");
  }
}

std::string first_finish_reason(const SpanRecord& rec) {
  const AttributeValue* v = find_record_attribute(rec, attr::kResponseFinishReasons);
  const auto* reasons = v ? std::get_if<std::vector<std::string>>(v) : nullptr;
  return reasons && !reasons->empty() ? reasons->front() : std::string("stop");
}

// Text given by the application: messages already in the schema, else one
// message of one text part.
std::vector<Message> messages_of(std::string_view text, const char* role) {
  if (auto parsed = usage_internal::schema_messages(text)) return std::move(*parsed);
  Part part;
  part.type = "text";
  part.content = std::string(text);
  return {Message{role, {std::move(part)}, {}}};
}

}  // namespace

bool Span::record_request(std::string_view body, std::string_view provider, std::string_view url) {
  if (!rec_ || rec_->ended) return false;
  try {
    Expected<RequestParams> params = parse_request(body, provider, url);
    if (!params) {
      report_warning("request_parse", "request not recorded: " + params.error().message);
      return false;
    }
    if (!params->model.empty()) set_model(params->model);
    if (!params->server_address.empty()) {
      set_server(params->server_address, static_cast<int>(params->server_port.value_or(0)));
    }
    if (!rec_->data) return true;  // unsampled
    SpanRecord& rec = *rec_;
    if (!params->provider.empty() && !find_record_attribute(rec, attr::kProviderName)) {
      set_record_attribute(rec, attr::kProviderName, params->provider);
    }
    auto set_double = [&](std::string_view key, const std::optional<double>& v) {
      if (v) set_record_attribute(rec, key, *v);
    };
    auto set_int = [&](std::string_view key, const std::optional<int64_t>& v) {
      if (v) set_record_attribute(rec, key, *v);
    };
    set_double(attr::kRequestTemperature, params->temperature);
    set_double(attr::kRequestTopP, params->top_p);
    set_double(attr::kRequestTopK, params->top_k);
    set_double(attr::kRequestFrequencyPenalty, params->frequency_penalty);
    set_double(attr::kRequestPresencePenalty, params->presence_penalty);
    set_int(attr::kRequestMaxTokens, params->max_tokens);
    set_int(attr::kRequestSeed, params->seed);
    set_int(attr::kRequestChoiceCount, params->choice_count);
    if (params->stream) set_record_attribute(rec, attr::kRequestStream, *params->stream);
    if (!params->stop_sequences.empty()) {
      set_record_attribute(rec, attr::kRequestStopSequences, params->stop_sequences);
    }
    if (capturing(rec_) && !body.empty()) {
      auto content = usage_internal::request_content(body, params->provider);
      if (content) {
        guarded([&] {
          const ContentCapture& capture = rec.sdk->content;
          if (!content->input.empty()) {
            set_captured(rec, attr::kInputMessages,
                         messages_json(content->input, false, capture, attr::kInputMessages));
          }
          if (!content->system.empty()) {
            set_captured(rec, attr::kSystemInstructions,
                         parts_json(content->system, capture, attr::kSystemInstructions));
          }
          set_openinference_value(rec, attr::kOiInputValue, body);
        });
      }
    }
    return true;
  } catch (...) {
    return false;
  }
}

bool Span::record_response(std::string_view body, std::string_view provider) {
  if (!rec_ || rec_->ended) return false;
  Expected<Usage> usage = extract_usage(body, provider);
  bool recorded = false;
  if (!usage) {
    report_warning("usage_extraction", "no usage recorded: " + usage.error().message);
  } else {
    recorded = record_usage(*usage);
  }
  if (SpanRecord* rec = capturing(rec_)) {
    try {
      auto messages = usage_internal::response_content(body, provider);
      if (messages) {
        guarded([&] {
          set_captured(*rec, attr::kOutputMessages,
                       messages_json(*messages, true, rec->sdk->content, attr::kOutputMessages));
          set_openinference_value(*rec, attr::kOiOutputValue, body);
          rec->output_from_body = true;
        });
      }
    } catch (...) {
    }
  }
  return recorded;
}

namespace {

// record_input and record_output: the arguments or result on tool spans, a
// message of the application's text elsewhere.
void record_text(SpanRecord* rec, std::string_view content, bool input) {
  if (!rec) return;
  guarded([&] {
    const ContentCapture& capture = rec->sdk->content;
    if (rec->kind == Kind::tool) {
      const std::string_view key = input ? attr::kToolCallArguments : attr::kToolCallResult;
      set_captured(*rec, key, json_value(content, capture, key));
    } else {
      const std::string_view key = input ? attr::kInputMessages : attr::kOutputMessages;
      set_captured(*rec, key,
                   messages_json(messages_of(content, input ? "user" : "assistant"), !input,
                                 capture, key, input ? "stop" : first_finish_reason(*rec)));
    }
    set_openinference_value(*rec, input ? attr::kOiInputValue : attr::kOiOutputValue, content);
  });
}

}  // namespace

void Span::record_input(std::string_view content) { record_text(capturing(rec_), content, true); }

void Span::record_output(std::string_view content) {
  SpanRecord* rec = capturing(rec_);
  if (rec) rec->output_from_body = false;
  record_text(rec, content, false);
}

}  // namespace convtrace
