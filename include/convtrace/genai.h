// The GenAI layer: conversations, turns, workflows, and observed calls.
//
//   auto conv = convtrace::conversation("support_789", {"user_123"});
//   std::string reply = convtrace::observe({"chat", convtrace::Kind::llm, "gpt-4o"},
//       [&](convtrace::Span& span) {
//         std::string body = call_model(request);
//         span.record_response(body);   // tokens, model, exact cost
//         return first_choice_text(body);
//       });
//
// `conversation()` and `workflow()` are RAII scopes on the current thread.
// Every span started inside — at any depth, and on threads that carried the
// context with `wrap()`/`attach()` — carries `gen_ai.conversation.id`,
// `user.id`, `gen_ai.conversation.turn`, the custom attributes, and
// `workflow.id`/`workflow.type`. The turn increments once per top-level unit of
// work inside a conversation (a workflow, an outermost observed call, or any
// outermost span); nested spans share it. Entering the same conversation id
// again later continues the count (see ConversationRegistry settings in sdk.h).
//
// A workflow scope owns a span, parent of everything inside, that carries the
// exact total cost and tokens of every call inside that recorded usage
// (`workflow.total_cost_usd`), and `workflow.llm_calls`/`workflow.tool_calls`.
// Only spans that recorded usage carry `gen_ai.usage.cost_usd`, so summing that
// key over any set of spans never counts a call twice.
//
// Nothing here throws (except `observe`, which rethrows the callable's own
// exception unchanged) and nothing blocks.
#pragma once

#include <exception>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>
#include <vector>

#include "convtrace/pricing.h"
#include "convtrace/trace.h"

namespace convtrace {

// Conversation, user and workflow ids longer than this many bytes are cut to it
// (at a UTF-8 boundary) with a counted "long_id" warning: ids are stamped on
// every span and kept in the turn registry, so their size bounds memory.
inline constexpr size_t kMaxIdLength = 512;

struct ConversationOptions {
  ConversationOptions() = default;
  // Lets `conversation(id, {"user_123"})` name the user.
  ConversationOptions(std::string user) : user_id(std::move(user)) {}  // NOLINT: implicit

  std::string user_id;  // → user.id
  // The app's own turn number (e.g. its chat-history length), for apps that run
  // many instances. > 0 wins over the registry's count; the registry continues
  // from it.
  int64_t turn = 0;
  // Custom attributes stamped on every span inside. Nested scopes merge them
  // (inner wins per key).
  std::vector<Attribute> attributes;
  // Keys of `attributes` that also travel to other processes in W3C baggage.
  std::vector<std::string> propagate;
};

// Ends the conversation scope (restoring the outer state) when destroyed.
class [[nodiscard]] ConversationScope {
 public:
  ConversationScope() = default;
  ~ConversationScope();
  ConversationScope(ConversationScope&& other) noexcept;
  ConversationScope& operator=(ConversationScope&&) = delete;
  ConversationScope(const ConversationScope&) = delete;
  // False when the scope was refused (empty id): it then changes nothing.
  bool active() const { return active_; }
  // Leaves the scope now (idempotent).
  void close();

 private:
  friend ConversationScope conversation(std::string_view, ConversationOptions);
  explicit ConversationScope(Context previous) : previous_(std::move(previous)), active_(true) {}
  Context previous_;
  bool active_ = false;
};

// Enters conversation `id` on this thread. An empty id is refused: the scope
// does nothing and a warning ("empty_conversation_id") is counted.
ConversationScope conversation(std::string_view id, ConversationOptions options = {});

// Exact totals of one workflow (or turn) so far.
struct Totals {
  int64_t cost_pico = 0;  // sum of priced calls, pico-USD
  int64_t input_tokens = 0;
  int64_t output_tokens = 0;
  int64_t llm_calls = 0;
  int64_t tool_calls = 0;
  int64_t unpriced_calls = 0;  // calls with usage but an unknown model
};

struct WorkflowOptions {
  std::vector<Attribute> attributes;  // stamped on the workflow span only
};

// Owns the workflow span; ends it with the totals when destroyed.
class [[nodiscard]] WorkflowScope {
 public:
  WorkflowScope() = default;
  ~WorkflowScope();
  WorkflowScope(WorkflowScope&& other) noexcept;
  WorkflowScope& operator=(WorkflowScope&&) = delete;
  WorkflowScope(const WorkflowScope&) = delete;

  Span& span() { return span_; }
  // The totals accumulated so far (calls still running are not included).
  Totals totals() const;
  // Ends the workflow now (idempotent): writes the totals, ends the span and
  // restores the outer context.
  void close();

