// Reading the GenAI attributes other SDKs put on their spans.
//
// Instrumentations name the same facts differently: the OpenTelemetry GenAI
// conventions (current keys and the deprecated gen_ai.system /
// gen_ai.usage.prompt_tokens), OpenLLMetry (Traceloop), OpenInference (Arize
// Phoenix), OpenLIT, Langfuse and the Vercel AI SDK each have their own keys
// for tokens, model, provider, cost, session and user. `read_span` turns any
// mix of them into convtrace's normalized form (convtrace/usage.h), so that
// `convtrace collect` and the opentelemetry-cpp span processor price and group
// spans from every SDK the same way.
//
// Counting rules (which counts include which), the same for every dialect
// unless said otherwise:
//  - input tokens include cache reads and cache writes, output tokens include
//    reasoning (the GenAI conventions, OpenLLMetry, OpenInference, OpenLIT and
//    the Vercel AI SDK's `cachedInputTokens` all count so);
//  - Langfuse's `langfuse.observation.usage_details` counts `input` without
//    its cached parts and `output` without reasoning: the parts are added;
//  - a span whose cache parts exceed its input (or reasoning its output) can
//    only have counted them separately: they are added, and a problem says so.
//  - Usage on spans that sum their children is not a call of its own and is
//    not read: Vercel AI SDK outer spans (`ai.operationId` other than a
//    `.doGenerate`, `.doStream` or `.doEmbed` call) and spans whose
//    gen_ai.operation.name is invoke_agent, agent_step or invoke_workflow,
//    unless convtrace wrote them (`SpanReading::aggregate_usage`).
// Where two dialects give the same fact, the GenAI conventions win, then the
// order of the table in dialects.cc.
//
// Everything here is thread-safe, allocation-free where it says so, and never
// throws.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/span_data.h"
#include "convtrace/trace.h"
#include "convtrace/usage.h"

namespace convtrace::dialects {

// The dialects `read_span` recognizes, as bits of SpanReading::dialects.
enum Dialect : uint32_t {
  kOtelGenAi = 1u << 0,            // gen_ai.* keys of the current conventions
  kOtelGenAiDeprecated = 1u << 1,  // gen_ai.system, gen_ai.usage.prompt/completion_tokens
  kOpenLlmetry = 1u << 2,          // Traceloop: llm.usage.*, traceloop.*, …_input_tokens
  kOpenInference = 1u << 3,        // llm.token_count.*, openinference.span.kind, session.id
  kOpenLit = 1u << 4,              // gen_ai.usage.cost without convtrace's keys
  kLangfuse = 1u << 5,             // langfuse.*
  kVercelAi = 1u << 6,             // ai.*
  kConvtrace = 1u << 7,            // convtrace.*, gen_ai.l9.span.kind, gen_ai.usage.cost_usd
};

// "otel_genai", "otel_genai_deprecated", "openllmetry", "openinference",
// "openlit", "langfuse", "vercel_ai", "convtrace"; empty for anything else.
std::string_view dialect_name(Dialect dialect);
// The names of the bits set in `mask`, comma-separated, in the order above.
std::string dialect_names(uint32_t mask);

// True for every attribute key any dialect above is read from (tokens, model,
// provider, cost, session and user ids, span kind, operation). Called once
// per attribute of other SDKs' spans: no allocation, a few nanoseconds (a
// look-up by length, then at most a few comparisons).
bool is_known_key(std::string_view key) noexcept;

// Something wrong with one attribute's value, for the caller to count.
struct Problem {
  std::string key;
  std::string message;  // "negative token count -3", "not an integer: 12.5", …
  // A token count that could not be read and is missing from the usage: a
  // price from the rest would be too low.
  bool unread_count = false;
};

struct SpanReading {
  // Normalized usage (usage.h rules), with model and provider when the span
  // names them. Only counts that were sent are set.
  Usage usage;
  // The span is a call with token counts (usage.has_tokens() and not an aggregate).
  bool has_tokens = false;
  // The span carried token counts that sum its children's (see the header
  // comment); they are left out of `usage`.
  bool aggregate_usage = false;
  // The cost the span carried, in pico-USD (convtrace.cost_pico_usd exactly,
  // else the USD keys rounded to the pico-USD).
  std::optional<int64_t> sent_cost_pico;
  // The cost came from convtrace.cost_pico_usd: a convtrace SDK priced the
  // whole response, including what the attributes do not show (1-hour cache
  // writes, Cohere's billed units).
  bool priced_by_convtrace = false;
  std::string conversation_id;  // gen_ai.conversation.id, else a session id
  std::string user_id;
  Kind kind = Kind::none;  // the GenAI kind a dialect gives the span, if any
  uint32_t dialects = 0;   // Dialect bits of the keys found
  std::vector<Problem> problems;
  // The first attribute that looks like a token count or cost ("…token…",
  // "…cost…" with a number) but that no dialect reads, when the span had no
  // token counts: a sign of an SDK convtrace does not know. Empty otherwise.
  std::string unknown_usage_key;
};

// How strictly token counts are read.
enum class Counts {
  numbers_or_text,  // decimal text too: OTLP/JSON senders and some SDKs send counts so
  numbers_only,     // in process, where an instrumentation that sets text has a bug
};

// Reads the attributes of one span. Never throws (on allocation failure it
// returns what it has read).
SpanReading read_span(const std::vector<Attribute>& attributes,
                      Counts counts = Counts::numbers_or_text) noexcept;

}  // namespace convtrace::dialects
