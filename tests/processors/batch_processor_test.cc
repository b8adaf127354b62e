#include <gtest/gtest.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/striped_counter.h"
#include "convtrace/convtrace.h"

namespace convtrace {
namespace {

// An exporter that can be held shut (blocking the export thread) and counts
// what it receives.
class GateExporter : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    std::unique_lock<std::mutex> lock(mu_);
    ++calls_;
    entered_.notify_all();
    opened_.wait(lock, [&] { return open_; });
    received_ += batch.size();
    max_batch_ = std::max(max_batch_, batch.size());
    return fail_ ? ExportResult::failure : ExportResult::success;
  }
  void shutdown(std::chrono::milliseconds) noexcept override { shut_down_ = true; }

  void close_gate() {
    std::lock_guard<std::mutex> lock(mu_);
    open_ = false;
  }
  void open_gate() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      open_ = true;
    }
    opened_.notify_all();
  }
  void wait_for_call() {
    std::unique_lock<std::mutex> lock(mu_);
    entered_.wait(lock, [&] { return calls_ > 0; });
  }
  size_t received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t max_batch() {
    std::lock_guard<std::mutex> lock(mu_);
    return max_batch_;
  }
  void set_fail(bool f) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_ = f;
  }
  std::atomic<bool> shut_down_{false};

 private:
  std::mutex mu_;
  std::condition_variable opened_, entered_;
  bool open_ = true;
  bool fail_ = false;
  size_t calls_ = 0;
  size_t received_ = 0;
  size_t max_batch_ = 0;
};

std::unique_ptr<SpanData> span_named(const std::string& name) {
  auto s = std::make_unique<SpanData>();
  s->name = name;
  return s;
}

TEST(BatchProcessor, ShutdownExportsEverythingQueued) {
  auto exporter = std::make_unique<GateExporter>();
  GateExporter* gate = exporter.get();
  auto p = make_batch_processor(
      std::move(exporter), BatchOptions{2048, 512, std::chrono::hours(1), std::chrono::seconds(5)});
  ASSERT_TRUE(p);
  for (int i = 0; i < 1500; ++i) (*p)->on_end(span_named("s"));
  EXPECT_TRUE((*p)->shutdown(std::chrono::seconds(10)));
  EXPECT_EQ(gate->received(), 1500u);
  EXPECT_LE(gate->max_batch(), 512u);
  EXPECT_TRUE(gate->shut_down_);
  ProcessorStats s = (*p)->stats();
  EXPECT_EQ(s.exported, 1500u);
  EXPECT_EQ(s.dropped, 0u);
  (*p)->on_end(span_named("late"));
  EXPECT_EQ((*p)->stats().dropped, 1u);
  EXPECT_TRUE((*p)->shutdown(std::chrono::seconds(1))) << "shutdown twice is fine";
}

TEST(BatchProcessor, FullQueueDropsAndCountsWithoutBlocking) {
  auto exporter = std::make_unique<GateExporter>();
  GateExporter* gate = exporter.get();
  gate->close_gate();
  // A schedule delay that never fires here: the worker wakes for the full
  // first batch only. (With 1 ms, the timer could start an export while the
  // first spans were still being queued, and the figures below shifted by
  // the spans left behind.)
  auto p = make_batch_processor(
      std::move(exporter), BatchOptions{64, 8, std::chrono::hours(1), std::chrono::seconds(5)});
  ASSERT_TRUE(p);
  // The first batch blocks the export thread inside the exporter.
  for (int i = 0; i < 8; ++i) (*p)->on_end(span_named("first"));
  gate->wait_for_call();
  // Now the queue fills and the rest must be dropped at once: this loop would
  // hang if on_end waited for the exporter.
  for (int i = 0; i < 1000; ++i) (*p)->on_end(span_named("flood"));
  ProcessorStats s = (*p)->stats();
  EXPECT_EQ(s.ended, 1008u);
  EXPECT_EQ(s.dropped, 1000u - 64u);
  gate->open_gate();
  EXPECT_TRUE((*p)->force_flush(std::chrono::seconds(10)));
  EXPECT_EQ(gate->received(), 8u + 64u);
  EXPECT_GE(warning_count("queue_full"), 1u);
}

