// Private to the pricing module: data/pricing.json, compiled in.
#pragma once

#include <string_view>

namespace convtrace::pricing_internal {

// The text of data/pricing.json as it was when the library was configured.
std::string_view builtin_pricing_json();

}  // namespace convtrace::pricing_internal
