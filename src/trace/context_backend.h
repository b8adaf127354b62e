// A second tracer's notion of "the current span", which the trace core keeps
// in step with its own: the opentelemetry-cpp bridge (src/opentelemetry).
//
// With a backend set, the span a new span is parented to is the one the other
// tracer has active on this thread when that differs from ours (the other
// tracer's active span was made active more recently: everything we make
// active is made active there too). Every context the core attaches — a
// ContextScope, an activated span, a workflow scope — is also attached in the
// other tracer, and detached with it, so the other tracer's spans started
// inside ours are their children. One process-wide backend at most; without
// one, all of this is a single relaxed load of a null pointer.
#pragma once

#include "convtrace/trace.h"

namespace convtrace {

class ContextBackend {
 public:
  virtual ~ContextBackend() = default;
  // When the other tracer's active span on this thread is valid and is not
  // `native`'s span, writes to `resolved` the context to use instead: `native`
  // with that span (and, when the other tracer's span claimed a turn of
  // `native`'s conversation, the GenAI state of that turn). Returns false,
  // leaving `resolved` alone, when `native` is current as it is.
  virtual bool resolve(const Context& native, Context* resolved) noexcept = 0;
  // Makes `span` the active span in the other tracer (an invalid `span`: no
  // active span) until detach(token) on the same thread. May return null.
  virtual void* attach(const SpanContext& span) noexcept = 0;
  virtual void detach(void* token) noexcept = 0;
};

// Sets the process-wide backend. Set once, before spans use it; it is never
// destroyed (contexts attached through it may outlive any owner).
void set_context_backend(ContextBackend* backend) noexcept;
// The backend, or null.
ContextBackend* context_backend() noexcept;

// Attaches `span` in the backend, when there is one; the token for mirror_detach.
void* mirror_attach(const SpanContext& span) noexcept;
void mirror_detach(void* token) noexcept;

}  // namespace convtrace
