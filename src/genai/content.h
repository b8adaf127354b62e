// Cutting captured content to a size limit.
#pragma once

#include <string>
#include <string_view>

namespace convtrace {

// Returns `text` cut to at most `max_bytes` bytes. Never splits a UTF-8
// sequence. When `text` is a JSON object or array (as GenAI message lists
// are), the result is still valid JSON: the cut falls inside a string value or
// between elements, and open strings, arrays and objects are closed — so a
// backend that parses `gen_ai.input.messages` still can. Truncated JSON may end
// a few bytes under the limit to make room for the closing characters.
std::string truncate_content(std::string_view text, size_t max_bytes);

}  // namespace convtrace
