// The OTLP metrics encoders checked against the official schema (the JS OTLP
// transformer's generated opentelemetry-proto code decodes what we wrote),
// and the metrics exporter end to end against a local HTTP endpoint.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "convtrace/convtrace.h"
#include "convtrace/metrics.h"
#include "otlp/otlp_metrics.h"
#include "otlp/otlp_proto.h"
#include "otlp/test_http_server.h"
#include "support/node.h"

namespace convtrace::otlp {
namespace {

using nlohmann::json;

MetricsBatch sample_batch() {
  auto resource = std::make_shared<Resource>();
  resource->attributes.push_back(Attribute{"service.name", std::string("support-bot")});
  MetricsBatch batch;
  batch.resource = resource;
  batch.scope = std::make_shared<InstrumentationScope>(InstrumentationScope{"convtrace", "1.2.3"});

  MetricData duration;
  duration.name = metric::kOperationDuration;
  duration.description = "GenAI operation duration.";
  duration.unit = "s";
  duration.type = MetricData::Type::histogram;
  duration.temporality = Temporality::cumulative;
  duration.explicit_bounds = {0.01, 0.02, 0.04};
  HistogramPoint p;
  p.attributes = {Attribute{"gen_ai.operation.name", std::string("chat")},
                  Attribute{"server.port", int64_t{443}}};
  p.start_time_unix_nano = 1700000000000000000u;
  p.time_unix_nano = 1700000060000000000u;
  p.count = 3;
  p.sum = 0.125;
  p.bucket_counts = {0, 1, 1, 1};
  p.min = 0.015;
  p.max = 0.09;
  Exemplar e;
  e.time_unix_nano = 1700000001000000000u;
  e.value = 0.015;
  for (size_t i = 0; i < 16; ++i) e.trace_id.bytes[i] = static_cast<uint8_t>(i + 1);
  for (size_t i = 0; i < 8; ++i) e.span_id.bytes[i] = static_cast<uint8_t>(0xA0 + i);
  p.exemplars.push_back(e);
  duration.histogram_points.push_back(p);
  batch.metrics.push_back(duration);

  MetricData cost;
  cost.name = metric::kCost;
  cost.unit = "USD";
  cost.type = MetricData::Type::sum;
  cost.temporality = Temporality::delta;
  SumPoint s;
  s.attributes = {Attribute{"otel.metric.overflow", true}};
  s.start_time_unix_nano = 1700000000000000000u;
  s.time_unix_nano = 1700000060000000000u;
  s.value = 0.014;
  s.exemplars.push_back(e);
  cost.sum_points.push_back(s);
  batch.metrics.push_back(cost);
  return batch;
}

void expect_sample(const json& decoded) {
  ASSERT_TRUE(decoded.is_object()) << decoded.dump();
  const json& rm = decoded.at("resourceMetrics").at(0);
  EXPECT_EQ(rm.at("resource").at("attributes").at(0).at("key"), "service.name");
  const json& sm = rm.at("scopeMetrics").at(0);
  EXPECT_EQ(sm.at("scope").at("name"), "convtrace");
  EXPECT_EQ(sm.at("scope").at("version"), "1.2.3");
  const json& h = sm.at("metrics").at(0);
  EXPECT_EQ(h.at("name"), "gen_ai.client.operation.duration");
  EXPECT_EQ(h.at("unit"), "s");
  EXPECT_EQ(h.at("histogram").at("aggregationTemporality"), 2);
  const json& hp = h.at("histogram").at("dataPoints").at(0);
  EXPECT_EQ(hp.at("count"), "3");
  EXPECT_EQ(hp.at("sum"), 0.125);
  EXPECT_EQ(hp.at("bucketCounts"), json::array({"0", "1", "1", "1"}));
  EXPECT_EQ(hp.at("explicitBounds"), json::array({0.01, 0.02, 0.04}));
  EXPECT_EQ(hp.at("min"), 0.015);
  EXPECT_EQ(hp.at("max"), 0.09);
  EXPECT_EQ(hp.at("startTimeUnixNano"), "1700000000000000000");
  EXPECT_EQ(hp.at("timeUnixNano"), "1700000060000000000");
  EXPECT_EQ(hp.at("attributes").at(1).at("value").at("intValue"), "443");
  const json& ex = hp.at("exemplars").at(0);
  EXPECT_EQ(ex.at("traceId"), "0102030405060708090a0b0c0d0e0f10");
  EXPECT_EQ(ex.at("spanId"), "a0a1a2a3a4a5a6a7");
  EXPECT_EQ(ex.at("asDouble"), 0.015);
  EXPECT_EQ(ex.at("timeUnixNano"), "1700000001000000000");
  const json& c = sm.at("metrics").at(1);
  EXPECT_EQ(c.at("name"), "convtrace.gen_ai.client.cost");
  EXPECT_EQ(c.at("sum").at("aggregationTemporality"), 1);
  EXPECT_EQ(c.at("sum").at("isMonotonic"), true);
  const json& sp = c.at("sum").at("dataPoints").at(0);
  EXPECT_EQ(sp.at("asDouble"), 0.014);
  EXPECT_EQ(sp.at("attributes").at(0).at("value").at("boolValue"), true);
  EXPECT_EQ(sp.at("exemplars").size(), 1u);
}

TEST(OtlpMetrics, ProtobufDecodesWithTheOfficialSchema) {
  CONVTRACE_REQUIRE_NODE_PACKAGE("@opentelemetry/otlp-transformer");
  std::string out = testing::run_node_on_body("decode_otlp_metrics.js", "",
                                              encode_metrics_request(sample_batch()));
  expect_sample(json::parse(out, nullptr, false));
}

TEST(OtlpMetrics, JsonDecodesWithTheOfficialSchema) {
  CONVTRACE_REQUIRE_NODE_PACKAGE("@opentelemetry/otlp-transformer");
  std::string out = testing::run_node_on_body("decode_otlp_metrics.js", "--json",
                                              encode_metrics_request_json(sample_batch()));
  expect_sample(json::parse(out, nullptr, false));
}

TEST(OtlpMetrics, SdkExportsItsGenAiMetricsToAnOtlpHttpEndpoint) {
  CONVTRACE_REQUIRE_NODE_PACKAGE("@opentelemetry/otlp-transformer");
  std::mutex mu;
  std::vector<testing::TestHttpServer::Request> requests;
  testing::TestHttpServer server([&](const testing::TestHttpServer::Request& r) {
    std::lock_guard<std::mutex> lock(mu);
    requests.push_back(r);
    return testing::TestHttpServer::Response{};
  });
  ASSERT_GT(server.port(), 0);

  Config config;
  config.read_environment = false;
  config.service_name = "metrics-e2e";
  config.exporter = ExporterKind::none;
  config.metrics_exporter = MetricsExporterKind::otlp;
  OtlpHttpOptions otlp;
  otlp.endpoint = "http://127.0.0.1:" + std::to_string(server.port()) + "/v1/metrics";
  otlp.gzip = false;
  config.otlp_metrics = otlp;
  config.metrics.export_interval = std::chrono::hours(1);
  Pricing pricing;
  pricing.set("gpt-4o", 2.50, 10.00);
  config.pricing = pricing;
  auto sdk = Sdk::create(std::move(config));
  ASSERT_TRUE(sdk) << sdk.error().message;
  install(*sdk);
  observe({"chat", Kind::llm, "gpt-4o", "openai"}, [](Span& span) {
    Usage u;
    u.input_tokens = 1000;
    u.output_tokens = 100;
    span.record_usage(u);
  });
  EXPECT_TRUE((*sdk)->force_flush());
  install(nullptr);
  (*sdk)->shutdown();

  std::lock_guard<std::mutex> lock(mu);
  ASSERT_GE(requests.size(), 1u);
  EXPECT_EQ(requests[0].target, "/v1/metrics");
  EXPECT_EQ(requests[0].header("content-type"), "application/x-protobuf");
  json decoded = json::parse(
      testing::run_node_on_body("decode_otlp_metrics.js", "", requests[0].body), nullptr, false);
  ASSERT_TRUE(decoded.is_object());
  std::map<std::string, json> by_name;
  for (const json& m : decoded.at("resourceMetrics").at(0).at("scopeMetrics").at(0).at("metrics")) {
    by_name[m.at("name")] = m;
  }
  ASSERT_TRUE(by_name.count("gen_ai.client.operation.duration"));
  ASSERT_TRUE(by_name.count("gen_ai.client.token.usage"));
  ASSERT_TRUE(by_name.count("convtrace.gen_ai.client.cost"));
  EXPECT_EQ(by_name["convtrace.gen_ai.client.cost"]["sum"]["dataPoints"][0]["asDouble"], 0.0035);
  EXPECT_EQ(by_name["gen_ai.client.token.usage"]["histogram"]["dataPoints"].size(), 2u);
}

}  // namespace
}  // namespace convtrace::otlp
