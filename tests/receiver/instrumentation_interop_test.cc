// Real third-party instrumentations of the official `openai` npm client —
// @opentelemetry/instrumentation-openai, @traceloop/instrumentation-openai and
// @arizeai/openinference-instrumentation-openai — talking to a local fake
// OpenAI server that replays recorded bodies, exporting through the
// OpenTelemetry JS SDK (protobuf and JSON) to a real `convtrace collect`.
// For the same bodies, the conversation, every call's cost and the report
// totals must equal, to the pico-USD, what convtrace's own SDK records.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "convtrace/convtrace.h"
#include "convtrace/store.h"
#include "receiver/collect_process.h"
#include "store/temp_dir.h"

namespace convtrace {
namespace {

using testing::CollectProcess;
using testing::TempDir;

struct Call {
  const char* model;  // requested
  const char* fixture;
};

// Responses with the shape the instrumentations read (choices and usage).
// None has cache reads: the OpenTelemetry and Traceloop instrumentations of
// these versions do not export them (README, "Sending from Python/JS/other SDKs").
const Call kCalls[] = {
    {"gpt-5.4", "openai_chat_completion.json"},
    {"o1", "openai_chat_completion_reasoning.json"},
    {"mistral-small-latest", "mistral_chat.json"},
};

const std::string kFixtures = std::string(CONVTRACE_TEST_FIXTURES) + "/provider-responses";

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// The same calls through convtrace's own SDK, into a store of their own.
std::unique_ptr<Store> native_store(const std::string& db, const std::string& conversation_id) {
  Config config;
  config.read_environment = false;
  config.exporter = ExporterKind::sqlite;
  config.sqlite_path = db;
  config.synchronous_export = true;
  auto sdk = Sdk::create(std::move(config));
  EXPECT_TRUE(sdk) << sdk.error().message;
  if (!sdk) return nullptr;
  install(*sdk);
  {
    auto conv = conversation(conversation_id, {"js_user"});
    for (const Call& c : kCalls) {
      observe({"chat", Kind::llm, c.model, "openai"}, [&](Span& span) {
        EXPECT_TRUE(span.record_response(read(kFixtures + "/" + c.fixture)));
      });
    }
  }
  install(nullptr);
  (*sdk)->shutdown();
  auto store = Store::open(db);
  EXPECT_TRUE(store) << store.error().message;
  return store ? std::move(*store) : nullptr;
}

// The calls of a conversation view: (model, input, output, cost) in order.
std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> calls_of(
    const ConversationView& v) {
  std::vector<std::tuple<std::string, int64_t, int64_t, int64_t>> out;
  for (const TurnView& t : v.turns) {
    for (const SpanView& s : t.spans) {
      if (!s.cost_pico_usd && !s.input_tokens) continue;
      out.emplace_back(s.model, s.input_tokens.value_or(-1), s.output_tokens.value_or(-1),
                       s.cost_pico_usd.value_or(-1));
    }
  }
  return out;
}

void expect_same_report(Store& mine, Store& theirs, ReportGroup by) {
  auto a = mine.report({by, {}});
  auto b = theirs.report({by, {}});
  ASSERT_TRUE(a && b);
  // The instrumentation's own root spans carry no usage: compare the groups with calls.
  auto calls = [](const std::vector<ReportRow>& rows) {
    std::vector<std::tuple<std::optional<std::string>, int64_t, int64_t, int64_t, int64_t, int64_t>>
        out;
    for (const ReportRow& r : rows) {
      if (r.llm_calls == 0) continue;
      out.emplace_back(r.group, r.cost_pico_usd, r.llm_calls, r.unpriced_calls, r.input_tokens,
                       r.output_tokens);
    }
    return out;
  };
  EXPECT_EQ(calls(*a), calls(*b)) << "report by " << to_string(by);
  EXPECT_FALSE(calls(*a).empty());
}

void interop(const std::string& instrumentation, const std::string& protocol) {
  const std::string dir = CONVTRACE_NODE_DIR;
  if (!std::filesystem::exists(dir + "/node_modules/openai")) {
    if (std::getenv("CI")) FAIL() << "tests/node/node_modules is missing: run npm ci in tests/node";
    GTEST_SKIP() << "tests/node/node_modules is missing (npm ci in tests/node to run this)";
  }
  TempDir tmp;
  const std::string conversation_id = "conv_" + instrumentation + "_" + protocol;
  std::unique_ptr<Store> native = native_store(tmp.file("native.db"), conversation_id);
  ASSERT_TRUE(native);

  const std::string db = tmp.file("collected.db");
  CollectProcess collect(db);
  ASSERT_GT(collect.port(), 0);
  std::string command = "node '" + dir + "/instrumented_openai.js' " + collect.base_url() + " " +
                        protocol + " " + instrumentation + " " + conversation_id + " js_user '" +
                        kFixtures + "'";
  for (const Call& c : kCalls) command += std::string(" chat:") + c.model + ":" + c.fixture;
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  ASSERT_EQ(collect.stop(), 0);
  auto opened = Store::open(db);
  ASSERT_TRUE(opened) << opened.error().message;
  Store& collected = **opened;

  auto theirs = collected.conversation(conversation_id);
  auto mine = native->conversation(conversation_id);
  ASSERT_TRUE(theirs) << theirs.error().message;
  ASSERT_TRUE(mine) << mine.error().message;
  ASSERT_EQ(theirs->turns.size(), std::size(kCalls));
  ASSERT_EQ(theirs->turns.size(), mine->turns.size());
  for (size_t i = 0; i < mine->turns.size(); ++i) {
    EXPECT_EQ(theirs->turns[i].cost_pico_usd, mine->turns[i].cost_pico_usd) << "turn " << i + 1;
    EXPECT_EQ(theirs->turns[i].running_total_pico_usd, mine->turns[i].running_total_pico_usd);
    EXPECT_GT(theirs->turns[i].cost_pico_usd, 0) << "turn " << i + 1;
  }
  EXPECT_EQ(calls_of(*theirs), calls_of(*mine));
  EXPECT_EQ(theirs->cost_pico_usd, mine->cost_pico_usd);
  EXPECT_EQ(theirs->input_tokens, mine->input_tokens);
  EXPECT_EQ(theirs->output_tokens, mine->output_tokens);
  EXPECT_EQ(theirs->llm_calls, mine->llm_calls);
  EXPECT_EQ(theirs->user_ids, std::vector<std::string>{"js_user"});
  for (ReportGroup by : {ReportGroup::model, ReportGroup::conversation, ReportGroup::user}) {
    expect_same_report(collected, *native, by);
  }
}

TEST(InstrumentationInterop, OpenTelemetryOpenAiProtobuf) { interop("otel", "proto"); }
TEST(InstrumentationInterop, OpenTelemetryOpenAiJson) { interop("otel", "json"); }
TEST(InstrumentationInterop, TraceloopOpenAiProtobuf) { interop("traceloop", "proto"); }
TEST(InstrumentationInterop, TraceloopOpenAiJson) { interop("traceloop", "json"); }
TEST(InstrumentationInterop, OpenInferenceOpenAiProtobuf) { interop("openinference", "proto"); }
TEST(InstrumentationInterop, OpenInferenceOpenAiJson) { interop("openinference", "json"); }

}  // namespace
}  // namespace convtrace
