// Captured content: messages written in the GenAI conventions' JSON message
// schema, and cut to a size limit so that what is recorded stays valid JSON.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "convtrace/sdk.h"
#include "usage/messages.h"

namespace convtrace {

// Returns `text` cut to at most `max_bytes` bytes. Never splits a UTF-8
// sequence. When `text` is a JSON object or array (as GenAI message lists
// are), the result is still valid JSON: the cut falls inside a string value or
// between elements, and open strings, arrays and objects are closed — so a
// backend that parses `gen_ai.input.messages` still can. Truncated JSON may end
// a few bytes under the limit to make room for the closing characters.
std::string truncate_content(std::string_view text, size_t max_bytes);

// Ends the text of a part that was cut to the size limit.
inline constexpr std::string_view kTruncationMarker = "…[truncated]";

// A JSON document ready to record, and whether anything was cut from it.
struct Captured {
  std::string json;
  bool truncated = false;
};

// The value of gen_ai.input.messages (output = false) or gen_ai.output.messages
// (output = true: every message gets a finish_reason, `default_finish` when it
// has none), at most `capture.max_length` bytes. Every text passes through
// `capture.redact` (with `key`) first; tool arguments and results pass whole.
// When the limit is reached, the text part that does not fit is cut and ends
// with kTruncationMarker, and the parts and messages after it are left out;
// the result is always valid JSON in the schema. May throw what redact throws.
Captured messages_json(const std::vector<usage_internal::Message>& messages, bool output,
                       const ContentCapture& capture, std::string_view key,
                       std::string_view default_finish = "stop");
// The value of gen_ai.system_instructions: an array of parts, cut the same way.
Captured parts_json(const std::vector<usage_internal::Part>& parts, const ContentCapture& capture,
                    std::string_view key);
// A tool's arguments or result (gen_ai.tool.call.arguments/result): `text`
// as it is when it is JSON, else as a JSON string; cut keeping valid JSON.
Captured json_value(std::string_view text, const ContentCapture& capture, std::string_view key);

}  // namespace convtrace
