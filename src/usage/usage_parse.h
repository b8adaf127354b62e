// Private to the usage module: the raw figures of one response body or stream
// chunk, as the provider reported them, before normalization.
//
// Extraction is two steps so that streams can merge chunks field by field and
// normalize once at the end, with the same rules as a complete body.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/usage.h"

namespace convtrace::usage_internal {

using Count = std::optional<int64_t>;

// Every provider field the extractor reads. Names follow the provider's own.
struct RawCounts {
  // OpenAI Chat Completions, Mistral, llama.cpp (OpenAI-compatible).
  Count prompt_tokens, completion_tokens, prompt_cached_tokens, completion_reasoning_tokens;
  // OpenAI Responses, Anthropic.
  Count input_tokens, output_tokens;
  Count input_details_cached_tokens, input_details_cache_write_tokens;
  Count output_details_reasoning_tokens;
  Count cache_read_input_tokens, cache_creation_input_tokens;
  Count ephemeral_5m_input_tokens, ephemeral_1h_input_tokens;
  // Bedrock Converse.
  Count bedrock_input_tokens, bedrock_output_tokens;
  Count bedrock_cache_read_tokens, bedrock_cache_write_tokens;
  // Cohere.
  Count billed_input_tokens, billed_output_tokens;
  Count cohere_input_tokens, cohere_output_tokens, cohere_cached_tokens;
  // Gemini usageMetadata.
  Count prompt_token_count, candidates_token_count, cached_content_token_count;
  Count thoughts_token_count;
  // Ollama.
  Count prompt_eval_count, eval_count;
  // llama.cpp /completion.
  Count tokens_evaluated, tokens_predicted, timings_prompt_n, timings_predicted_n, timings_cache_n;

  // Copies every count `later` reports over this one's.
  void merge_from(const RawCounts& later);
  bool any() const;
};

// Shapes whose counting rules differ.
enum class Shape {
  unknown,
  openai_chat,
  openai_responses,
  anthropic,
  gemini,
  bedrock,
  cohere,
  ollama,
  llamacpp_native,
};

// What one body or chunk said.
struct Facts {
  RawCounts counts;
  std::string model;
  std::string response_id;
  std::vector<std::string> finish_reasons;

  // Shape markers seen while walking the document.
  bool gemini = false;
  bool bedrock = false;
  bool cohere = false;
  bool anthropic = false;
  bool responses = false;
  bool openai_chat = false;
  bool ollama = false;
  bool llamacpp_native = false;
  bool llamacpp_timings = false;
  bool azure = false;

  // The shape these markers point to; unknown when they are not decisive.
  Shape shape() const;
};

// Parses one JSON document into `facts`. Errors: parse_error (with the byte
// offset), invalid_argument (a count of the wrong type or out of range).
Error parse_facts(std::string_view json, Facts& facts);

// Turns raw facts into normalized usage. `shape` unknown means detect from the
// markers; `provider_hint` non-empty names the provider. Returns not_found when
// no count was reported, invalid_argument when the counts are inconsistent.
Expected<Usage> normalize(const Facts& facts, Shape shape, std::string_view provider_hint);

}  // namespace convtrace::usage_internal
