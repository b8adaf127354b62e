// Adding a call's contribution to the turn and workflow totals in force.
#pragma once

#include <cstdint>

#include "convtrace/genai.h"
#include "trace/genai_state.h"

namespace convtrace {

struct TotalsDelta {
  int64_t cost_pico;
  int64_t input_tokens;
  int64_t output_tokens;
  int64_t llm_calls;
  int64_t tool_calls;
  int64_t unpriced_calls;
};

// Adds `delta` to the turn's totals and to the innermost workflow and every
// workflow enclosing it. Lock-free: calls on any thread may add at once.
void add_to_totals(const GenAiState& state, const TotalsDelta& delta);

// A consistent-enough snapshot of one cell (each field is exact on its own).
Totals snapshot(const TotalsCell& cell);

}  // namespace convtrace
