#include "genai/hooks.h"

#include "convtrace/attributes.h"
#include "genai/registry.h"
#include "genai/totals.h"
#include "metrics/recorder.h"
#include "trace/clock.h"
#include "trace/genai_state.h"
#include "trace/sdk_state.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

// Gives the span its conversation turn when it is the first unit of work in
// the conversation scope; its children then see the claimed turn.
void claim_turn(SpanRecord& rec) {
  const GenAiState& outer = *rec.genai;
  std::shared_ptr<ConversationEntry> entry = rec.sdk->registry->get(outer.conversation_id);
  int64_t turn;
  if (outer.explicit_turn > 0) {
    turn = outer.explicit_turn;
    // The registry continues from the app's number.
    int64_t seen = entry->last_turn.load(std::memory_order_relaxed);
    while (seen < turn && !entry->last_turn.compare_exchange_weak(seen, turn)) {
    }
  } else {
    turn = entry->last_turn.fetch_add(1, std::memory_order_relaxed) + 1;
  }
  auto claimed = std::make_shared<GenAiState>(outer);
  claimed->turn = turn;
  claimed->conversation = std::move(entry);
  claimed->turn_totals = std::make_shared<TotalsCell>();
  rec.genai = std::move(claimed);
  rec.turn_root = true;
}

// OpenInference's span kinds; a workflow is a CHAIN there.
std::string_view openinference_kind(Kind kind) {
  switch (kind) {
    case Kind::llm:
      return "LLM";
    case Kind::tool:
      return "TOOL";
    case Kind::agent:
      return "AGENT";
    case Kind::retriever:
      return "RETRIEVER";
    case Kind::embedding:
      return "EMBEDDING";
    case Kind::reranker:
      return "RERANKER";
    default:
      return "CHAIN";
  }
}

void stamp(SpanRecord& rec) {
  const GenAiState& g = *rec.genai;
  if (!g.conversation_id.empty()) {
    set_record_attribute(rec, attr::kConversationId, g.conversation_id);
    if (rec.sdk->profile == AttributeProfile::openinference) {
      set_record_attribute(rec, attr::kSessionId, g.conversation_id);
    }
    if (g.turn > 0) set_record_attribute(rec, attr::kConversationTurn, g.turn);
  }
  if (!g.user_id.empty()) set_record_attribute(rec, attr::kUserId, g.user_id);
  if (!g.workflow_id.empty()) set_record_attribute(rec, attr::kWorkflowId, g.workflow_id);
  if (!g.workflow_type.empty()) set_record_attribute(rec, attr::kWorkflowType, g.workflow_type);
  for (const Attribute& a : g.attributes) set_record_attribute(rec, a.key, a.value);
}

// The call's and the workflow run's data points (metrics.h): every span, sampled or not.
void record_metrics(SpanRecord& rec, MetricsRecorder& metrics) {
  const GenAiState* g = rec.genai.get();
  if (rec.kind == Kind::workflow && g && g->workflow_totals) {
    const bool sampled = rec.data != nullptr;
    WorkflowMeasurement m;
    m.workflow_type = g->workflow_type;
    m.duration_ns = rec.end_steady - rec.start_steady;
    m.cost_pico = snapshot(*g->workflow_totals).cost_pico;
    m.end_unix_nano = sampled ? unix_nano_at(rec.end_steady) : 0;
    m.sampled = sampled ? &rec.context : nullptr;
    metrics.record_workflow(m);
  }
  if (rec.operation.empty() && !rec.usage_recorded) return;  // not a GenAI call
  metrics.record_span_call(rec);
}

}  // namespace

void genai_on_start(SpanRecord& rec, const Context& /*parent*/) {
  if (rec.genai) {
    if (!rec.genai->conversation_id.empty() && rec.genai->turn == 0) claim_turn(rec);
    if (rec.data) stamp(rec);
    if (rec.kind == Kind::llm || rec.kind == Kind::embedding) {
      add_to_totals(*rec.genai, TotalsDelta{0, 0, 0, 1, 0, 0});
    } else if (rec.kind == Kind::tool) {
      add_to_totals(*rec.genai, TotalsDelta{0, 0, 0, 0, 1, 0});
    }
  }
  if (rec.data && rec.kind != Kind::none) {
    set_record_attribute(rec, attr::kSpanKind, to_string(rec.kind));
    if (rec.sdk->profile == AttributeProfile::openinference) {
      set_record_attribute(rec, attr::kOpenInferenceSpanKind, openinference_kind(rec.kind));
    }
  }
}

void genai_on_end(SpanRecord& rec) {
  // Only spans of the SDK's own tracer, which Span::end() timed; the
  // opentelemetry-cpp bridge's shadow records carry no end time.
  if (rec.sdk->metrics && rec.end_steady != 0) record_metrics(rec, *rec.sdk->metrics);
  if (!rec.turn_root || !rec.genai || !rec.genai->conversation) return;
  int64_t turn_cost = snapshot(*rec.genai->turn_totals).cost_pico;
  int64_t total =
      rec.genai->conversation->total_cost_pico.fetch_add(turn_cost, std::memory_order_relaxed) +
      turn_cost;
  if (rec.data) set_record_attribute(rec, attr::kConversationTotalCostUsd, pico_to_usd(total));
}

}  // namespace convtrace
