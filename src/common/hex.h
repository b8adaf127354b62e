// Lowercase hex encoding for ids (W3C trace context, OTLP/JSON).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace convtrace {

std::string hex_encode(const uint8_t* data, size_t size);
// Appends the hex form of `data` to `out`.
void hex_append(const uint8_t* data, size_t size, std::string& out);
// Decodes exactly hex.size()/2 bytes into `out`; false on an odd length or a
// non-hex digit. Accepts lower and upper case.
bool hex_decode(std::string_view hex, uint8_t* out);

}  // namespace convtrace
