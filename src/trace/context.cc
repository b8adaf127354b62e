#include <utility>

#include <atomic>

#include "convtrace/trace.h"
#include "trace/context_backend.h"
#include "trace/context_internal.h"
#include "trace/genai_state.h"

namespace convtrace {
namespace {

// The current context of this thread. A plain object (not a stack): each
// ContextScope saves the previous value and puts it back, so scopes nest.
Context& current_slot() {
  thread_local Context current;
  return current;
}

std::atomic<ContextBackend*> backend_slot{nullptr};

}  // namespace

void set_context_backend(ContextBackend* backend) noexcept {
  backend_slot.store(backend, std::memory_order_release);
}

ContextBackend* context_backend() noexcept { return backend_slot.load(std::memory_order_acquire); }

void* mirror_attach(const SpanContext& span) noexcept {
  ContextBackend* backend = context_backend();
  return backend ? backend->attach(span) : nullptr;
}

void mirror_detach(void* token) noexcept {
  if (!token) return;
  if (ContextBackend* backend = context_backend()) backend->detach(token);
}

Context Context::current() {
  const Context& native = current_slot();
  if (ContextBackend* backend = context_backend()) {
    Context resolved;
    if (backend->resolve(native, &resolved)) return resolved;
  }
  return native;
}

const Context& current_context() { return current_slot(); }

Context exchange_current_context(Context ctx) {
  Context& slot = current_slot();
  Context previous = std::move(slot);
  slot = std::move(ctx);
  return previous;
}

std::string_view Context::conversation_id() const {
  return genai_ ? std::string_view(genai_->conversation_id) : std::string_view();
}

int64_t Context::turn() const { return genai_ ? genai_->turn : 0; }

std::string_view Context::workflow_id() const {
  return genai_ ? std::string_view(genai_->workflow_id) : std::string_view();
}

Context Context::with_span_context(SpanContext span) const& {
  Context copy = *this;
  copy.span_ = std::move(span);
  return copy;
}

// The rvalue forms reuse the temporary: a chain like
// Context().with_span_context(s).with_genai(g) then copies no state twice
// (each copy of the GenAI state is an atomic reference count).
Context Context::with_span_context(SpanContext span) && {
  span_ = std::move(span);
  return std::move(*this);
}

Context Context::with_genai(std::shared_ptr<const GenAiState> genai) const& {
  Context copy = *this;
  copy.genai_ = std::move(genai);
  return copy;
}

Context Context::with_genai(std::shared_ptr<const GenAiState> genai) && {
  genai_ = std::move(genai);
  return std::move(*this);
}

ContextScope::ContextScope(Context ctx) : active_(true) {
  mirror_ = mirror_attach(ctx.span_context());
  Context& slot = current_slot();
  previous_ = std::move(slot);
  slot = std::move(ctx);
}

ContextScope::ContextScope(ContextScope&& other) noexcept
    : previous_(std::move(other.previous_)), active_(other.active_), mirror_(other.mirror_) {
  other.active_ = false;
  other.mirror_ = nullptr;
}

ContextScope::~ContextScope() {
  if (!active_) return;
  mirror_detach(mirror_);
  current_slot() = std::move(previous_);
}

}  // namespace convtrace
