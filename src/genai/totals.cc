#include "genai/totals.h"

namespace convtrace {
namespace {

void add_cell(TotalsCell& cell, const TotalsDelta& d) {
  constexpr auto relaxed = std::memory_order_relaxed;
  if (d.cost_pico) cell.cost_pico.fetch_add(d.cost_pico, relaxed);
  if (d.input_tokens) cell.input_tokens.fetch_add(d.input_tokens, relaxed);
  if (d.output_tokens) cell.output_tokens.fetch_add(d.output_tokens, relaxed);
  if (d.llm_calls) cell.llm_calls.fetch_add(d.llm_calls, relaxed);
  if (d.tool_calls) cell.tool_calls.fetch_add(d.tool_calls, relaxed);
  if (d.unpriced_calls) cell.unpriced_calls.fetch_add(d.unpriced_calls, relaxed);
}

}  // namespace

void add_to_totals(const GenAiState& state, const TotalsDelta& delta) {
  if (state.turn_totals) add_cell(*state.turn_totals, delta);
  for (TotalsCell* cell = state.workflow_totals.get(); cell; cell = cell->parent.get()) {
    add_cell(*cell, delta);
  }
}

Totals snapshot(const TotalsCell& cell) {
  constexpr auto relaxed = std::memory_order_relaxed;
  Totals t;
  t.cost_pico = cell.cost_pico.load(relaxed);
  t.input_tokens = cell.input_tokens.load(relaxed);
  t.output_tokens = cell.output_tokens.load(relaxed);
  t.llm_calls = cell.llm_calls.load(relaxed);
  t.tool_calls = cell.tool_calls.load(relaxed);
  t.unpriced_calls = cell.unpriced_calls.load(relaxed);
  return t;
}

}  // namespace convtrace
