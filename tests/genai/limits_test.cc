#include <gtest/gtest.h>

#include "genai/registry.h"
#include "support/test_sdk.h"
#include "trace/sdk_state.h"

namespace convtrace {
namespace {

using testing::int_attr;
using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

TEST(Limits, VeryLongIdsAreCutAndCounted) {
  TestSdk t(sync_config());
  uint64_t before = warning_count("long_id");
  std::string huge(1 << 20, 'x');
  {
    auto conv = conversation(huge, {huge});
    auto wf = workflow(huge, "t");
    start_span("inside").end();
  }
  const SpanData* s = only(t.spans(), "inside");
  ASSERT_NE(s, nullptr);
  EXPECT_EQ(str_attr(*s, attr::kConversationId).size(), kMaxIdLength);
  EXPECT_EQ(str_attr(*s, attr::kUserId).size(), kMaxIdLength);
  EXPECT_EQ(str_attr(*s, attr::kWorkflowId).size(), kMaxIdLength);
  EXPECT_EQ(warning_count("long_id"), before + 3);
}

TEST(Limits, DeepNestingKeepsParentsAndTotals) {
  TestSdk t(sync_config());
  constexpr int kDepth = 2000;
  std::function<void(int)> nest = [&](int depth) {
    if (depth == kDepth) {
      observe({"leaf", Kind::llm, "gpt-4o"}, [](Span& s) {
        Usage u;
        u.input_tokens = 1234;
        u.output_tokens = 567;
        s.record_usage(u);
      });
      return;
    }
    auto wf = workflow("w" + std::to_string(depth), "nested");
    nest(depth + 1);
  };
  nest(0);
  const auto& spans = t.spans();
  EXPECT_EQ(spans.size(), static_cast<size_t>(kDepth + 1));
  for (const SpanData& s : spans) {
    if (s.name == "invoke_workflow nested") {
      ASSERT_EQ(int_attr(s, attr::kWorkflowTotalCostPico), 8755000000LL);
    }
  }
}

TEST(Limits, AMillionTurnConversationUsesConstantMemory) {
  Config c;
  c.exporter = ExporterKind::none;
  c.read_environment = false;
  auto sdk = Sdk::create(std::move(c));
  ASSERT_TRUE(sdk);
  install(*sdk);
  {
    auto conv = conversation("endless");
    for (int i = 0; i < 1000000; ++i) start_span("turn");
    Span last = start_span("last");
    EXPECT_EQ(last.child_context().turn(), 1000001);
  }
  EXPECT_EQ((*sdk)->TEST_state()->registry->size(), 1u);
  install(nullptr);
  (*sdk)->shutdown();
}

}  // namespace
}  // namespace convtrace
