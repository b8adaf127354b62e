// Normalization of provider counts into `Usage`, and the public entry points.
#include "convtrace/usage.h"

#include <string>

#include "usage/usage_parse.h"

namespace convtrace {
namespace usage_internal {
namespace {

Count sum(Count a, Count b) {
  if (!a) return b;
  if (!b) return a;
  return *a + *b;  // both <= 1e12: no overflow
}

Count sum3(Count a, Count b, Count c) { return sum(sum(a, b), c); }

bool is_mistral_model(std::string_view model) {
  for (std::string_view family : {"mistral", "magistral", "codestral", "ministral", "pixtral",
                                  "devstral", "open-mistral", "open-mixtral", "voxtral"}) {
    if (model.substr(0, family.size()) == family) return true;
  }
  return false;
}

std::string_view default_provider(const Facts& facts, Shape shape) {
  switch (shape) {
    case Shape::openai_chat:
      if (facts.azure) return provider::kAzureOpenAi;
      if (facts.llamacpp_timings) return provider::kLlamaCpp;
      if (is_mistral_model(facts.model)) return provider::kMistral;
      return provider::kOpenAi;
    case Shape::openai_responses:
      return facts.azure ? provider::kAzureOpenAi : provider::kOpenAi;
    case Shape::anthropic:
      return provider::kAnthropic;
    case Shape::gemini:
      return provider::kGemini;
    case Shape::bedrock:
      return provider::kBedrock;
    case Shape::cohere:
      return provider::kCohere;
    case Shape::ollama:
      return provider::kOllama;
    case Shape::llamacpp_native:
      return provider::kLlamaCpp;
    case Shape::unknown:
      break;
  }
  return {};
}

}  // namespace

Expected<Usage> normalize(const Facts& facts, Shape shape, std::string_view provider_hint) {
  if (shape == Shape::unknown) shape = facts.shape();
  // Anthropic and the Responses API share `input_tokens`/`output_tokens` but
  // count cache differently; without a cache field the body cannot tell, so a
  // hint decides.
  if (provider_hint == provider::kAnthropic && shape == Shape::openai_responses &&
      !facts.counts.input_details_cached_tokens && !facts.counts.input_details_cache_write_tokens) {
    shape = Shape::anthropic;
  }
  const RawCounts& c = facts.counts;
  Usage u;
  switch (shape) {
    case Shape::openai_chat:
      u.input_tokens = c.prompt_tokens;
      u.output_tokens = c.completion_tokens;
      u.cache_read_tokens = c.prompt_cached_tokens;
      u.reasoning_tokens = c.completion_reasoning_tokens;
      break;
    case Shape::openai_responses:
      u.input_tokens = c.input_tokens;
      u.output_tokens = c.output_tokens;
      u.cache_read_tokens = c.input_details_cached_tokens;
      u.cache_write_tokens = c.input_details_cache_write_tokens;
      u.reasoning_tokens = c.output_details_reasoning_tokens;
      break;
    case Shape::anthropic: {
      // input_tokens excludes cache reads and writes: add them back.
      Count write = c.cache_creation_input_tokens;
      if (!write) write = sum(c.ephemeral_5m_input_tokens, c.ephemeral_1h_input_tokens);
      u.input_tokens = sum3(c.input_tokens, c.cache_read_input_tokens, write);
      u.output_tokens = c.output_tokens;
      u.cache_read_tokens = c.cache_read_input_tokens;
      u.cache_write_tokens = write;
      // The TTL breakdown has been seen to disagree with the total (0/0 beside
      // 2051); trust it only as far as it fits inside the total.
      if (c.ephemeral_1h_input_tokens && write && *c.ephemeral_1h_input_tokens <= *write) {
        u.cache_write_1h_tokens = c.ephemeral_1h_input_tokens;
      }
      break;
    }
    case Shape::gemini:
      // promptTokenCount includes cached content; candidatesTokenCount
      // excludes thinking, which is billed as output.
      u.input_tokens = c.prompt_token_count;
      u.cache_read_tokens = c.cached_content_token_count;
      u.output_tokens = sum(c.candidates_token_count, c.thoughts_token_count);
      u.reasoning_tokens = c.thoughts_token_count;
      break;
    case Shape::bedrock:
      // inputTokens excludes cache reads and writes, as with Anthropic.
      u.input_tokens =
          sum3(c.bedrock_input_tokens, c.bedrock_cache_read_tokens, c.bedrock_cache_write_tokens);
      u.output_tokens = c.bedrock_output_tokens;
      u.cache_read_tokens = c.bedrock_cache_read_tokens;
      u.cache_write_tokens = c.bedrock_cache_write_tokens;
      break;
    case Shape::cohere:
      // Model tokens are the usage (they include the cached prompt tokens);
      // billed units, when present, are what costs money.
      u.input_tokens = c.cohere_input_tokens ? c.cohere_input_tokens : c.billed_input_tokens;
      u.output_tokens = c.cohere_output_tokens ? c.cohere_output_tokens : c.billed_output_tokens;
      u.cache_read_tokens = c.cohere_cached_tokens;
      u.billed_input_tokens = c.billed_input_tokens;
      u.billed_output_tokens = c.billed_output_tokens;
      break;
    case Shape::ollama:
      u.input_tokens = c.prompt_eval_count;
      u.output_tokens = c.eval_count;
      break;
    case Shape::llamacpp_native:
      u.input_tokens =
          c.tokens_evaluated ? c.tokens_evaluated : sum(c.timings_prompt_n, c.timings_cache_n);
      u.output_tokens = c.tokens_predicted ? c.tokens_predicted : c.timings_predicted_n;
      if (c.timings_cache_n && u.input_tokens && *c.timings_cache_n <= *u.input_tokens) {
        u.cache_read_tokens = c.timings_cache_n;
      }
      break;
    case Shape::unknown:
      break;
  }
  if (!u.has_tokens() && !u.billed_input_tokens && !u.billed_output_tokens) {
    return Error{Error::not_found, "the response reports no token usage"};
  }
  u.provider = std::string(provider_hint.empty() ? default_provider(facts, shape) : provider_hint);
  u.model = facts.model;
  u.response_id = facts.response_id;
  u.finish_reasons = facts.finish_reasons;
  if (Error err = validate(u)) return err;
  return u;
}

}  // namespace usage_internal

namespace {

Error check_part(const std::optional<int64_t>& part, const char* part_name,
                 const std::optional<int64_t>& total, const char* total_name) {
  if (part && total && *part > *total) {
    return Error{Error::invalid_argument, std::string(part_name) + " (" + std::to_string(*part) +
                                              ") exceeds " + total_name + " (" +
                                              std::to_string(*total) + ")"};
  }
  return {};
}

}  // namespace

namespace {

// The checks of validate() without building messages: usage is valid nearly
// always, and it is validated on every recorded call.
bool obviously_valid(const Usage& u) {
  auto non_negative = [](const std::optional<int64_t>& v) { return !v || *v >= 0; };
  auto within = [](const std::optional<int64_t>& part, const std::optional<int64_t>& total) {
    return !part || !total || *part <= *total;
  };
  if (!non_negative(u.input_tokens) || !non_negative(u.output_tokens) ||
      !non_negative(u.cache_read_tokens) || !non_negative(u.cache_write_tokens) ||
      !non_negative(u.reasoning_tokens) || !non_negative(u.cache_write_1h_tokens) ||
      !non_negative(u.billed_input_tokens) || !non_negative(u.billed_output_tokens)) {
    return false;
  }
  int64_t cache_total = 0;
  if (__builtin_add_overflow(u.cache_read_tokens.value_or(0), u.cache_write_tokens.value_or(0),
                             &cache_total)) {
    return false;
  }
  if ((u.cache_read_tokens || u.cache_write_tokens) && u.input_tokens &&
      cache_total > *u.input_tokens) {
    return false;
  }
  return within(u.cache_read_tokens, u.input_tokens) &&
         within(u.cache_write_tokens, u.input_tokens) &&
         within(u.reasoning_tokens, u.output_tokens) &&
         within(u.cache_write_1h_tokens, u.cache_write_tokens);
}

}  // namespace

Error validate(const Usage& usage) {
  if (obviously_valid(usage)) return {};
  const std::pair<const std::optional<int64_t>*, const char*> fields[] = {
      {&usage.input_tokens, "input_tokens"},
      {&usage.output_tokens, "output_tokens"},
      {&usage.cache_read_tokens, "cache_read_tokens"},
      {&usage.cache_write_tokens, "cache_write_tokens"},
      {&usage.reasoning_tokens, "reasoning_tokens"},
      {&usage.cache_write_1h_tokens, "cache_write_1h_tokens"},
      {&usage.billed_input_tokens, "billed_input_tokens"},
      {&usage.billed_output_tokens, "billed_output_tokens"},
  };
  for (const auto& [value, name] : fields) {
    if (*value && **value < 0) {
      return Error{Error::invalid_argument,
                   std::string(name) + " is negative (" + std::to_string(**value) + ")"};
    }
  }
  std::optional<int64_t> cache_total;
  if (usage.cache_read_tokens || usage.cache_write_tokens) {
    // Checked: a Usage may come from the caller, not only from extraction.
    const int64_t read = usage.cache_read_tokens.value_or(0);
    const int64_t write = usage.cache_write_tokens.value_or(0);
    int64_t total = 0;
    if (__builtin_add_overflow(read, write, &total)) {
      return Error{Error::invalid_argument, "cache token counts overflow"};
    }
    cache_total = total;
  }
  if (Error e = check_part(usage.cache_read_tokens, "cache_read_tokens", usage.input_tokens,
                           "input_tokens")) {
    return e;
  }
  if (Error e = check_part(usage.cache_write_tokens, "cache_write_tokens", usage.input_tokens,
                           "input_tokens")) {
    return e;
  }
  if (Error e = check_part(cache_total, "cache_read_tokens + cache_write_tokens",
                           usage.input_tokens, "input_tokens")) {
    return e;
  }
  if (Error e = check_part(usage.reasoning_tokens, "reasoning_tokens", usage.output_tokens,
                           "output_tokens")) {
    return e;
  }
  if (Error e = check_part(usage.cache_write_1h_tokens, "cache_write_1h_tokens",
                           usage.cache_write_tokens, "cache_write_tokens")) {
    return e;
  }
  return {};
}

Expected<Usage> extract_usage(std::string_view body, std::string_view provider_hint) {
  try {
    usage_internal::Facts facts;
    if (Error err = usage_internal::parse_facts(body, facts)) return err;
    return usage_internal::normalize(facts, usage_internal::Shape::unknown, provider_hint);
  } catch (const std::exception& e) {
    // Only allocation can throw here; report it rather than let it escape.
    return Error{Error::internal, std::string("usage extraction failed: ") + e.what()};
  }
}

}  // namespace convtrace
