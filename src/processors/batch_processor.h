// The SDK's own way to build a batch processor (see processor.h for the
// public factory): the same processor, returning exported records to `pool`
// for reuse instead of freeing them.
#pragma once

#include <memory>

#include "convtrace/processor.h"
#include "trace/span_pool.h"

namespace convtrace {

// `pool` may be null (then records are freed, as with make_batch_processor).
Expected<std::unique_ptr<SpanProcessor>> make_pooled_batch_processor(
    std::unique_ptr<SpanExporter> exporter, const BatchOptions& options,
    std::shared_ptr<SpanDataPool> pool);

}  // namespace convtrace
