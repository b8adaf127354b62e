// Private to the pricing module: the first step of normalize_model.
#pragma once

#include <string>
#include <string_view>

namespace convtrace::pricing_internal {

// Lowercases, trims, and removes gateway/provider path prefixes ("openai/",
// "bedrock/", Vertex resource paths) but keeps the id itself intact, so that
// regional or dated catalog keys can still match exactly.
std::string strip_prefixes(std::string_view model);

}  // namespace convtrace::pricing_internal
