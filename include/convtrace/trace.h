// The trace core: spans, their context, and how context moves between threads.
//
// A `Span` is a move-only handle to one span being recorded. It ends when
// `end()` is called or when the handle is destroyed, whichever comes first.
// A handle is used by one thread at a time; the span's context can be used
// anywhere. Spans come from a `Tracer` (see sdk.h) or, for the process-wide
// SDK installed with `install()`, from `start_span()`. Without an installed
// SDK every span is a cheap no-op: nothing is recorded, nothing fails.
//
// The current context (current span + conversation/workflow state) is
// thread-local. `attach()` makes a captured `Context` current for a scope;
// `wrap()` packages a callable with the caller's context so it can run on
// another thread (std::thread, std::async, a thread pool) inside the same
// trace, conversation and workflow. Nothing here throws.
#pragma once

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "convtrace/span_data.h"
#include "convtrace/usage.h"

namespace convtrace {

class Sdk;
struct GenAiState;  // conversation/workflow state carried by a Context (genai layer)
struct SpanRecord;  // the SDK's storage of a live span

// Identifies a span across threads and processes (W3C trace context).
struct SpanContext {
  TraceId trace_id;
  SpanId span_id;
  uint8_t flags = 0;  // W3C trace flags; bit 0 = sampled
  std::string trace_state;
  bool remote = false;  // extracted from another process

  bool valid() const { return trace_id.valid() && span_id.valid(); }
  bool sampled() const { return (flags & 0x01) != 0; }
};

// An immutable snapshot of "where we are": the current span and the GenAI
// state (conversation, turn, user, workflow). Cheap to copy.
class Context {
 public:
  Context() = default;
  // This thread's current context.
  static Context current();

  const SpanContext& span_context() const { return span_; }
  // The conversation id in force, or empty.
  std::string_view conversation_id() const;
  // The turn in force (0 when no turn has started yet).
  int64_t turn() const;
  // The workflow id in force, or empty.
  std::string_view workflow_id() const;

  // A copy with another parent span (e.g. one extracted from headers).
  Context with_span_context(SpanContext span) const&;
  Context with_span_context(SpanContext span) &&;
  // A copy with another GenAI state (used by the genai layer and propagation).
  Context with_genai(std::shared_ptr<const GenAiState> genai) const&;
  Context with_genai(std::shared_ptr<const GenAiState> genai) &&;
  const std::shared_ptr<const GenAiState>& genai() const { return genai_; }

 private:
  SpanContext span_;
  std::shared_ptr<const GenAiState> genai_;
};

// Restores the previous current context when destroyed. Move-only; ends on
// the thread that made it.
class [[nodiscard]] ContextScope {
 public:
  ContextScope() = default;
  explicit ContextScope(Context ctx);
  ~ContextScope();
  ContextScope(ContextScope&& other) noexcept;
  ContextScope& operator=(ContextScope&&) = delete;
  ContextScope(const ContextScope&) = delete;

 private:
  Context previous_;
  bool active_ = false;
  void* mirror_ = nullptr;  // the same context attached in a bridged tracer (opentelemetry.h)
};

// Makes `ctx` current on this thread until the returned scope ends.
inline ContextScope attach(Context ctx) { return ContextScope(std::move(ctx)); }

// Returns a callable that runs `fn` with the context captured now (on the
// calling thread) attached — on whatever thread it is eventually called.
template <typename F>
auto wrap(F fn) {
  return [ctx = Context::current(), fn = std::move(fn)](auto&&... args) mutable -> decltype(auto) {
    ContextScope scope(ctx);
    return fn(std::forward<decltype(args)>(args)...);
  };
}

// What kind of work a span represents, in the GenAI sense (`gen_ai.l9.span.kind`).
enum class Kind { none, llm, tool, chain, agent, retriever, embedding, workflow, reranker };
// "llm", "tool", …; empty for Kind::none.
std::string_view to_string(Kind kind);

struct StartOptions {
  SpanKind span_kind = SpanKind::internal;
  Kind kind = Kind::none;
  // Parent: the current context unless set. A context with an invalid span
  // context starts a new trace (but keeps its GenAI state).
  const Context* parent = nullptr;
  std::vector<Attribute> attributes;  // initial attributes (visible to samplers)
  std::vector<SpanLink> links;
  // Unix nanoseconds; 0 = now. A time past 2262-04-11T23:47:16.854775807Z
  // (INT64_MAX ns) is not used: the span starts now, with a counted
  // "time_out_of_range" warning.
  uint64_t start_unix_nano = 0;
};

class Span {
 public:
  Span() = default;  // a no-op span
  ~Span();
  Span(Span&& other) noexcept;
  Span& operator=(Span&& other) noexcept;
  Span(const Span&) = delete;
  Span& operator=(const Span&) = delete;

  // False for no-op spans, unsampled spans and spans already ended.
  bool recording() const;
  // Valid for every span started by an SDK, sampled or not.
  SpanContext context() const;

