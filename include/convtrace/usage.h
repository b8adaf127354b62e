// Token usage: the normalized form, and extraction from provider responses.
//
// Providers count differently (Anthropic's and Bedrock's input counts exclude
// cache reads and writes, OpenAI's and Gemini's include them; Gemini's output
// count excludes thinking tokens, OpenAI's includes reasoning). `Usage` is the
// one normalized form, as the OpenTelemetry GenAI conventions count:
//   input_tokens  = every input token, including cache reads and cache writes;
//   output_tokens = every output token, including reasoning;
//   cache_read / cache_write / reasoning are parts of those totals, never extra.
// A field that the provider did not report is empty (std::nullopt), never 0.
//
// All functions here are thread-safe and never throw.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"

namespace convtrace {

struct Usage {
  std::optional<int64_t> input_tokens;        // total input incl. cache read + write
  std::optional<int64_t> output_tokens;       // total output incl. reasoning
  std::optional<int64_t> cache_read_tokens;   // part of input_tokens
  std::optional<int64_t> cache_write_tokens;  // part of input_tokens
  std::optional<int64_t> reasoning_tokens;    // part of output_tokens
  // Cache writes with a 1-hour lifetime (Anthropic), a part of cache_write_tokens;
  // priced at the model's 1-hour write price when it has one.
  std::optional<int64_t> cache_write_1h_tokens;

  // What the provider bills, when that differs from the model tokens above.
  // Only Cohere reports this (`billed_units`): its token counts include prompt
  // template tokens it does not charge for, so the counts above follow the
  // GenAI conventions (model tokens, `usage.tokens`) and these hold the billed
  // units. When set, compute_cost prices these instead of the token counts.
  std::optional<int64_t> billed_input_tokens;
  std::optional<int64_t> billed_output_tokens;

  std::string provider;  // GenAI convention value: "openai", "anthropic", "gcp.gemini", …
  std::string model;     // response model as reported
  std::string response_id;
  std::vector<std::string> finish_reasons;

