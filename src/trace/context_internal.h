// Internal access to the thread-local current context, for scopes that
// restore it themselves (conversation and workflow scopes).
#pragma once

#include "convtrace/sdk.h"
#include "convtrace/trace.h"

namespace convtrace {

// Wraps a record into its handle, and reaches a handle's record.
struct SpanAccess {
  static Span make(SpanRecord* rec) { return Span(rec); }
  static SpanRecord* record(const Span& span) { return span.rec_; }
};

// Reaches an Sdk handle's state.
struct SdkAccess {
  static SdkState* state(const Sdk& sdk) { return sdk.state_; }
};

// This thread's current context, without the copy Context::current() makes.
// Valid until the thread ends; its value changes when a scope changes it.
const Context& current_context();

// Makes `ctx` current on this thread and returns what was current before.
Context exchange_current_context(Context ctx);

// Starts a span on a given SDK state (null: a no-op span). The one place
// spans are created; Tracer::start_span and the free start_span call it.
Span start_span_on(SdkState* sdk, const std::shared_ptr<const InstrumentationScope>& scope,
                   std::string_view name, const StartOptions& options);

// The installed SDK's state for this thread, without reference counting
// (cached per thread, refreshed when install() changes it). Null when none.
SdkState* installed_state();

}  // namespace convtrace
