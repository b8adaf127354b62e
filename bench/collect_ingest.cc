// B8: `convtrace collect` ingest. The receiver behind the command (same
// options, OTLP decoder and SQLite store) serves 127.0.0.1 on a free port;
// client threads post protobuf ExportTraceServiceRequests of 512 GenAI spans
// (21 attributes each) over keep-alive connections until a span count or a
// time limit is reached. The figure is spans committed to the store per second.
//
//   convtrace_bench_collect [--spans=N] [--seconds=S] [--clients=C]
//
// Every request carries new trace ids, so every span is written. The load
// generator runs in the same process and on the same cores as the receiver;
// the process CPU time printed covers both.
#include <httplib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "bench_support.h"
#include "convtrace/store.h"
#include "genai_spans.h"
#include "otlp/otlp_proto.h"
#include "receiver/receiver.h"

namespace convtrace::bench {
namespace {

double process_cpu_seconds() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// An encoded request whose trace ids can be renewed in place: the offsets of
// the 16 trace-id bytes of each span in the body.
struct RequestTemplate {
  std::string body;
  std::vector<size_t> trace_id_offsets;
};

RequestTemplate make_template() {
  Batch batch = make_batch(true);
  // Bytes 0..7 become the request number, bytes 8..9 the span's index: unique
  // across requests and within one.
  for (size_t i = 0; i < batch.spans.size(); ++i) {
    uint8_t* id = batch.spans[i].trace_id.bytes.data();
    for (size_t b = 0; b < 8; ++b) id[b] = 0;
    id[8] = static_cast<uint8_t>(i);
    id[9] = static_cast<uint8_t>(i >> 8);
  }
  RequestTemplate t;
  t.body = otlp::encode_trace_request(batch.view());
  size_t from = 0;
  for (const SpanData& s : batch.spans) {
    // Span.trace_id is field 1, length-delimited: tag 0x0a, length 0x10.
    std::string needle = "\x0a\x10";
    needle.append(reinterpret_cast<const char*>(s.trace_id.bytes.data()), 16);
    size_t at = t.body.find(needle, from);
    if (at == std::string::npos) {
      std::fprintf(stderr, "bench: trace id of span not found in the encoded request\n");
      std::exit(2);
    }
    t.trace_id_offsets.push_back(at + 2);
    from = at + needle.size();
  }
  return t;
}

int run(uint64_t max_spans, uint64_t max_seconds, unsigned clients) {
  char pattern[] = "/tmp/convtrace-bench-XXXXXX";
  char* dir = mkdtemp(pattern);
  if (!dir) {
    std::perror("bench: mkdtemp");
    return 2;
  }
  std::string path = std::string(dir) + "/collect.db";
  int rc = 0;
  {
    auto store = Store::open(path);
    if (!store) {
      std::fprintf(stderr, "bench: %s\n", store.error().message.c_str());
      return 2;
    }
    receiver::ReceiverOptions options;  // as `convtrace collect` sets them
    options.port = 0;
    auto server = receiver::Receiver::start(options, store->get(),
                                            receiver::otlp_decoder(options.max_body_bytes));
    if (!server) {
      std::fprintf(stderr, "bench: %s\n", server.error().message.c_str());
      return 2;
    }
    int port = (*server)->port();
    const RequestTemplate tmpl = make_template();

    std::atomic<uint64_t> next_request{0}, posted_spans{0}, failures{0};
    const uint64_t max_requests = (max_spans + kBatch - 1) / kBatch;
    auto start = std::chrono::steady_clock::now();
    auto deadline = start + std::chrono::seconds(max_seconds);
    double cpu_start = process_cpu_seconds();

    std::vector<std::thread> threads;
    for (unsigned c = 0; c < clients; ++c) {
      threads.emplace_back([&] {
        httplib::Client client("127.0.0.1", port);
        client.set_keep_alive(true);
        client.set_read_timeout(60, 0);
        std::string body = tmpl.body;
        while (std::chrono::steady_clock::now() < deadline) {
          uint64_t n = next_request.fetch_add(1) + 1;
          if (n > max_requests) break;
          for (size_t at : tmpl.trace_id_offsets) {
            for (size_t b = 0; b < 8; ++b) body[at + b] = static_cast<char>(n >> (8 * b));
          }
          auto res = client.Post("/v1/traces", body, "application/x-protobuf");
          if (!res || res->status != 200) {
            ++failures;
            continue;
          }
          posted_spans += kBatch;
        }
      });
    }
    for (auto& t : threads) t.join();
    double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double cpu = process_cpu_seconds() - cpu_start;
    (*server)->stop();
    receiver::ReceiverStats stats = (*server)->stats();
    auto stored = (*store)->span_count();
    int64_t committed = stored ? *stored : -1;
    if (committed != static_cast<int64_t>(posted_spans.load())) rc = 1;
    std::printf(
        "B8 clients=%u spans=%lld seconds=%.3f spans_per_s=%.0f requests=%llu rejected=%llu "
        "failures=%llu request_bytes=%zu process_cpu_s=%.3f cpu_per_span_us=%.2f\n",
        clients, static_cast<long long>(committed), seconds,
        static_cast<double>(committed) / seconds, static_cast<unsigned long long>(stats.requests),
        static_cast<unsigned long long>(stats.rejected),
        static_cast<unsigned long long>(failures.load()), tmpl.body.size(), cpu,
        committed > 0 ? cpu * 1e6 / static_cast<double>(committed) : 0.0);
    if (rc)
      std::fprintf(stderr, "bench: %lld spans stored, %llu acknowledged\n",
                   static_cast<long long>(committed),
                   static_cast<unsigned long long>(posted_spans.load()));
  }
  for (const char* suffix : {"", "-wal", "-shm"}) std::remove((path + suffix).c_str());
  rmdir(dir);
  return rc;
}

}  // namespace
}  // namespace convtrace::bench

int main(int argc, char** argv) {
  uint64_t spans = convtrace::bench::flag_value(argc, argv, "--spans", 300000);
  uint64_t seconds = convtrace::bench::flag_value(argc, argv, "--seconds", 20);
  auto clients = static_cast<unsigned>(convtrace::bench::flag_value(argc, argv, "--clients", 4));
  return convtrace::bench::run(spans, seconds, clients == 0 ? 1 : clients);
}
