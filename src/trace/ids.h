// Random W3C trace and span ids.
#pragma once

#include "convtrace/span_data.h"

namespace convtrace {

// Random, never all-zero. Thread-safe (a per-thread generator seeded from the
// OS entropy source, re-seeded in a forked child).
TraceId random_trace_id();
SpanId random_span_id();

}  // namespace convtrace
