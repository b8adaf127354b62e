// The SDK's own way to build a simple processor (see processor.h for the
// public factory): the same processor, handing each exported record back to
// `pool` on the thread that ended it, where the next span rewrites it while
// its lines are still in that core's cache.
#pragma once

#include <memory>

#include "convtrace/processor.h"
#include "trace/span_pool.h"

namespace convtrace {

// `pool` may be null (then records are freed, as with make_simple_processor).
std::unique_ptr<SpanProcessor> make_pooled_simple_processor(std::unique_ptr<SpanExporter> exporter,
                                                            std::shared_ptr<SpanDataPool> pool);

}  // namespace convtrace
