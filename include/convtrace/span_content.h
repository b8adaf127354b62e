// What GenAI spans carry besides the span itself: the keys for the backends
// they go to (AttributeProfile, CostKeys) and whether prompts and completions
// are captured (ContentCapture). Set through Config (convtrace/sdk.h); a
// header of its own because the trace core's state keeps them too.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace convtrace {

// Which keys spans carry for the backends they go to
// (CONVTRACE_ATTRIBUTE_PROFILE; README "Which backend reads what").
enum class AttributeProfile {
  // The current GenAI conventions and convtrace's keys: what every backend in
  // the README's table reads correctly. The default.
  standard,
  // standard plus the OpenInference keys (openinference.span.kind,
  // llm.model_name, llm.provider, llm.token_count.*, llm.cost.total,
  // session.id, input.value / output.value), for Arize Phoenix before 15.10
  // (which reads only those) and Arize.
  openinference,
  // standard without gen_ai.usage.cost_usd: Langfuse reads every whole-number
  // gen_ai.usage.* value but gen_ai.usage.cost as a token count, so a call
  // costing exactly $0 or $1 would add a token type. Cost goes as gen_ai.usage.cost.
  langfuse,
};

// Which cost keys priced calls carry, besides the exact convtrace.cost_pico_usd
// (always there). A key left unset takes its value from CONVTRACE_COST_KEYS
// when that is set (a comma-separated list of the names below, or "none":
// listed keys on, the others off), else from the attribute profile.
struct CostKeys {
  std::optional<bool> cost_usd;      // "cost_usd": gen_ai.usage.cost_usd (off in langfuse)
  std::optional<bool> cost_generic;  // "cost": gen_ai.usage.cost (Langfuse, OpenLIT)
  std::optional<bool> cost_parts;    // "parts": convtrace.cost.input_usd / output_usd
  std::optional<bool> llm_cost;      // "llm_cost": llm.cost.total (on in openinference)
};

// Content capture (prompts and completions) is off unless enabled.
struct ContentCapture {
  bool enabled = false;      // CONVTRACE_CAPTURE_CONTENT
  size_t max_length = 4096;  // bytes kept per value; longer values are cut
  // Sees every captured value before it is recorded; returns what to record.
  std::function<std::string(std::string_view key, std::string_view value)> redact;
};

}  // namespace convtrace
