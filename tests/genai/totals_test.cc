#include <gtest/gtest.h>

#include <memory>
#include <thread>
#include <vector>

#include "genai/totals.h"

namespace convtrace {
namespace {

// The thread that opened a workflow adds without atomic read-modify-writes,
// so no other thread may write where it does: their additions must go to the
// cell's shared fields, and a reading must sum both.
TEST(Totals, TheOwnerThreadAndOthersAddToSeparateFields) {
  GenAiState state;
  state.workflow_totals = std::make_shared<TotalsCell>();  // owned by this thread
  const TotalsDelta call{1000, 10, 5, 1, 0, 0};
  add_to_totals(state, call);
  std::vector<std::thread> others;
  for (int i = 0; i < 4; ++i) {
    others.emplace_back([&] {
      for (int n = 0; n < 1000; ++n) add_to_totals(state, call);
    });
  }
  for (int n = 0; n < 1000; ++n) add_to_totals(state, call);
  for (std::thread& t : others) t.join();

  const TotalsCell& cell = *state.workflow_totals;
  EXPECT_EQ(cell.own.cost_pico.load(), 1001 * 1000);
  EXPECT_EQ(cell.shared.cost_pico.load(), 4000 * 1000);
  const Totals totals = snapshot(cell);
  EXPECT_EQ(totals.cost_pico, 5001 * 1000);
  EXPECT_EQ(totals.input_tokens, 5001 * 10);
  EXPECT_EQ(totals.output_tokens, 5001 * 5);
  EXPECT_EQ(totals.llm_calls, 5001);
  EXPECT_EQ(totals.tool_calls, 0);
}

// A nested workflow opened on another thread is owned by that thread; its
// additions still reach the enclosing workflow's cell, as another thread's.
TEST(Totals, NestedCellsOwnedByTheirOpeningThreads) {
  GenAiState state;
  state.workflow_totals = std::make_shared<TotalsCell>();
  std::thread worker([&] {
    GenAiState inner;
    inner.workflow_totals = std::make_shared<TotalsCell>();
    inner.workflow_totals->parent = state.workflow_totals;
    add_to_totals(inner, TotalsDelta{7, 0, 0, 0, 1, 0});
    EXPECT_EQ(inner.workflow_totals->own.tool_calls.load(), 1);
  });
  worker.join();
  EXPECT_EQ(state.workflow_totals->shared.tool_calls.load(), 1);
  EXPECT_EQ(state.workflow_totals->own.tool_calls.load(), 0);
  EXPECT_EQ(snapshot(*state.workflow_totals).cost_pico, 7);
}

}  // namespace
}  // namespace convtrace