  void set_attribute(std::string_view key, std::string_view value);
  void set_attribute(std::string_view key, const char* value) {
    set_attribute(key, std::string_view(value ? value : ""));
  }
  void set_attribute(std::string_view key, const std::string& value) {
    set_attribute(key, std::string_view(value));
  }
  void set_attribute(std::string_view key, bool value);
  void set_attribute(std::string_view key, double value);
  template <typename I,
            typename = std::enable_if_t<std::is_integral_v<I> && !std::is_same_v<I, bool>>>
  void set_attribute(std::string_view key, I value) {
    set_int_attribute(key, static_cast<int64_t>(value));
  }
  // Any value type, including arrays.
  void set_attribute_value(std::string_view key, AttributeValue value);

  void add_event(std::string_view name, std::vector<Attribute> attributes = {});
  // Records an OTel `exception` event (exception.type, exception.message).
  void record_exception(std::string_view type, std::string_view message);
  void set_status(StatusCode code, std::string_view description = {});
  void update_name(std::string_view name);

  // --- GenAI (implemented by the genai layer) ---------------------------------
  // Records token usage: token attributes, model/provider/response attributes,
  // exact cost from the SDK's pricing, and the totals of the enclosing workflow
  // and turn. Calling it again on the same span replaces the earlier usage.
  // Invalid usage (negative counts, parts larger than totals) is rejected with
  // a counted warning; returns false then.
  bool record_usage(const Usage& usage);
  // Extracts usage from a provider's response body (see usage.h) and records
  // it. Returns false (and counts a warning) when the body has no usable usage.
  // With content capture on, also records the response's messages as
  // gen_ai.output.messages.
  bool record_response(std::string_view body, std::string_view provider = {});
  // Records what a provider request body (and the URL it goes to) says: the
  // request model (as set_model), gen_ai.request.* parameters (temperature,
  // max_tokens, top_p, top_k, seed, stream, stop sequences, penalties, choice
  // count) and server.address / server.port; with content capture on, the
  // messages as gen_ai.input.messages and separate system instructions as
  // gen_ai.system_instructions. Returns false (and counts a
  // "request_parse" warning) for a malformed body or URL. See parse_request.
  bool record_request(std::string_view body, std::string_view provider = {},
                      std::string_view url = {});
  // Records input/output content when content capture is on (sdk.h); a no-op
  // otherwise. On tool spans they are the call's arguments and result
  // (gen_ai.tool.call.arguments / .result: JSON as it is, other text as a JSON
  // string). On other spans, text already in the conventions' message schema
  // (a JSON array of {"role", "parts"}) is recorded as such; any other text
  // becomes one user message (input) or one assistant message (output) of one
  // text part. Each text passes through the redaction callback, then the
  // whole is cut to the configured length so that it stays valid JSON.
  // observe() records the callable's result as output only when
  // record_response took no output messages from a response body; calling
  // record_output replaces them.
  void record_input(std::string_view content);
  void record_output(std::string_view content);
  // Sets the requested model (gen_ai.request.model) and, if still default, the
  // conventional span name "<operation> <model>".
  void set_model(std::string_view model);
  // A streamed call: marks the arrival of the response's first chunk (the
  // first mark counts). Records gen_ai.response.time_to_first_chunk (seconds
  // since the span started) and, with metrics on, the
  // gen_ai.client.operation.time_to_first_chunk histogram (metrics.h).
  void record_first_chunk();
  // The same with a time the application measured itself, from the start of
  // the request (e.g. StreamAccumulator::time_to_first_chunk()).
  void record_time_to_first_chunk(std::chrono::nanoseconds since_start);
  // The server the call went to: server.address and, when > 0, server.port,
  // on the span and on its metrics.
  void set_server(std::string_view address, int port = 0);

  // Ends the span now (idempotent). Later calls on the handle do nothing.
  void end();

  // Makes this span the current span on this thread until the scope ends.
  ContextScope activate() const;
  // The context that children of this span should use (span + GenAI state).
  Context child_context() const;

  // Extra methods (for testing)
  SpanRecord* TEST_record() const { return rec_; }

 private:
  friend struct SpanAccess;  // the SDK's internals
  explicit Span(SpanRecord* rec) : rec_(rec) {}
  void set_int_attribute(std::string_view key, int64_t value);
  SpanRecord* rec_ = nullptr;
};

// Creates spans for one instrumentation scope of one SDK. Cheap to copy.
// A default-constructed Tracer creates no-op spans.
class Tracer {
 public:
  Tracer() = default;
  Span start_span(std::string_view name, const StartOptions& options = {}) const;
  bool enabled() const { return sdk_ != nullptr; }

 private:
  friend class Sdk;
  Tracer(std::shared_ptr<Sdk> sdk, std::shared_ptr<const InstrumentationScope> scope)
      : sdk_(std::move(sdk)), scope_(std::move(scope)) {}
  std::shared_ptr<Sdk> sdk_;
  std::shared_ptr<const InstrumentationScope> scope_;
};

// Starts a span with the installed SDK's tracer (a no-op span when none).
Span start_span(std::string_view name, const StartOptions& options = {});

}  // namespace convtrace
