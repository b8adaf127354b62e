// B5: encoding export requests from finished spans.
#include <benchmark/benchmark.h>

#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "convtrace/attributes.h"
#include "genai_spans.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"

namespace convtrace::bench {
namespace {

template <typename Encoder>
void encode_loop(benchmark::State& state, bool genai) {
  Batch batch = make_batch(genai);
  Encoder encoder;  // long-lived, as in the exporter: buffers are reused
  std::string out;
  for (auto _ : state) {
    encoder.encode(batch.view(), out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(out.size()));
}

void BM_B5_OtlpProtobuf512_GenAi(benchmark::State& state) {
  encode_loop<otlp::TraceRequestEncoder>(state, true);
}
BENCHMARK(BM_B5_OtlpProtobuf512_GenAi);

void BM_B5_OtlpProtobuf512_8Attr(benchmark::State& state) {
  encode_loop<otlp::TraceRequestEncoder>(state, false);
}
BENCHMARK(BM_B5_OtlpProtobuf512_8Attr);

void BM_B5_OtlpJson512_GenAi(benchmark::State& state) {
  encode_loop<otlp::TraceRequestJsonEncoder>(state, true);
}
BENCHMARK(BM_B5_OtlpJson512_GenAi);

void BM_B5_OtlpJson512_8Attr(benchmark::State& state) {
  encode_loop<otlp::TraceRequestJsonEncoder>(state, false);
}
BENCHMARK(BM_B5_OtlpJson512_8Attr);

}  // namespace
}  // namespace convtrace::bench
