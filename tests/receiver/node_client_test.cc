// The OpenTelemetry JS SDK (protobuf and JSON exporters) sending to `convtrace collect`.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "convtrace/store.h"
#include "receiver/collect_process.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using testing::CollectProcess;
using testing::TempDir;

void send_from_node(const std::string& protocol) {
  const std::string dir = CONVTRACE_NODE_DIR;
  if (!std::filesystem::exists(dir + "/node_modules/@opentelemetry/sdk-trace-base")) {
    if (std::getenv("CI")) FAIL() << "tests/node/node_modules is missing: run npm ci in tests/node";
    GTEST_SKIP() << "tests/node/node_modules is missing (npm ci in tests/node to run this)";
  }
  TempDir tmp;
  std::string db = tmp.file("js.db");
  const bool grpc = protocol == "grpc";
  CollectProcess collect(
      db, grpc ? std::vector<std::string>{"--grpc", "127.0.0.1:0"} : std::vector<std::string>{});
  ASSERT_GT(collect.port(), 0);
  std::string url =
      grpc ? "http://127.0.0.1:" + std::to_string(collect.grpc_port()) : collect.base_url();
  if (grpc) {
    ASSERT_GT(collect.grpc_port(), 0);
  }
  std::string command =
      "node '" + dir + "/send_js_spans.js' " + url + " " + protocol + " js_conv_" + protocol;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ASSERT_EQ(collect.stop(), 0);

  auto store = Store::open(db);
  ASSERT_TRUE(store) << store.error().message;
  EXPECT_EQ(*(*store)->span_count(), 4);
  auto view = (*store)->conversation("js_conv_" + protocol);
  ASSERT_TRUE(view) << view.error().message;
  ASSERT_EQ(view->turns.size(), 2u);  // one turn per trace, in time order
  EXPECT_EQ(view->turns[0].cost_pico_usd, 197'500'000);
  EXPECT_EQ(view->turns[1].cost_pico_usd, 7'500'000'000);
  EXPECT_EQ(view->turns[1].running_total_pico_usd, 7'697'500'000);
  ASSERT_EQ(view->turns[0].spans.size(), 2u);
  EXPECT_EQ(view->turns[0].spans[0].name, "handle_message");
  EXPECT_EQ(view->turns[0].spans[1].model, "gpt-4o");
  EXPECT_EQ(view->turns[0].spans[1].input_tokens, 19);
  EXPECT_EQ(view->user_ids, std::vector<std::string>{"js_user"});

  auto report = (*store)->report({ReportGroup::model, {}});
  ASSERT_TRUE(report);
  ASSERT_FALSE(report->empty());
  EXPECT_EQ((*report)[0].group, std::optional<std::string>("gpt-4o"));
  EXPECT_EQ((*report)[0].cost_pico_usd, 7'697'500'000);
  EXPECT_EQ((*report)[0].input_tokens, 1219);

  auto trace = (*store)->load_trace(view->turns[0].trace_ids[0]);
  ASSERT_TRUE(trace);
  bool kept = false;
  for (const SpanData& s : *trace) {
    if (const auto* v = find_attribute(s.attributes, "js.only")) {
      kept = *v == AttributeValue(std::vector<std::string>{"kept", "as", "array"});
    }
  }
  EXPECT_TRUE(kept);
}

TEST(NodeClient, ProtobufExporter) { send_from_node("proto"); }
TEST(NodeClient, JsonExporter) { send_from_node("json"); }
#ifdef CONVTRACE_WITH_GRPC
// @opentelemetry/exporter-trace-otlp-grpc to `collect --grpc`.
TEST(NodeClient, GrpcExporter) { send_from_node("grpc"); }
#endif

}  // namespace
}  // namespace convtrace
