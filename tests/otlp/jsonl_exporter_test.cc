#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "convtrace/exporter.h"
#include "otlp/otlp_json.h"
#include "otlp/sample_spans.h"

namespace convtrace {
namespace {

namespace fs = std::filesystem;

TEST(JsonlExporter, WritesOneSelfContainedObjectPerSpan) {
  fs::path path = fs::path(::testing::TempDir()) / "convtrace_jsonl_test.jsonl";
  fs::remove(path);
  auto spans = convtrace::testing::sample_spans();
  auto ptrs = convtrace::testing::pointers(spans);
  {
    auto exporter = make_jsonl_exporter(path.string());
    ASSERT_TRUE(exporter) << exporter.error().message;
    ASSERT_EQ((*exporter)->export_batch(SpanBatch(ptrs.data(), ptrs.size())),
              ExportResult::success);
    ASSERT_EQ((*exporter)->export_batch(SpanBatch(ptrs.data(), 1)), ExportResult::success);
    (*exporter)->shutdown(std::chrono::milliseconds(100));
    EXPECT_EQ((*exporter)->export_batch(SpanBatch(ptrs.data(), 1)), ExportResult::failure);
  }
  std::ifstream in(path);
  std::string line;
  std::vector<nlohmann::json> lines;
  while (std::getline(in, line)) {
    auto j = nlohmann::json::parse(line, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << line;
    lines.push_back(j);
  }
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const SpanData& s = spans[i % 3];
    EXPECT_EQ(lines[i]["span"]["traceId"], s.trace_id.hex());
    EXPECT_EQ(lines[i]["span"]["name"], s.name);
    EXPECT_EQ(lines[i]["scope"].value("name", ""), s.scope->name);
    EXPECT_EQ(lines[i]["resource"]["attributes"].size(), s.resource->attributes.size());
  }
  // The span part is OTLP/JSON: wrapped in a request, our decoder reads it back.
  std::string request = "{\"resourceSpans\":[{\"resource\":" + lines[1]["resource"].dump() +
                        ",\"scopeSpans\":[{\"scope\":" + lines[1]["scope"].dump() + ",\"spans\":[" +
                        lines[1]["span"].dump() + "]}]}]}";
  auto decoded = otlp::decode_trace_request_json(request);
  ASSERT_TRUE(decoded) << decoded.error().message;
  convtrace::testing::expect_span_eq(spans[1], (*decoded)[0]);
  fs::remove(path);
}

TEST(JsonlExporter, ReportsUnopenablePaths) {
  auto exporter = make_jsonl_exporter("/nonexistent-dir/x/spans.jsonl");
  ASSERT_FALSE(exporter);
  EXPECT_EQ(exporter.error().code, Error::io_error);
  EXPECT_FALSE(make_jsonl_exporter(""));
}

}  // namespace
}  // namespace convtrace
