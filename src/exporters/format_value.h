// Human-readable text of an attribute value (console exporter, CLI tables).
#pragma once

#include <string>

#include "convtrace/span_data.h"

namespace convtrace {

// Strings are written as they are, arrays as [a, b], doubles with up to 12
// significant digits.
void append_value_text(const AttributeValue& value, std::string& out);

}  // namespace convtrace
