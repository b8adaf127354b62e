// Private to the library: the messages of a provider request or response
// body, in the shape of the GenAI conventions' message schema (role + parts),
// for content capture (gen_ai.input.messages, gen_ai.output.messages,
// gen_ai.system_instructions). Serializing them is the genai layer's job
// (genai/content.h), which applies the size limit and the redaction hook.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"

namespace convtrace::usage_internal {

// One part of a message. `type` is the convention's part type: "text",
// "reasoning" (content), "tool_call" (id, name, arguments), "tool_call_response"
// (id, response), "uri" (content = the URI) or "blob" (content = base64 data);
// anything else is written as {"type": type}.
struct Part {
  std::string type;
  std::string content;
  std::string id;
  std::string name;
  // JSON text of tool call arguments or of a tool response (an object, an
  // array, or a JSON string literal); empty when absent.
  std::string json;
  std::string mime_type;  // uri and blob parts
};

struct Message {
  std::string role;  // "system", "user", "assistant", "tool", or the provider's own
  std::vector<Part> parts;
  std::string finish_reason;  // output messages only
};

// What a request body says for content capture.
struct RequestContent {
  std::vector<Message> input;  // in the order sent
  std::vector<Part> system;    // instructions sent apart from the history
};

// Reads the messages of a request body of any provider usage.h supports
// (detected from its shape; `provider_hint` settles ambiguous shapes).
// parse_error for malformed JSON; not_found for a body without messages.
Expected<RequestContent> request_content(std::string_view body, std::string_view provider_hint);

// Reads the output messages (one per choice or candidate) of a complete
// response body. parse_error for malformed JSON; not_found without any.
Expected<std::vector<Message>> response_content(std::string_view body,
                                                std::string_view provider_hint);

// Reads a JSON array already in the conventions' message schema (as
// applications may pass to record_input); not_found when `json` is not one.
Expected<std::vector<Message>> schema_messages(std::string_view json);

// Whether `text` is one complete JSON value.
bool valid_json(std::string_view text);

}  // namespace convtrace::usage_internal
