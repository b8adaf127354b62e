// conversation() and workflow() scopes.
#include <string>
#include <utility>

#include "common/diagnostics.h"
#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "convtrace/genai.h"
#include "genai/operation.h"
#include "genai/totals.h"
#include "trace/context_backend.h"
#include "trace/context_internal.h"
#include "trace/genai_state.h"
#include "trace/span_record.h"

namespace convtrace {
namespace {

void merge_attributes(std::vector<Attribute>& into, const std::vector<Attribute>& from) {
  for (const Attribute& a : from) {
    bool replaced = false;
    for (Attribute& existing : into) {
      if (existing.key == a.key) {
        existing.value = a.value;
        replaced = true;
        break;
      }
    }
    if (!replaced) into.push_back(a);
  }
}

// Ids are stamped on every span, sent in baggage and kept as registry keys,
// so they are made valid UTF-8 here, once (an id must read the same in every
// output and after a hop to another process), and bounded: an unbounded id
// would make memory unbounded too. Longer ids are cut (at a character
// boundary) and counted.
std::string bounded_id(std::string_view id, const char* what) {
  std::string out;
  utf8::assign(out, id, what);
  if (out.size() <= kMaxIdLength) return out;
  report_warning("long_id", std::string(what) + " longer than " + std::to_string(kMaxIdLength) +
                                " bytes was cut");
  out.resize(utf8::cut_point(out, kMaxIdLength));
  return out;
}

}  // namespace

ConversationScope conversation(std::string_view id, ConversationOptions options) {
  if (id.empty()) {
    report_warning("empty_conversation_id",
                   "conversation() called with an empty id; the scope is ignored");
    return ConversationScope();
  }
  try {
    const Context& current = current_context();
    const GenAiState* outer = current.genai().get();
    auto state = outer ? std::make_shared<GenAiState>(*outer) : std::make_shared<GenAiState>();
    std::string bounded = bounded_id(id, "conversation id");
    bool same_conversation = outer && outer->conversation_id == bounded;
    if (!same_conversation) {
      // A different conversation starts its own turn count; workflow state stays.
      state->conversation_id = std::move(bounded);
      state->turn = 0;
      state->explicit_turn = 0;
      state->conversation.reset();
      state->turn_totals.reset();
    }
    if (!options.user_id.empty()) state->user_id = bounded_id(options.user_id, "user id");
    if (options.turn > 0) {
      state->explicit_turn = options.turn;
      state->turn = 0;  // the next unit of work claims the app's turn
    } else if (options.turn < 0) {
      report_warning("invalid_turn", "conversation(): negative turn ignored");
    }
    utf8::repair(options.attributes, "conversation");
    merge_attributes(state->attributes, options.attributes);
    for (std::string& key : options.propagate) {
      utf8::repair(key, "conversation propagate key");
      bool known = false;
      for (const std::string& k : state->propagate) known = known || k == key;
      if (!known) state->propagate.push_back(std::move(key));
    }
    Context next = current.with_genai(std::move(state));
    Context previous = exchange_current_context(std::move(next));
    return ConversationScope(std::move(previous));
  } catch (...) {
    return ConversationScope();
  }
}

ConversationScope::~ConversationScope() { close(); }

ConversationScope::ConversationScope(ConversationScope&& other) noexcept
    : previous_(std::move(other.previous_)), active_(other.active_) {
  other.active_ = false;
}

void ConversationScope::close() {
  if (!active_) return;
  active_ = false;
  exchange_current_context(std::move(previous_));
}

WorkflowScope workflow(std::string_view id, std::string_view type, WorkflowOptions options) {
  WorkflowScope scope;
  try {
    StartOptions start;
    start.kind = Kind::workflow;
    start.attributes = std::move(options.attributes);
    // The GenAI conventions' workflow span: "invoke_workflow {gen_ai.workflow.name}",
    // the name being the (low-cardinality) workflow type.
    const std::string_view operation = operation_for(Kind::workflow);
    std::string name(operation);
    if (!type.empty()) name.append(1, ' ').append(type);
    start.attributes.push_back(
        Attribute{std::string(attr::kOperationName), std::string(operation)});
    if (!type.empty()) {
      start.attributes.push_back(Attribute{std::string(attr::kWorkflowName), std::string(type)});
    }
    scope.span_ = start_span(name, start);

    SpanRecord* rec = SpanAccess::record(scope.span_);
    // The workflow span's own start saw the outer state (and may have claimed
    // the turn); everything inside sees the workflow on top of it.
    std::shared_ptr<const GenAiState> base = rec ? rec->genai : Context::current().genai();
    auto state = base ? std::make_shared<GenAiState>(*base) : std::make_shared<GenAiState>();
    state->workflow_id = bounded_id(id, "workflow id");
    state->workflow_type = bounded_id(type, "workflow type");
    auto cell = std::make_shared<TotalsCell>();
    cell->parent = base ? base->workflow_totals : nullptr;
    state->workflow_totals = std::move(cell);
    if (rec) rec->genai = state;
    scope.span_.set_attribute(attr::kWorkflowId, state->workflow_id);
    scope.span_.set_attribute(attr::kWorkflowType, state->workflow_type);

    Context inside = rec ? scope.span_.child_context() : Context::current().with_genai(state);
    scope.state_ = std::move(state);
    scope.mirror_ = mirror_attach(inside.span_context());
    scope.previous_ = exchange_current_context(std::move(inside));
    scope.active_ = true;
  } catch (...) {
  }
  return scope;
}

WorkflowScope::WorkflowScope(WorkflowScope&& other) noexcept
    : span_(std::move(other.span_)),
      previous_(std::move(other.previous_)),
      state_(std::move(other.state_)),
      active_(other.active_),
      mirror_(other.mirror_) {
  other.active_ = false;
  other.mirror_ = nullptr;
}

WorkflowScope::~WorkflowScope() { close(); }

Totals WorkflowScope::totals() const {
  return state_ && state_->workflow_totals ? snapshot(*state_->workflow_totals) : Totals{};
}

void WorkflowScope::close() {
  if (!active_) return;
  active_ = false;
  Totals t = totals();
  span_.set_attribute(attr::kWorkflowTotalCostUsd, pico_to_usd(t.cost_pico));
  span_.set_attribute(attr::kWorkflowTotalCostPico, t.cost_pico);
  span_.set_attribute(attr::kWorkflowInputTokens, t.input_tokens);
  span_.set_attribute(attr::kWorkflowOutputTokens, t.output_tokens);
  span_.set_attribute(attr::kWorkflowLlmCalls, t.llm_calls);
  span_.set_attribute(attr::kWorkflowToolCalls, t.tool_calls);
  span_.end();
  mirror_detach(mirror_);
  mirror_ = nullptr;
  exchange_current_context(std::move(previous_));
}

}  // namespace convtrace
