// The genai layer's part in every span's life, registered on each SDK:
// stamping context attributes and claiming turns at start, closing the turn
// (conversation running total) at end.
#pragma once

namespace convtrace {

struct SpanRecord;
class Context;

void genai_on_start(SpanRecord& record, const Context& parent);
void genai_on_end(SpanRecord& record);

}  // namespace convtrace
