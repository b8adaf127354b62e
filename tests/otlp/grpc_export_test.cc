// OTLP/gRPC export: convtrace's span and metric exporters sending to a gRPC
// endpoint written with @grpc/grpc-js that decodes every request with the
// official opentelemetry-proto schema (tests/node/grpc_sink.js).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>

#include "convtrace/convtrace.h"
#include "otlp/sample_spans.h"
#include "support/node.h"

namespace convtrace {
namespace {

using nlohmann::json;

// The sink, started with popen: its first line is "listening PORT".
class Sink {
 public:
  Sink(int calls, bool unavailable_once) {
    out_ = std::string(::testing::TempDir()) + "grpc_sink_" + std::to_string(::getpid()) + ".jsonl";
    std::remove(out_.c_str());
    std::string cmd = "node '" + (testing::node_dir() / "grpc_sink.js").string() + "' '" + out_ +
                      "' " + std::to_string(calls) + (unavailable_once ? " unavailable-once" : "");
    pipe_ = popen(cmd.c_str(), "r");
    char line[128] = {};
    if (pipe_ && fgets(line, sizeof line, pipe_)) std::sscanf(line, "listening %d", &port_);
  }
  ~Sink() {
    if (pipe_) pclose(pipe_);
  }
  int port() const { return port_; }
  // Waits for the sink to exit (after its calls, bounded by its own timeout)
  // and returns what it decoded.
  std::vector<json> calls() {
    if (pipe_) pclose(pipe_);
    pipe_ = nullptr;
    std::vector<json> out;
    std::ifstream f(out_);
    for (std::string line; std::getline(f, line);) out.push_back(json::parse(line));
    std::remove(out_.c_str());
    return out;
  }

 private:
  FILE* pipe_ = nullptr;
  int port_ = 0;
  std::string out_;
};

OtlpHttpOptions grpc_options(int port) {
  OtlpHttpOptions o;
  o.protocol = OtlpHttpOptions::Protocol::grpc;
  o.endpoint = "http://127.0.0.1:" + std::to_string(port);
  o.headers = {{"X-Api-Key", "secret-value"}};
  o.retry_initial_backoff = std::chrono::milliseconds(10);
  o.timeout = std::chrono::seconds(20);
  o.background_delivery = false;  // the tests read each export's own result
  return o;
}

TEST(GrpcExport, SpansDecodeWithTheOfficialSchemaAfterARetry) {
  CONVTRACE_REQUIRE_NODE_PACKAGE("@grpc/grpc-js");
  Sink sink(1, /*unavailable_once=*/true);
  ASSERT_GT(sink.port(), 0);
  auto exporter = make_otlp_http_exporter(grpc_options(sink.port()));
  ASSERT_TRUE(exporter) << exporter.error().message;
  std::vector<SpanData> spans = testing::sample_spans();
  std::vector<const SpanData*> ptrs = testing::pointers(spans);
  SpanBatch batch(ptrs.data(), ptrs.size());
  EXPECT_EQ((*exporter)->export_batch(batch), ExportResult::success);
  auto stats = otlp_exporter_stats(**exporter);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->retries, 1u);  // UNAVAILABLE is retryable
  EXPECT_EQ(stats->exported_spans, batch.size());
  std::vector<json> calls = sink.calls();
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0]["method"], "traces");
  EXPECT_EQ(calls[0]["metadata"]["x-api-key"], "secret-value");
  size_t decoded = 0;
  bool first_found = false;
  for (const json& rs : calls[0]["request"]["resourceSpans"]) {
    for (const json& ss : rs["scopeSpans"]) {
      for (const json& s : ss["spans"]) {
        ++decoded;
        first_found =
            first_found || (s["name"] == spans[0].name && s["traceId"] == spans[0].trace_id.hex());
      }
    }
  }
  EXPECT_EQ(decoded, spans.size());
  EXPECT_TRUE(first_found);
}

TEST(GrpcExport, MetricsDecodeWithTheOfficialSchema) {
  CONVTRACE_REQUIRE_NODE_PACKAGE("@grpc/grpc-js");
  Sink sink(2, /*unavailable_once=*/false);  // the flush, and shutdown's last export
  ASSERT_GT(sink.port(), 0);
  Config config;
  config.read_environment = false;
  config.exporter = ExporterKind::none;
  config.metrics_exporter = MetricsExporterKind::otlp;
  config.otlp_metrics = grpc_options(sink.port());
  config.metrics.export_interval = std::chrono::hours(1);
  auto sdk = Sdk::create(std::move(config));
  ASSERT_TRUE(sdk) << sdk.error().message;
  {
    Span span = (*sdk)->tracer().start_span("call");
    Usage u;
    u.input_tokens = 12;
    u.output_tokens = 3;
    span.record_usage(u);
  }
  EXPECT_TRUE((*sdk)->force_flush());
  (*sdk)->shutdown();
  std::vector<json> calls = sink.calls();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0]["method"], "metrics");
  const json& metrics = calls[0]["request"]["resourceMetrics"][0]["scopeMetrics"][0]["metrics"];
  bool tokens = false;
  for (const json& m : metrics) {
    if (m["name"] == "gen_ai.client.token.usage") {
      tokens = true;
      EXPECT_EQ(m["histogram"]["dataPoints"].size(), 2u);
    }
  }
  EXPECT_TRUE(tokens);
}

TEST(GrpcExport, AnUnreachableEndpointFailsAndBacksOff) {
  OtlpHttpOptions o = grpc_options(1);  // nothing listens on port 1
  o.timeout = std::chrono::milliseconds(500);
  o.max_attempts = 2;
  auto exporter = make_otlp_http_exporter(o);
  ASSERT_TRUE(exporter);
  std::vector<SpanData> spans = testing::sample_spans();
  std::vector<const SpanData*> ptrs = testing::pointers(spans);
  SpanBatch batch(ptrs.data(), ptrs.size());
  EXPECT_EQ((*exporter)->export_batch(batch), ExportResult::failure);
  EXPECT_EQ((*exporter)->export_batch(batch), ExportResult::failure);
  auto stats = otlp_exporter_stats(**exporter);
  EXPECT_EQ(stats->skipped_exports, 1u);  // the second export fell in the backoff window
}

}  // namespace
}  // namespace convtrace
