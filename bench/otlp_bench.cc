// B5: encoding export requests from finished spans.
#include <benchmark/benchmark.h>

#include <unistd.h>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "bench_support.h"
#include "convtrace/attributes.h"
#include "genai_spans.h"
#include "otlp/otlp_json.h"
#include "otlp/otlp_proto.h"
#include "receiver/receiver.h"

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

// B11: exporting a 512-span batch of GenAI spans over a loopback connection
// to a receiver that accepts without storing (its decoder returns nothing),
// OTLP/HTTP protobuf and OTLP/gRPC: encoding, transport and acknowledgement,
// per span, on the exporting thread (CPU) and end to end (wall).
void export_loop(benchmark::State& state, OtlpHttpOptions::Protocol protocol) {
  std::string db = "/tmp/convtrace_bench_export_" + std::to_string(::getpid()) + ".db";
  auto store = Store::open(db);
  if (!store) {
    state.SkipWithError(store.error().message.c_str());
    return;
  }
  auto accept_all = [](std::string_view, receiver::Encoding) -> Expected<std::vector<SpanData>> {
    return std::vector<SpanData>{};
  };
  OtlpHttpOptions options;
  options.protocol = protocol;
  std::unique_ptr<receiver::Receiver> http;
#ifdef CONVTRACE_WITH_GRPC
  std::unique_ptr<receiver::GrpcReceiver> grpc;
#endif
  if (protocol == OtlpHttpOptions::Protocol::grpc) {
#ifdef CONVTRACE_WITH_GRPC
    receiver::GrpcReceiverOptions o;
    o.port = 0;
    auto started = receiver::GrpcReceiver::start(o, store->get(), accept_all);
    if (!started) {
      state.SkipWithError(started.error().message.c_str());
      return;
    }
    grpc = std::move(*started);
    options.endpoint = "http://127.0.0.1:" + std::to_string(grpc->port());
#else
    state.SkipWithError("this build has no gRPC");
    return;
#endif
  } else {
    receiver::ReceiverOptions o;
    o.port = 0;
    auto started = receiver::Receiver::start(o, store->get(), accept_all);
    if (!started) {
      state.SkipWithError(started.error().message.c_str());
      return;
    }
    http = std::move(*started);
    options.endpoint = "http://127.0.0.1:" + std::to_string(http->port()) + "/v1/traces";
  }
  auto exporter = make_otlp_http_exporter(options);
  if (!exporter) {
    state.SkipWithError(exporter.error().message.c_str());
    return;
  }
  Batch batch = make_batch(true);
  for (auto _ : state) {
    if ((*exporter)->export_batch(batch.view()) != ExportResult::success) {
      state.SkipWithError("export failed");
      break;
    }
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(kBatch));
  (*exporter)->shutdown(std::chrono::milliseconds(1000));
  std::remove(db.c_str());
}

void BM_B11_ExportHttpProtobuf512_GenAi(benchmark::State& state) {
  export_loop(state, OtlpHttpOptions::Protocol::http_protobuf);
}
BENCHMARK(BM_B11_ExportHttpProtobuf512_GenAi)->UseRealTime();

void BM_B11_ExportGrpc512_GenAi(benchmark::State& state) {
  export_loop(state, OtlpHttpOptions::Protocol::grpc);
}
BENCHMARK(BM_B11_ExportGrpc512_GenAi)->UseRealTime();

}  // namespace
}  // namespace convtrace::bench
