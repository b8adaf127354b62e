// The genai layer's part in every span's life, registered on each SDK:
// stamping context attributes and claiming turns at start, closing the turn
// (conversation running total) at end. The opentelemetry-cpp bridge runs the
// same functions on a record that shadows another SDK's span.
#pragma once

#include <cstdint>
#include <optional>

namespace convtrace {

struct SpanRecord;
struct Usage;
class Context;

void genai_on_start(SpanRecord& record, const Context& parent);
void genai_on_end(SpanRecord& record);

// Records usage as Span::record_usage does: cost from the SDK's catalog (or
// the record's price override), the totals of the turn and workflows in force,
// and the attributes. With `usage_attributes` false the token, model and
// response attributes are not written, only what the usage adds (cost,
// pricing markers): for a span whose own instrumentation set them. A
// `sent_cost_pico` is a cost that instrumentation already put on the span: it
// is kept, as collect keeps it, and the catalog's price only checks it (a
// counted cost_disagreement when they differ). False, with a counted warning,
// for invalid usage.
bool record_usage_on(SpanRecord& record, const Usage& usage, bool usage_attributes,
                     std::optional<int64_t> sent_cost_pico = std::nullopt);

}  // namespace convtrace
