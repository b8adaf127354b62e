#include <gtest/gtest.h>

#include <thread>

#include "support/test_sdk.h"

namespace convtrace {
namespace {

using testing::int_attr;
using testing::str_attr;
using testing::TestSdk;

// 8 threads × 10k spans in conversations and workflows, through the batch
// processor: every workflow total must be exact, and nothing may race (this
// test is part of the TSan suite).
TEST(Stress, EightThreadsTenThousandSpansEach) {
  Config c;
  c.batch = BatchOptions{1 << 17, 512, std::chrono::milliseconds(50), std::chrono::seconds(30)};
  TestSdk t(std::move(c));
  constexpr int kThreads = 8;
  constexpr int kWorkflowsPerThread = 500;  // 500 × (1 workflow + 19 calls) = 10k spans
  std::vector<std::thread> threads;
  for (int th = 0; th < kThreads; ++th) {
    threads.emplace_back([th] {
      for (int w = 0; w < kWorkflowsPerThread; ++w) {
        auto conv = conversation("conv-" + std::to_string(th) + "-" + std::to_string(w % 10));
        auto wf = workflow("wf-" + std::to_string(th) + "-" + std::to_string(w), "stress");
        for (int i = 0; i < 19; ++i) {
          observe({"call", i % 2 ? Kind::tool : Kind::llm, "gpt-4o"}, [i](Span& s) {
            if (i % 2 == 0) {
              Usage u;
              u.input_tokens = 1234;
              u.output_tokens = 567;
              s.record_usage(u);
            }
          });
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  ASSERT_TRUE(t.sdk->force_flush(std::chrono::seconds(60)));
  auto spans = t.exporter->spans();
  EXPECT_EQ(spans.size(), static_cast<size_t>(kThreads * kWorkflowsPerThread * 20));
  EXPECT_EQ(t.sdk->stats().processor.dropped, 0u);
  int workflows = 0;
  for (const SpanData& s : spans) {
    if (s.name != "invoke_workflow stress") continue;
    ++workflows;
    ASSERT_EQ(int_attr(s, attr::kWorkflowTotalCostPico), 10 * 8755000000LL) << s.name;
    ASSERT_EQ(int_attr(s, attr::kWorkflowLlmCalls), 10);
    ASSERT_EQ(int_attr(s, attr::kWorkflowToolCalls), 9);
  }
  EXPECT_EQ(workflows, kThreads * kWorkflowsPerThread);
}

}  // namespace
}  // namespace convtrace
