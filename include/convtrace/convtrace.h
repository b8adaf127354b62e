// convtrace: conversation-level observability and exact cost for LLM applications.
// Include this one header to get the whole public API.
#pragma once

#include "convtrace/attributes.h"
#include "convtrace/diagnostics.h"
#include "convtrace/expected.h"
#include "convtrace/exporter.h"
#include "convtrace/genai.h"
#include "convtrace/pricing.h"
#include "convtrace/processor.h"
#include "convtrace/propagation.h"
#include "convtrace/sampler.h"
#include "convtrace/sdk.h"
#include "convtrace/span_data.h"
#include "convtrace/store.h"
#include "convtrace/trace.h"
#include "convtrace/usage.h"
