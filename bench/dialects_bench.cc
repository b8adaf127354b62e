// B12: reading other SDKs' GenAI attributes (src/dialects), per attribute and per span.
#include <benchmark/benchmark.h>

#include "dialects/dialects.h"
#include "dialects/ingest.h"
#include "genai_spans.h"

namespace convtrace::bench {
namespace {

// The attribute keys of a GenAI span and of an HTTP span: what is_known_key
// sees for every attribute of a span from another SDK.
std::vector<std::string> mixed_keys() {
  std::vector<std::string> keys;
  SpanData genai = genai_span(0, nullptr, nullptr);
  SpanData plain = plain_span(0, nullptr, nullptr);
  for (const Attribute& a : genai.attributes) keys.push_back(a.key);
  for (const Attribute& a : plain.attributes) keys.push_back(a.key);
  keys.push_back("llm.token_count.prompt");
  keys.push_back("ai.usage.inputTokens");
  return keys;
}

void BM_B12_IsKnownKey(benchmark::State& state) {
  static const std::vector<std::string> keys = mixed_keys();
  size_t known = 0;
  for (auto _ : state) {
    for (const std::string& key : keys) known += dialects::is_known_key(key) ? 1 : 0;
  }
  benchmark::DoNotOptimize(known);
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(keys.size()));
}
BENCHMARK(BM_B12_IsKnownKey);

void BM_B12_ReadSpan_GenAi(benchmark::State& state) {
  static const SpanData span = genai_span(0, nullptr, nullptr);
  for (auto _ : state) {
    dialects::SpanReading r = dialects::read_span(span.attributes);
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_B12_ReadSpan_GenAi);

// What the store's ingest adds per span: reading, and pricing a span of
// another SDK that carries tokens but no cost (an OpenInference LLM span).
void BM_B12_ReadForStore_OpenInference(benchmark::State& state) {
  static const std::vector<Attribute> attrs = {
      {std::string(attr::kOpenInferenceSpanKind), std::string("LLM")},
      {std::string(attr::kOiModelName), std::string("gpt-4o-2024-08-06")},
      {std::string(attr::kOiProvider), std::string("openai")},
      {std::string(attr::kOiPromptTokens), int64_t{1200}},
      {std::string(attr::kOiCacheReadTokens), int64_t{1024}},
      {std::string(attr::kOiCompletionTokens), int64_t{350}},
      {std::string(attr::kOiTotalTokens), int64_t{1550}},
      {std::string(attr::kSessionId), std::string("support_789")},
      {std::string(attr::kUserId), std::string("user_123")},
      {std::string(attr::kOiInputValue), std::string("{\"model\":\"gpt-4o\"}")},
  };
  dialects::IngestPricer pricer;
  for (auto _ : state) {
    dialects::IngestColumns c = dialects::read_for_store(attrs, pricer);
    benchmark::DoNotOptimize(c);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_B12_ReadForStore_OpenInference);

}  // namespace
}  // namespace convtrace::bench
