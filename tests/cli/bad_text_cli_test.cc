// The CLI's --json and --csv output is valid UTF-8 whatever the store holds:
// text entering the store is repaired, and a file an earlier release wrote
// (here: bytes put into the columns behind the store's back) is repaired on
// the way out.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include <nlohmann/json.hpp>

#include "cli/run_cli.h"
#include "common/utf8.h"
#include "convtrace/attributes.h"
#include "convtrace/store.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using testing::run_cli;
using testing::TempDir;

TEST(BadTextCli, JsonAndCsvOutputIsValidUtf8) {
  TempDir dir;
  const std::string path = dir.file("bad.db");
  {
    auto store = Store::open(path);
    ASSERT_TRUE(store);
    std::vector<SpanData> spans;
    for (uint8_t i = 1; i <= 3; ++i) {
      SpanData s;
      s.trace_id.bytes[0] = 0x42;
      s.trace_id.bytes[15] = i;
      s.span_id.bytes[7] = i;
      s.name = "step \xFF";
      s.start_unix_nano = 1700000000000000000ULL + i;
      s.end_unix_nano = s.start_unix_nano + 1000;
      s.status = {StatusCode::error, "failed \xC3"};
      s.attributes = {{std::string(attr::kConversationId), std::string("conv_bad")},
                      {std::string(attr::kUserId), std::string("user-\xE2\x82")},
                      {std::string(attr::kWorkflowId), std::string("wf\xF5")},
                      {std::string(attr::kWorkflowType), std::string("rag\xFF")},
                      {std::string(attr::kRequestModel), std::string("gpt\xC0")},
                      {std::string(attr::kInputTokens), int64_t{10}},
                      {std::string(attr::kCostPicoUsd), int64_t{1000}}};
      spans.push_back(std::move(s));
    }
    ASSERT_FALSE((*store)->insert(spans));
  }
  {
    // An older file: raw bytes in the extracted columns.
    sqlite3* db = nullptr;
    ASSERT_EQ(sqlite3_open(path.c_str(), &db), SQLITE_OK);
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db,
                           "UPDATE spans SET name = CAST(X'6F6C64FF' AS TEXT), "
                           "model = CAST(X'C0AF' AS TEXT), error = CAST(X'EDA080' AS TEXT) "
                           "WHERE span_id = '0000000000000001'",
                           nullptr, nullptr, &err),
              SQLITE_OK)
        << (err ? err : "");
    sqlite3_close(db);
  }
  const std::string db = " --db '" + path + "'";
  for (const std::string args :
       {"conversation conv_bad --json", "report --by user --json", "report --by model --json",
        "report --by workflow-type --csv", "report --by model --csv", "workflows --json",
        "workflows --csv"}) {
    auto r = run_cli(args + db);
    ASSERT_EQ(r.status, 0) << args << ": " << r.err;
    EXPECT_TRUE(utf8::valid(r.out)) << args;
    EXPECT_NE(r.out.find(utf8::kReplacement), std::string::npos) << args << ": " << r.out;
    if (args.find("--json") != std::string::npos) {
      EXPECT_FALSE(nlohmann::json::parse(r.out, nullptr, false).is_discarded()) << args;
    }
  }
}

}  // namespace
}  // namespace convtrace
