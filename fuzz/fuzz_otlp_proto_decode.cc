// Fuzzes the OTLP protobuf request and response decoders: any input must give
// spans or an error, never a crash, hang or sanitizer report. Decoded spans
// hold only valid UTF-8, whatever bytes came in. Inputs that decode are
// re-encoded and decoded again, which must succeed without repairs.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/utf8.h"
#include "otlp/otlp_proto.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convtrace;
  std::string_view body(reinterpret_cast<const char*>(data), size);
  otlp::DecodeLimits limits;
  limits.max_decoded_bytes = size_t{64} << 20;
  auto spans = otlp::decode_trace_request(body, limits);
  if (spans) {
    std::vector<const SpanData*> ptrs;
    for (const SpanData& s : *spans) ptrs.push_back(&s);
    for (const SpanData& s : *spans) {
      if (!utf8::valid(s)) __builtin_trap();
    }
    std::string again = otlp::encode_trace_request(SpanBatch(ptrs.data(), ptrs.size()));
    otlp::DecodeStats stats;
    auto round = otlp::decode_trace_request(again, {}, &stats);
    if (!round || round->size() != spans->size() || stats.repaired_strings != 0) __builtin_trap();
  }
  (void)otlp::decode_trace_response(body);
  return 0;
}