// Counts spans and which threads exported them; says it never blocks.
class NonBlockingExporter : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    std::lock_guard<std::mutex> lock(mu_);
    received_ += batch.size();
    if (std::this_thread::get_id() == caller_) from_caller_ += batch.size();
    return ExportResult::success;
  }
  bool never_blocks() const noexcept override { return true; }
  void set_caller(std::thread::id id) {
    std::lock_guard<std::mutex> lock(mu_);
    caller_ = id;
  }
  size_t received() {
    std::lock_guard<std::mutex> lock(mu_);
    return received_;
  }
  size_t from_caller() {
    std::lock_guard<std::mutex> lock(mu_);
    return from_caller_;
  }

 private:
  std::mutex mu_;
  std::thread::id caller_;
  size_t received_ = 0;
  size_t from_caller_ = 0;
};

TEST(BatchProcessor, AFullQueueIsExportedByTheEndingThreadWhenTheExporterNeverBlocks) {
  auto exporter = std::make_unique<NonBlockingExporter>();
  NonBlockingExporter* e = exporter.get();
  e->set_caller(std::this_thread::get_id());
  // A queue of 8 fills in a microsecond, long before a woken worker runs.
  auto p = make_batch_processor(std::move(exporter),
                                BatchOptions{8, 8, std::chrono::hours(1), std::chrono::seconds(5)});
  ASSERT_TRUE(p);
  for (int i = 0; i < 100000; ++i) (*p)->on_end(span_named("s"));
  EXPECT_TRUE((*p)->force_flush(std::chrono::seconds(10)));
  ProcessorStats s = (*p)->stats();
  EXPECT_GT(e->from_caller(), 0u) << "the ending thread exported batches itself";
  EXPECT_EQ(e->received(), s.exported);
  EXPECT_EQ(s.exported + s.dropped, 100000u);
}

TEST(BatchProcessor, ForceFlushExportsWithoutWaitingForTheSchedule) {
  auto exporter = std::make_unique<GateExporter>();
  GateExporter* gate = exporter.get();
  auto p = make_batch_processor(
      std::move(exporter), BatchOptions{2048, 512, std::chrono::hours(1), std::chrono::seconds(5)});
  ASSERT_TRUE(p);
  for (int i = 0; i < 3; ++i) (*p)->on_end(span_named("s"));
  EXPECT_TRUE((*p)->force_flush(std::chrono::seconds(10)));
  EXPECT_EQ(gate->received(), 3u);
}

TEST(BatchProcessor, FailedExportsAreCounted) {
  auto exporter = std::make_unique<GateExporter>();
  GateExporter* gate = exporter.get();
  gate->set_fail(true);
  auto p = make_batch_processor(std::move(exporter));
  ASSERT_TRUE(p);
  for (int i = 0; i < 10; ++i) (*p)->on_end(span_named("s"));
  EXPECT_TRUE((*p)->force_flush(std::chrono::seconds(10)));
  ProcessorStats s = (*p)->stats();
  EXPECT_EQ(s.export_failures, 1u);
  EXPECT_EQ(s.failed_spans, 10u);
  EXPECT_EQ(s.exported, 0u);
}

TEST(BatchProcessor, ManyProducersLoseNothingWhenTheQueueIsLargeEnough) {
  auto exporter = std::make_unique<GateExporter>();
  GateExporter* gate = exporter.get();
  auto p = make_batch_processor(
      std::move(exporter),
      BatchOptions{1 << 16, 512, std::chrono::milliseconds(5), std::chrono::seconds(5)});
  ASSERT_TRUE(p);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 5000; ++i) (*p)->on_end(span_named("s"));
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_TRUE((*p)->shutdown(std::chrono::seconds(10)));
  EXPECT_EQ(gate->received(), 20000u);
  EXPECT_EQ((*p)->stats().ended, 20000u);
}

// Forty threads: the first to count own a cell each, the rest share cells.
TEST(StripedCounter, SumsTheAddsOfMoreThreadsThanCells) {
  StripedCounter counter;
  std::atomic<bool> go{false};
  std::vector<std::thread> threads;
  for (int t = 0; t < 40; ++t) {
    threads.emplace_back([&counter, &go, t] {
      while (!go.load()) std::this_thread::yield();
      for (int i = 0; i < 50000; ++i) counter.add(static_cast<uint64_t>(t + 1));
    });
  }
  go = true;
  for (auto& t : threads) t.join();
  EXPECT_EQ(counter.load(), 50000u * (40u * 41u / 2u));
}

