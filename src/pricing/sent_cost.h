// The rule for a cost a span arrives with (OpenLIT's gen_ai.usage.cost, a
// Langfuse cost, …), shared by `collect` and the opentelemetry-cpp processor
// so that one span gets one cost on either path: the sent cost is kept, and
// the catalog only checks it.
#pragma once

#include <cstdint>
#include <string_view>

namespace convtrace {

// Counts a `cost_disagreement` warning when the catalog prices the call at
// something else than the cost sent with it. `span` names the span in the
// message ("a received span"). Returns whether they differ.
bool check_sent_cost(std::string_view span, std::string_view model, int64_t sent_pico,
                     int64_t catalog_pico);

}  // namespace convtrace
