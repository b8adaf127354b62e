// Percent-encoding as W3C Baggage and the OTEL_* list variables use it.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace convtrace {

// Decodes %XX sequences. A '%' not followed by two hex digits is an error
// (returns false, `out` unspecified). Decoded bytes that are not valid UTF-8
// are replaced with U+FFFD (common/utf8.h), as the W3C Baggage specification
// asks; *replaced, when given, receives the number of replacements.
bool percent_decode(std::string_view in, std::string& out, size_t* replaced = nullptr);

// Encodes every byte outside the W3C baggage-octet range (controls, space,
// '"', ',', ';', '\\', bytes >= 0x7F) and '%' itself as %XX (uppercase).
std::string percent_encode_baggage(std::string_view in);

// Trims HTTP optional whitespace (space and tab) on both ends.
std::string_view trim_ows(std::string_view s);

}  // namespace convtrace
