// OTLP requests for the tests of `convtrace collect`.
#pragma once

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "convtrace/attributes.h"
#include "convtrace/span_data.h"
#include "otlp/otlp_proto.h"

namespace convtrace::testing {

// `n` spans of one trace; `seed` makes the trace id unique.
inline std::vector<SpanData> make_spans(uint32_t seed, int n = 3) {
  auto resource = std::make_shared<Resource>();
  resource->attributes = {{std::string(attr::kServiceName), std::string("svc")}};
  auto scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"test", "1"});
  std::vector<SpanData> out;
  for (int i = 0; i < n; ++i) {
    SpanData s;
    s.trace_id.bytes[0] = 0x7e;
    std::memcpy(&s.trace_id.bytes[8], &seed, sizeof seed);
    s.span_id.bytes[0] = static_cast<uint8_t>(i + 1);
    if (i > 0) s.parent_span_id.bytes[0] = 1;
    s.name = i == 0 ? "turn" : "chat";
    s.start_unix_nano = 1700000000000000000ULL + seed * 1000ULL + static_cast<uint64_t>(i);
    s.end_unix_nano = s.start_unix_nano + 10;
    s.attributes = {{std::string(attr::kConversationId), "conv_" + std::to_string(seed % 7)},
                    {std::string(attr::kInputTokens), int64_t{10 + i}},
                    {std::string(attr::kCostPicoUsd), int64_t{1000 * (i + 1)}},
                    {"app.custom", std::vector<std::string>{"x", "y"}}};
    s.resource = resource;
    s.scope = scope;
    out.push_back(std::move(s));
  }
  return out;
}

inline std::string protobuf_body(const std::vector<SpanData>& spans) {
  std::vector<const SpanData*> p;
  for (const auto& s : spans) p.push_back(&s);
  return otlp::encode_trace_request(SpanBatch(p.data(), p.size()));
}

}  // namespace convtrace::testing
