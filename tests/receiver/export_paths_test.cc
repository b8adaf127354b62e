// The same spans, exported by the SDK straight into SQLite and over OTLP/HTTP
// (protobuf, and gzip'd JSON) to `convtrace collect`, give identical
// conversation views.
#include <gtest/gtest.h>

#include "cli/run_cli.h"
#include "convtrace/convtrace.h"
#include "convtrace/otlp.h"
#include "demo_scenario.h"
#include "receiver/collect_process.h"
#include "store/temp_dir.h"
#include "support/tee_exporter.h"

namespace convtrace {
namespace {

using testing::CollectProcess;
using testing::run_cli;
using testing::TeeExporter;
using testing::TempDir;

std::unique_ptr<SpanExporter> otlp_to(const CollectProcess& collect,
                                      OtlpHttpOptions::Protocol protocol, bool gzip) {
  OtlpHttpOptions options;
  options.endpoint = collect.base_url() + "/v1/traces";
  options.protocol = protocol;
  options.gzip = gzip;
  auto exporter = make_otlp_http_exporter(options);
  EXPECT_TRUE(exporter) << exporter.error().message;
  return exporter ? std::move(*exporter) : nullptr;
}

TEST(ExportPaths, SqliteAndOtlpToCollectGiveIdenticalConversationViews) {
  TempDir dir;
  std::string direct = dir.file("direct.db");
  CollectProcess proto_collect(dir.file("proto.db"));
  CollectProcess json_collect(dir.file("json.db"));
  ASSERT_GT(proto_collect.port(), 0);
  ASSERT_GT(json_collect.port(), 0);
  {
    std::vector<std::unique_ptr<SpanExporter>> to;
    auto sqlite = make_sqlite_exporter(direct);
    ASSERT_TRUE(sqlite) << sqlite.error().message;
    to.push_back(std::move(*sqlite));
    to.push_back(otlp_to(proto_collect, OtlpHttpOptions::Protocol::http_protobuf, false));
    to.push_back(otlp_to(json_collect, OtlpHttpOptions::Protocol::http_json, true));
    ASSERT_TRUE(to[1] && to[2]);
    Config config;
    config.read_environment = false;
    config.content.enabled = true;
    config.pricing = Pricing::builtin();
    config.exporter = ExporterKind::custom;
    config.custom_exporter = std::make_unique<TeeExporter>(std::move(to));
    auto sdk = Sdk::create(std::move(config));
    ASSERT_TRUE(sdk);
    install(*sdk);
    demo::run_scenario(nullptr);
    install(nullptr);
    ASSERT_TRUE((*sdk)->shutdown());
    EXPECT_EQ((*sdk)->stats().processor.export_failures, 0u);
  }
  EXPECT_EQ(proto_collect.stop(), 0);
  EXPECT_EQ(json_collect.stop(), 0);

  for (const char* id : {"support_789", "support_790", "sales_101", "onboarding_42"}) {
    auto want = run_cli(std::string("conversation ") + id + " --json --db '" + direct + "'");
    ASSERT_EQ(want.status, 0) << want.err;
    ASSERT_NE(want.out.find("\"turns\""), std::string::npos);
    for (const char* db : {"proto.db", "json.db"}) {
      auto got = run_cli(std::string("conversation ") + id + " --json --db '" + dir.file(db) + "'");
      ASSERT_EQ(got.status, 0) << got.err;
      EXPECT_EQ(got.out, want.out) << id << " via " << db;
    }
  }
  auto want = run_cli("report --by user --json --db '" + direct + "'");
  EXPECT_EQ(run_cli("report --by user --json --db '" + dir.file("proto.db") + "'").out, want.out);
}

}  // namespace
}  // namespace convtrace
