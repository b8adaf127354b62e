// Finished spans shaped as the SDK emits them, shared by the benchmarks that
// encode (B5), store (B7) and send (B8) them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "convtrace/attributes.h"
#include "convtrace/convtrace.h"

namespace convtrace::bench {

inline constexpr size_t kBatch = 512;  // the default OTEL_BSP_MAX_EXPORT_BATCH_SIZE

inline std::shared_ptr<const Resource> bench_resource() {
  auto r = std::make_shared<Resource>();
  r->attributes = {{std::string(attr::kServiceName), std::string("support-bot")},
                   {std::string(attr::kSdkName), std::string("convtrace")},
                   {std::string(attr::kSdkLanguage), std::string("cpp")},
                   {std::string(attr::kSdkVersion), std::string("0.1.0")}};
  return r;
}

inline void fill_ids(SpanData& s, size_t i) {
  for (size_t b = 0; b < 16; ++b) s.trace_id.bytes[b] = static_cast<uint8_t>(i * 31 + b + 1);
  for (size_t b = 0; b < 8; ++b) s.span_id.bytes[b] = static_cast<uint8_t>(i * 17 + b + 1);
  for (size_t b = 0; b < 8; ++b) s.parent_span_id.bytes[b] = static_cast<uint8_t>(i * 13 + b + 1);
  s.flags = 1;
  s.start_unix_nano = 1741569952000000000ULL + i * 1000;
  s.end_unix_nano = s.start_unix_nano + 850000000ULL;
}

// The span of an observed LLM call in a conversation and a workflow, with the
// attributes the SDK gives it (21).
inline SpanData genai_span(size_t i, const std::shared_ptr<const Resource>& resource,
                           const std::shared_ptr<const InstrumentationScope>& scope) {
  SpanData s;
  fill_ids(s, i);
  s.name = "chat gpt-4o";
  s.kind = SpanKind::client;
  s.resource = resource;
  s.scope = scope;
  auto& a = s.attributes;
  a.push_back({std::string(attr::kConversationId), std::string("support_789")});
  a.push_back({std::string(attr::kConversationTurn), int64_t{3}});
  a.push_back({std::string(attr::kUserId), std::string("user_123")});
  a.push_back({std::string(attr::kWorkflowId), std::string("rag_12345")});
  a.push_back({std::string(attr::kWorkflowType), std::string("rag")});
  a.push_back({std::string(attr::kSpanKind), std::string("llm")});
  a.push_back({std::string(attr::kOperationName), std::string("chat")});
  a.push_back({std::string(attr::kRequestModel), std::string("gpt-4o")});
  a.push_back({std::string(attr::kProviderName), std::string("openai")});
  a.push_back({std::string(attr::kInputTokens), int64_t{1200}});
  a.push_back({std::string(attr::kOutputTokens), int64_t{350}});
  a.push_back({std::string(attr::kCacheReadInputTokens), int64_t{1024}});
  a.push_back({std::string(attr::kResponseModel), std::string("gpt-4o-2024-08-06")});
  a.push_back({std::string(attr::kResponseId), std::string("chatcmpl-B9MBs8CjcvOU2jLn4n570S5")});
  a.push_back({std::string(attr::kResponseFinishReasons), std::vector<std::string>{"stop"}});
  a.push_back({std::string(attr::kCostUsd), 0.00444});
  a.push_back({std::string(attr::kInputCostUsd), 0.00094});
  a.push_back({std::string(attr::kOutputCostUsd), 0.0035});
  a.push_back({std::string(attr::kCostGeneric), 0.00444});
  a.push_back({std::string(attr::kCostPicoUsd), int64_t{4440000000}});
  a.push_back({std::string(attr::kPricedAs), std::string("gpt-4o")});
  return s;
}

// A span shaped like B1's: 8 attributes (3 strings, 3 ints, 2 doubles).
inline SpanData plain_span(size_t i, const std::shared_ptr<const Resource>& resource,
                           const std::shared_ptr<const InstrumentationScope>& scope) {
  SpanData s;
  fill_ids(s, i);
  s.name = "GET /v1/chat";
  s.resource = resource;
  s.scope = scope;
  s.attributes = {{"http.request.method", std::string("POST")},
                  {"url.path", std::string("/v1/chat/completions")},
                  {"server.address", std::string("api.example.com")},
                  {"http.response.status_code", int64_t{200}},
                  {"server.port", int64_t{443}},
                  {"app.retry_count", int64_t{0}},
                  {"app.latency_budget_ms", 250.5},
                  {"app.sample_weight", 0.75}};
  return s;
}

struct Batch {
  std::vector<SpanData> spans;
  std::vector<const SpanData*> pointers;
  SpanBatch view() const { return SpanBatch(pointers.data(), pointers.size()); }
};

inline Batch make_batch(bool genai) {
  auto resource = bench_resource();
  auto scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"convtrace", "0.1.0"});
  Batch b;
  b.spans.reserve(kBatch);
  for (size_t i = 0; i < kBatch; ++i) {
    b.spans.push_back(genai ? genai_span(i, resource, scope) : plain_span(i, resource, scope));
  }
  for (const SpanData& s : b.spans) b.pointers.push_back(&s);
  return b;
}

}  // namespace convtrace::bench