// Bursts that leave part of a batch queued between them are the pattern in
// which a wake-up can be lost; the schedule delay is far longer than the test
// may wait, so only producer wake-ups can get the spans exported.
TEST(BatchProcessor, EveryFullBatchWakesTheWorkerWithoutTheTimer) {
  auto exporter = std::make_unique<GateExporter>();
  GateExporter* gate = exporter.get();
  auto p = make_batch_processor(
      std::move(exporter),
      BatchOptions{2048, 512, std::chrono::minutes(10), std::chrono::seconds(5)});
  ASSERT_TRUE(p);
  // A producer looks at the queue's size every 64th push (the check interval
  // for a 512-span batch), so a batch's worth plus up to 63 spans may wait
  // for the next look; a lost wake-up would leave the spans of whole bursts.
  const size_t may_wait = 511 + 63;
  size_t pushed = 0;
  for (int burst = 0; burst < 8; ++burst) {
    for (int i = 0; i < 700; ++i) (*p)->on_end(span_named("s"));
    pushed += 700;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (gate->received() + may_wait < pushed && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_GE(gate->received() + may_wait, pushed) << "burst " << burst;
  }
  EXPECT_EQ((*p)->stats().dropped, 0u);
  EXPECT_TRUE((*p)->shutdown(std::chrono::seconds(10)));
  EXPECT_EQ(gate->received(), pushed);
}

TEST(BatchProcessor, AQueueOfOneSpanLosesNothingUncounted) {
  auto exporter = std::make_unique<GateExporter>();
  GateExporter* gate = exporter.get();
  auto p = make_batch_processor(
      std::move(exporter),
      BatchOptions{1, 1, std::chrono::milliseconds(1), std::chrono::seconds(5)});
  ASSERT_TRUE(p);
  for (int i = 0; i < 1000; ++i) (*p)->on_end(span_named("s"));
  EXPECT_TRUE((*p)->shutdown(std::chrono::seconds(10)));
  ProcessorStats stats = (*p)->stats();
  EXPECT_EQ(stats.ended, 1000u);
  EXPECT_EQ(gate->received() + stats.dropped, 1000u);
  EXPECT_LE(gate->max_batch(), 1u);
}

TEST(BatchProcessor, RejectsInconsistentOptions) {
  EXPECT_FALSE(make_batch_processor(std::make_unique<GateExporter>(), BatchOptions{0, 0, {}, {}}));
  EXPECT_FALSE(
      make_batch_processor(std::make_unique<GateExporter>(), BatchOptions{10, 11, {}, {}}));
  EXPECT_FALSE(make_batch_processor(nullptr));
}

TEST(SimpleProcessor, ExportsSynchronously) {
  auto exporter = std::make_unique<InMemoryExporter>();
  InMemoryExporter* memory = exporter.get();
  auto p = make_simple_processor(std::move(exporter));
  p->on_end(span_named("now"));
  ASSERT_EQ(memory->spans().size(), 1u);
  EXPECT_EQ(memory->spans()[0].name, "now");
  p->shutdown(std::chrono::seconds(1));
  p->on_end(span_named("late"));
  EXPECT_EQ(p->stats().dropped, 1u);
}

TEST(ConsoleExporter, PrintsGenAiAttributesFirst) {
  char* buf = nullptr;
  size_t len = 0;
  FILE* mem = open_memstream(&buf, &len);
  auto console = make_console_exporter(mem);
  SpanData s;
  s.name = "chat gpt-4o";
  s.attributes = {{"http.method", std::string("POST")}, {"gen_ai.usage.cost_usd", 0.008755}};
  const SpanData* one = &s;
  EXPECT_EQ(console->export_batch(SpanBatch(&one, 1)), ExportResult::success);
  fclose(mem);
  std::string text(buf, len);
  free(buf);
  EXPECT_NE(text.find("span chat gpt-4o"), std::string::npos);
  size_t cost = text.find("gen_ai.usage.cost_usd=0.008755");
  size_t http = text.find("http.method=POST");
  ASSERT_NE(cost, std::string::npos);
  ASSERT_NE(http, std::string::npos);
  EXPECT_LT(cost, http);
}

}  // namespace
}  // namespace convtrace