  // True when at least one token count is present.
  bool has_tokens() const {
    return input_tokens || output_tokens || cache_read_tokens || cache_write_tokens ||
           reasoning_tokens;
  }
};

// Checks the invariants above (no negative counts, including billed ones;
// cache_read + cache_write <= input, reasoning <= output, 1-hour writes <=
// writes). Returns an invalid_argument error naming the field otherwise, or
// an Error with code ok.
Error validate(const Usage& usage);

// Provider names as the GenAI semantic conventions spell them.
namespace provider {
inline constexpr std::string_view kOpenAi = "openai";
inline constexpr std::string_view kAzureOpenAi = "azure.ai.openai";
inline constexpr std::string_view kAnthropic = "anthropic";
inline constexpr std::string_view kGemini = "gcp.gemini";
inline constexpr std::string_view kVertexAi = "gcp.vertex_ai";
inline constexpr std::string_view kBedrock = "aws.bedrock";
inline constexpr std::string_view kMistral = "mistral_ai";
inline constexpr std::string_view kCohere = "cohere";
inline constexpr std::string_view kOllama = "ollama";
inline constexpr std::string_view kLlamaCpp = "llama.cpp";
}  // namespace provider

// Extracts usage from one complete (non-streamed) response body.
//
// Recognized shapes: OpenAI Chat Completions (also Azure OpenAI, Mistral, and
// llama.cpp's OpenAI-compatible server), OpenAI Responses (a Response object or
// a `response.*` stream event), OpenAI and Cohere embeddings, Anthropic
// Messages, Gemini generateContent (`usageMetadata`), Bedrock Converse, Cohere
// v2 chat, Ollama /api/chat and /api/generate, llama.cpp /completion. A single
// stream chunk of any of these is accepted too.
//
// Normalization choices worth knowing:
//  - Gemini: output = candidatesTokenCount + thoughtsTokenCount, reasoning =
//    thoughtsTokenCount; input = promptTokenCount (toolUsePromptTokenCount is
//    not added: it is reported separately and not part of the prompt count).
//  - Anthropic: cache writes are the top-level `cache_creation_input_tokens`;
//    the per-TTL breakdown only supplies the 1-hour part, and is ignored when
//    it exceeds the top-level figure.
//  - Cohere: see Usage::billed_input_tokens.
//  - Provider detection without a hint: Azure when `prompt_filter_results` is
//    present, Mistral when the model is a Mistral family name, llama.cpp when
//    `timings` is present, else OpenAI for the Chat Completions shape.
// Values the extractor skips over are not validated as JSON.
//
// `provider_hint` names the provider (a value from `provider::`, or any other
// name for an OpenAI-compatible service); empty means detect it from the
// body's shape. The counting rules always follow the body's shape; the hint
// only names the provider, and settles Anthropic-versus-Responses counting for
// a body without cache fields. Errors: parse_error (malformed JSON, with
// the byte offset), invalid_argument (wrong types, negative or out-of-range
// numbers), not_found (the body has no usage, e.g. an Ollama "load" reply).
Expected<Usage> extract_usage(std::string_view body, std::string_view provider_hint = {});

// What a provider request body, and the URL it is sent to, say about a call:
// the GenAI conventions' gen_ai.request.* parameters, the model and the server.
// Fields the request does not set stay empty.
struct RequestParams {
  std::string provider;  // from the hint, else the URL's host, else the body's shape
  // The body's "model", else the URL's (Gemini ".../models/NAME:generateContent",
  // Bedrock ".../model/ID/converse").
  std::string model;
  std::optional<double> temperature, top_p, top_k, frequency_penalty, presence_penalty;
  std::optional<int64_t> max_tokens;    // max_tokens, max_completion_tokens, max_output_tokens,
                                        // maxOutputTokens, maxTokens, num_predict, n_predict
  std::optional<int64_t> seed;          // seed, random_seed
  std::optional<int64_t> choice_count;  // n, candidateCount — only when not 1
  std::optional<bool> stream;           // the "stream" flag, or a streaming URL
  std::vector<std::string> stop_sequences;
  std::string server_address;          // the URL's host
  std::optional<int64_t> server_port;  // the URL's port, else the scheme's
};

// Reads the request parameters of one request body of any provider that
// extract_usage reads (OpenAI Chat Completions and Responses, Azure OpenAI,
// Mistral, Anthropic Messages, Gemini generateContent, Bedrock Converse,
// Cohere v2 chat, Ollama /api/chat and /api/generate, llama.cpp /completion,
// embeddings), with the server and, where the body lacks them, the model and
// the streaming mode from `url`. An empty body gives what the URL says.
// Errors: parse_error (malformed JSON, or a body that is not an object),
// invalid_argument (a URL that is not http:// or https://).
Expected<RequestParams> parse_request(std::string_view body, std::string_view provider_hint = {},
                                      std::string_view url = {});

// Accumulates a streamed response, fed raw bytes as they arrive (SSE `data:`
// lines, JSON lines, or newline-separated JSON chunks; any split is fine).
// Each `data:` line or JSON line is one chunk; `event:`, `id:`, comments,
// `[DONE]` and lines that are not JSON (e.g. a literal `...`) are skipped.
// Counts are merged field by field, the last reported value winning: every
// supported provider reports cumulative figures (Anthropic `message_delta`,
// Gemini chunks) or reports them once (OpenAI's final chunk, Bedrock
// `metadata`, Ollama's `done` chunk, Cohere `message-end`,
// OpenAI `response.completed`). A line longer than 16 MiB is dropped and
// counted as bad. Not thread-safe: one per stream.
class StreamAccumulator {
 public:
  explicit StreamAccumulator(std::string_view provider_hint = {});
  ~StreamAccumulator();
  StreamAccumulator(StreamAccumulator&&) noexcept;
  StreamAccumulator& operator=(StreamAccumulator&&) noexcept;

  // Feeds the next bytes of the stream. Never fails; bad chunks are counted.
  void feed(std::string_view bytes);
  // Ends the stream. Returns the final usage, or not_found when the stream
  // carried no usage (it never invents numbers).
  Expected<Usage> finish();

  // Time (steady clock) from construction to the first chunk that parsed as
  // JSON; empty before any chunk arrived.
  std::optional<std::chrono::nanoseconds> time_to_first_chunk() const;
  // Number of chunks that could not be used: malformed JSON in a `data:` or
  // JSON line, bad counts, or an over-long line.
  uint64_t bad_chunks() const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace convtrace
