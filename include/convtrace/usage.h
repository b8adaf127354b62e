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

// Checks the invariants above (no negative counts, parts not larger than totals).
// Returns an invalid_argument error naming the field otherwise.
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
// `provider_hint` names the provider (a value from `provider::`); empty means
// detect it from the body's shape. Errors: parse_error (malformed JSON, with
// the byte offset), invalid_argument (wrong types, negative or out-of-range
// numbers), not_found (the body has no usage, e.g. an Ollama "load" reply).
Expected<Usage> extract_usage(std::string_view body, std::string_view provider_hint = {});

// Accumulates a streamed response, fed raw bytes as they arrive (SSE `data:`
// lines, JSON lines, or newline-separated JSON chunks; any split is fine).
// Lines it does not understand are skipped. Not thread-safe: one per stream.
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

  // Time from construction to the first chunk that carried content; empty
  // before any chunk arrived.
  std::optional<std::chrono::nanoseconds> time_to_first_chunk() const;
  // Number of lines that could not be parsed.
  uint64_t bad_chunks() const;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace convtrace
