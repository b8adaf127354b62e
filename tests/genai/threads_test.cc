#include <gtest/gtest.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "support/test_sdk.h"

namespace convtrace {
namespace {

using testing::int_attr;
using testing::named;
using testing::only;
using testing::str_attr;
using testing::sync_config;
using testing::TestSdk;

// A minimal fixed-size pool, like the ones applications bring.
class Pool {
 public:
  explicit Pool(int n) {
    for (int i = 0; i < n; ++i) workers_.emplace_back([this] { loop(); });
  }
  ~Pool() {
    {
      std::lock_guard<std::mutex> l(mu_);
      done_ = true;
    }
    cv_.notify_all();
    for (auto& w : workers_) w.join();
  }
  void submit(std::function<void()> job) {
    {
      std::lock_guard<std::mutex> l(mu_);
      jobs_.push_back(std::move(job));
    }
    cv_.notify_one();
  }
  void wait_idle() {
    std::unique_lock<std::mutex> l(mu_);
    idle_cv_.wait(l, [&] { return jobs_.empty() && running_ == 0; });
  }

 private:
  void loop() {
    for (;;) {
      std::function<void()> job;
      {
        std::unique_lock<std::mutex> l(mu_);
        cv_.wait(l, [&] { return done_ || !jobs_.empty(); });
        if (done_ && jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
        ++running_;
      }
      job();
      {
        std::lock_guard<std::mutex> l(mu_);
        --running_;
      }
      idle_cv_.notify_all();
    }
  }
  std::mutex mu_;
  std::condition_variable cv_, idle_cv_;
  std::deque<std::function<void()>> jobs_;
  int running_ = 0;
  bool done_ = false;
  std::vector<std::thread> workers_;
};

TEST(Threads, PoolJobsCarryConversationAndWorkflowOnlyWhenWrapped) {
  TestSdk t(sync_config());
  Pool pool(3);
  {
    auto conv = conversation("pool-conv", {"u-pool"});
    auto wf = workflow("wf-pool", "batch");
    for (int i = 0; i < 6; ++i) {
      pool.submit(wrap([] { observe({"wrapped", Kind::tool}, [] {}); }));
    }
    pool.submit([] { observe({"unwrapped", Kind::tool}, [] {}); });
    pool.wait_idle();
    EXPECT_EQ(wf.totals().tool_calls, 6);
  }
  auto spans = t.spans();
  const SpanData* wf = only(spans, "invoke_workflow batch");
  ASSERT_NE(wf, nullptr);
  auto wrapped = named(spans, "execute_tool wrapped");
  ASSERT_EQ(wrapped.size(), 6u);
  for (const SpanData* s : wrapped) {
    EXPECT_EQ(s->parent_span_id, wf->span_id);
    EXPECT_EQ(s->trace_id, wf->trace_id);
    EXPECT_EQ(str_attr(*s, attr::kConversationId), "pool-conv");
    EXPECT_EQ(str_attr(*s, attr::kUserId), "u-pool");
    EXPECT_EQ(int_attr(*s, attr::kConversationTurn), 1);
    EXPECT_EQ(str_attr(*s, attr::kWorkflowId), "wf-pool");
  }
  const SpanData* leak = only(spans, "execute_tool unwrapped");
  ASSERT_NE(leak, nullptr);
  EXPECT_EQ(str_attr(*leak, attr::kConversationId), "<absent>") << "no leak into other jobs";
  EXPECT_FALSE(leak->parent_span_id.valid());
  EXPECT_EQ(int_attr(*wf, attr::kWorkflowToolCalls), 6);
}

TEST(Threads, PoolThreadKeepsNoStateAfterAWrappedJob) {
  TestSdk t(sync_config());
  Pool pool(1);
  {
    auto conv = conversation("first-job");
    pool.submit(wrap([] { start_span("a").end(); }));
    pool.wait_idle();
  }
  pool.submit([] { start_span("b").end(); });
  pool.wait_idle();
  EXPECT_EQ(str_attr(*only(t.spans(), "b"), attr::kConversationId), "<absent>");
}

}  // namespace
}  // namespace convtrace
