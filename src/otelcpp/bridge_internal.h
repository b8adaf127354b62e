// What the opentelemetry-cpp processor and the bridge SDK share.
#pragma once

#include <memory>

#include "convtrace/span_data.h"
#include "convtrace/trace.h"

namespace convtrace {
struct GenAiState;
}

namespace convtrace::otel {

// opentelemetry-cpp spans that claimed a conversation turn, while they run:
// their children — opentelemetry-cpp spans and convtrace spans alike — share
// the turn, as a convtrace span's children do. Process-wide and lock-striped;
// only spans that claim a turn are ever in it.
void remember_turn_root(const SpanId& span, std::shared_ptr<const GenAiState> state);
void forget_turn_root(const SpanId& span);
// The GenAI state to use for a span whose parent is `parent`, when `waiting`
// is in a conversation that has not claimed a turn yet and `parent` is an
// opentelemetry-cpp span that claimed one of that conversation: `waiting` with
// that turn. Null otherwise (use `waiting` as it is).
std::shared_ptr<const GenAiState> adopt_turn(const std::shared_ptr<const GenAiState>& waiting,
                                             const SpanId& parent);

// True on this thread while the bridge SDK hands one of convtrace's own spans
// to the provider's processors: convtrace's processor then passes it through
// untouched (it is stamped and priced already).
bool forwarding() noexcept;
class ForwardingScope {
 public:
  ForwardingScope() noexcept;
  ~ForwardingScope();
  ForwardingScope(const ForwardingScope&) = delete;
  ForwardingScope& operator=(const ForwardingScope&) = delete;

 private:
  bool previous_;
};

}  // namespace convtrace::otel