 private:
  friend WorkflowScope workflow(std::string_view, std::string_view, WorkflowOptions);
  Span span_;
  Context previous_;
  std::shared_ptr<const GenAiState> state_;
  bool active_ = false;
  void* mirror_ = nullptr;  // the workflow span attached in a bridged tracer (opentelemetry.h)
};

// Starts workflow `id` of `type` (e.g. "rag", "agent") as a child of the current
// span. Inside a conversation it is one turn.
WorkflowScope workflow(std::string_view id, std::string_view type, WorkflowOptions options = {});

// Who an agent span is (the GenAI conventions' gen_ai.agent.*).
struct AgentIdentity {
  std::string id;           // gen_ai.agent.id, e.g. an assistant id
  std::string name;         // gen_ai.agent.name; default ObserveOptions::name
  std::string version;      // gen_ai.agent.version
  std::string description;  // gen_ai.agent.description
};

struct ObserveOptions {
  ObserveOptions() = default;
  // `observe({"chat", Kind::llm, "gpt-4o", "openai"}, fn)`
  ObserveOptions(std::string name_, Kind kind_ = Kind::chain, std::string model_ = {},  // NOLINT
                 std::string provider_ = {})
      : name(std::move(name_)),
        kind(kind_),
        model(std::move(model_)),
        provider(std::move(provider_)) {}

  // What the call is. Spans are named as the GenAI conventions say:
  // llm/embedding with a model "chat MODEL" / "embeddings MODEL" (without one,
  // this name until set_model), tool "execute_tool NAME" (the name is
  // gen_ai.tool.name), agent "invoke_agent AGENT" (agent.name, else this
  // name), retriever "retrieval SOURCE" (data_source_id, else this name),
  // workflow "invoke_workflow NAME" (gen_ai.workflow.name); chain and
  // reranker spans keep this name.
  std::string name;
  Kind kind = Kind::chain;
  std::string model;     // → gen_ai.request.model
  std::string provider;  // → gen_ai.provider.name (e.g. "openai")
  // Price for this call, overriding the SDK's catalog (like a per-call
  // ModelPricing). USD per 1M tokens via ModelPrice::usd_per_million.
  std::optional<ModelPrice> price;
  std::string input;  // recorded as input content when content capture is on
  std::vector<Attribute> attributes;
  AgentIdentity agent;       // agent spans
  std::string tool_call_id;  // tool spans: gen_ai.tool.call.id, the model's id for the call
  std::string tool_type;     // tool spans: gen_ai.tool.type ("function", "extension", "datastore")
  std::string data_source_id;  // retriever spans: gen_ai.data_source.id
};

namespace detail {
// Starts the span of an observed call (claims the turn, stamps kind, model…).
Span start_observed(const ObserveOptions& options);
void record_observed_output(Span& span, std::string_view output);
// Marks the span failed with the exception's type and message, and ends it.
void fail_observed(Span& span, const std::type_info* type, std::string_view message) noexcept;
// Ends the span. Status stays unset on success, as OTel asks of instrumentation.
void finish_observed(Span& span) noexcept;

template <typename R>
void maybe_record_output(Span& span, const R& result) {
  if constexpr (std::is_convertible_v<const R&, std::string_view>) {
    record_observed_output(span, std::string_view(result));
  }
}

template <typename F>
decltype(auto) invoke_with_span(F& fn, Span& span) {
  if constexpr (std::is_invocable_v<F&, Span&>) {
    return fn(span);
  } else {
    return fn();
  }
}
}  // namespace detail

// Runs `fn` — callable as fn(Span&) or fn() — inside a span of `options.kind`,
// as a child of the current span, and returns its result (void, values and
// move-only values alike). Records latency and status; if `fn` throws, the span
// gets error status, `error.type` and an `exception` event, ends, and the same
// exception is rethrown. Usage reported through the Span gets tokens and cost.
template <typename F>
decltype(auto) observe(const ObserveOptions& options, F&& fn) {
  Span span = detail::start_observed(options);
  ContextScope scope = span.activate();
  using R = decltype(detail::invoke_with_span(fn, span));
  try {
    if constexpr (std::is_void_v<R>) {
      detail::invoke_with_span(fn, span);
      detail::finish_observed(span);
    } else if constexpr (std::is_reference_v<R>) {
      R result = detail::invoke_with_span(fn, span);
      detail::maybe_record_output(span, result);
      detail::finish_observed(span);
      return static_cast<R>(result);
    } else {
      R result = detail::invoke_with_span(fn, span);
      detail::maybe_record_output(span, result);
      detail::finish_observed(span);
      return result;
    }
  } catch (const std::exception& e) {
    detail::fail_observed(span, &typeid(e), e.what());
    throw;
  } catch (...) {
    detail::fail_observed(span, nullptr, "unknown exception");
    throw;
  }
}

// Decorator style: returns a callable that runs `fn(args...)` (or
// `fn(span, args...)`) under observe(options, …) on each call.
template <typename F>
auto observed(ObserveOptions options, F fn) {
  return
      [options = std::move(options), fn = std::move(fn)](auto&&... args) mutable -> decltype(auto) {
        return observe(options, [&](Span& span) -> decltype(auto) {
          if constexpr (std::is_invocable_v<F&, Span&, decltype(args)...>) {
            return fn(span, std::forward<decltype(args)>(args)...);
          } else {
            return fn(std::forward<decltype(args)>(args)...);
          }
        });
      };
}

}  // namespace convtrace
