// The GenAI state a Context carries: conversation, turn, user, workflow.
//
// Plain data owned by the trace core so that contexts, samplers and
// propagation can read it; the genai layer (src/genai) creates and fills it.
// A published GenAiState is immutable; the only mutable parts are the
// atomic accumulators it points to.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/striped_counter.h"
#include "convtrace/propagation.h"
#include "convtrace/span_data.h"

namespace convtrace {

// One set of running totals; see TotalsCell.
struct TotalsFields {
  std::atomic<int64_t> cost_pico{0};
  std::atomic<int64_t> input_tokens{0};
  std::atomic<int64_t> output_tokens{0};
  std::atomic<int64_t> llm_calls{0};
  std::atomic<int64_t> tool_calls{0};
  std::atomic<int64_t> unpriced_calls{0};
};

// Exact running totals of a workflow or a turn. Additions walk up `parent`, so a
// nested workflow's calls also count in every enclosing workflow.
//
// Most calls of a workflow or turn run on the thread that opened it. That
// thread adds to `own` with plain loads and stores; other threads add to
// `shared` with atomic read-modify-writes, each a full barrier on x86 that
// waits for the span's earlier stores. A reading sums both (totals.h).
struct TotalsCell {
  size_t owner = this_thread_stripe();  // the only thread that writes `own`
  TotalsFields own;
  TotalsFields shared;
  std::shared_ptr<TotalsCell> parent;
};

// Per-conversation state kept by the registry across scopes and requests.
struct ConversationEntry {
  std::atomic<int64_t> last_turn{0};
  std::atomic<int64_t> total_cost_pico{0};
};

struct GenAiState {
  std::string conversation_id;  // empty: not in a conversation
  std::string user_id;
  std::vector<Attribute> attributes;                // custom, merged over outer scopes
  std::vector<std::string> propagate;               // keys of `attributes` that travel in baggage
  int64_t explicit_turn = 0;                        // from the app (ConversationOptions::turn)
  int64_t turn = 0;                                 // 0 until a top-level unit claims one
  std::shared_ptr<ConversationEntry> conversation;  // set with `turn`
  std::shared_ptr<TotalsCell> turn_totals;          // set with `turn`
  std::string workflow_id;
  std::string workflow_type;
  std::shared_ptr<TotalsCell> workflow_totals;  // innermost workflow
  // Baggage entries of other systems received from a caller (propagation.h);
  // injected again unchanged on outgoing requests.
  std::vector<BaggageEntry> baggage;
};

}  // namespace convtrace
