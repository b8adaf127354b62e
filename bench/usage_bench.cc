// B6: usage extraction from provider response bodies.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "bench_support.h"

namespace convtrace::bench {
namespace {

constexpr size_t kBodySize = 2048;

// A recorded provider response, its reply text lengthened so the body is
// 2 KB — a typical short chat answer — and the parser has to walk past it.
std::string body_of(const char* file, const std::string& reply_text) {
  std::ifstream in(std::string(CONVTRACE_FIXTURES) + "/" + file);
  std::stringstream buf;
  buf << in.rdbuf();
  std::string body = buf.str();
  size_t at = body.find(reply_text);
  if (at == std::string::npos || body.size() >= kBodySize) {
    std::fprintf(stderr, "bench: fixture %s is not as expected\n", file);
    std::exit(2);
  }
  std::string longer = reply_text;
  const std::string filler = " The answer continues with more words about the question.";
  while (body.size() - reply_text.size() + longer.size() + filler.size() <= kBodySize) {
    longer += filler;
  }
  body.replace(at, reply_text.size(), longer);
  return body;
}

void extract_loop(benchmark::State& state, const std::string& body) {
  for (auto _ : state) {
    Expected<Usage> usage = extract_usage(body);
    if (!usage) state.SkipWithError(usage.error().message.c_str());
    benchmark::DoNotOptimize(usage);
  }
  state.SetItemsProcessed(state.iterations());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(body.size()));
  state.counters["body_bytes"] = static_cast<double>(body.size());
}

void BM_B6_ExtractUsage_OpenAI2KB(benchmark::State& state) {
  static const std::string body =
      body_of("openai_chat_completion.json", "Hello! How can I assist you today?");
  extract_loop(state, body);
}
BENCHMARK(BM_B6_ExtractUsage_OpenAI2KB);

void BM_B6_ExtractUsage_Anthropic2KB(benchmark::State& state) {
  static const std::string body = body_of("anthropic_messages.json", "Hi! My name is Claude.");
  extract_loop(state, body);
}
BENCHMARK(BM_B6_ExtractUsage_Anthropic2KB);

}  // namespace
}  // namespace convtrace::bench
