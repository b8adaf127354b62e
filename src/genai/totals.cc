#include "genai/totals.h"

namespace convtrace {
namespace {

constexpr auto relaxed = std::memory_order_relaxed;

// Only the cell's owner thread writes its `own` fields: a load and a store.
void add_owned(std::atomic<int64_t>& field, int64_t n) {
  if (n) field.store(field.load(relaxed) + n, relaxed);
}

void add_shared(std::atomic<int64_t>& field, int64_t n) {
  if (n) field.fetch_add(n, relaxed);
}

template <typename Add>
void add_fields(TotalsFields& f, const TotalsDelta& d, Add add) {
  add(f.cost_pico, d.cost_pico);
  add(f.input_tokens, d.input_tokens);
  add(f.output_tokens, d.output_tokens);
  add(f.llm_calls, d.llm_calls);
  add(f.tool_calls, d.tool_calls);
  add(f.unpriced_calls, d.unpriced_calls);
}

void add_cell(TotalsCell& cell, const TotalsDelta& d, size_t thread) {
  if (cell.owner == thread) {
    add_fields(cell.own, d, add_owned);
  } else {
    add_fields(cell.shared, d, add_shared);
  }
}

int64_t sum(const std::atomic<int64_t>& own, const std::atomic<int64_t>& shared) {
  return own.load(relaxed) + shared.load(relaxed);
}

}  // namespace

void add_to_totals(const GenAiState& state, const TotalsDelta& delta) {
  const size_t thread = this_thread_stripe();
  if (state.turn_totals) add_cell(*state.turn_totals, delta, thread);
  for (TotalsCell* cell = state.workflow_totals.get(); cell; cell = cell->parent.get()) {
    add_cell(*cell, delta, thread);
  }
}

Totals snapshot(const TotalsCell& cell) {
  const TotalsFields& own = cell.own;
  const TotalsFields& shared = cell.shared;
  Totals t;
  t.cost_pico = sum(own.cost_pico, shared.cost_pico);
  t.input_tokens = sum(own.input_tokens, shared.input_tokens);
  t.output_tokens = sum(own.output_tokens, shared.output_tokens);
  t.llm_calls = sum(own.llm_calls, shared.llm_calls);
  t.tool_calls = sum(own.tool_calls, shared.tool_calls);
  t.unpriced_calls = sum(own.unpriced_calls, shared.unpriced_calls);
  return t;
}

}  // namespace convtrace
