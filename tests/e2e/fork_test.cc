// fork() with and without exec: the child keeps a working SDK (background
// threads restarted, no deadlock on locks other threads held at the fork).
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "convtrace/convtrace.h"
#include "convtrace/otlp.h"
#include "otlp/test_http_server.h"

// fork() without exec in a process with other threads running is beyond
// both sanitizer runtimes of this toolchain. clang 14's AddressSanitizer does
// not take its own allocator locks around fork(): a child forked while
// another thread allocates can hang inside ASan's malloc. g++ 12's
// ThreadSanitizer does not lock its allocator and stack depot around fork()
// either (later runtimes do), and it stops checking in such a child anyway:
// a child can hang inside the runtime, whatever the program does. glibc's
// malloc, which applications run on, takes its locks, and these tests run
// there: in the dev and release builds.
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CONVTRACE_FORK_UNSUPPORTED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define CONVTRACE_FORK_UNSUPPORTED 1
#endif
#endif

namespace convtrace {
namespace {

// Counts spans by name without a lock, so a fork can never catch it locked.
class CountingExporter : public SpanExporter {
 public:
  ExportResult export_batch(const SpanBatch& batch) noexcept override {
    for (const SpanData* s : batch) {
      if (s->name == "execute_tool child-span") child_spans.fetch_add(1);
      if (s->name == "parent-after-fork") parent_spans.fetch_add(1);
    }
    return ExportResult::success;
  }
  std::atomic<int> child_spans{0};
  std::atomic<int> parent_spans{0};
};

// Waits for `pid` up to `limit`; returns its exit status, or -1 after killing
// a child that hung.
int wait_for(pid_t pid, std::chrono::seconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

class ForkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto exporter = std::make_unique<CountingExporter>();
    counting_ = exporter.get();
    Config c;
    c.read_environment = false;
    c.custom_exporter = std::move(exporter);
    c.batch = BatchOptions{256, 32, std::chrono::milliseconds(5), std::chrono::seconds(5)};
    auto sdk = Sdk::create(std::move(c));
    ASSERT_TRUE(sdk);
    sdk_ = *sdk;
    install(sdk_);
  }
  void TearDown() override {
    install(nullptr);
    sdk_->shutdown();
  }

  // Other threads busy in the SDK while the test forks: they hold the
  // queue, registry and warning locks at random moments.
  void start_noise() {
    for (int t = 0; t < 2; ++t) {
      noise_.emplace_back([this, t] {
        int i = 0;
        while (!stop_noise_) {
          auto conv = conversation("noise-" + std::to_string(t) + "-" + std::to_string(i++ % 50));
          start_span("noise").end();
          if (i % 64 == 0) auto refused = conversation("");  // a counted warning
        }
      });
    }
  }
  void stop_noise() {
    stop_noise_ = true;
    for (auto& t : noise_) t.join();
  }

  std::shared_ptr<Sdk> sdk_;
  CountingExporter* counting_ = nullptr;
  std::vector<std::thread> noise_;
  std::atomic<bool> stop_noise_{false};
};

TEST_F(ForkTest, ChildWithoutExecKeepsAWorkingSdk) {
#ifdef CONVTRACE_FORK_UNSUPPORTED
  GTEST_SKIP() << "fork without exec is not supported by this sanitizer runtime";
#endif
  start_noise();
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  for (int round = 0; round < 5; ++round) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: only this thread exists. The SDK must still record and export.
      {
        auto conv = conversation("in-child");
        for (int i = 0; i < 10; ++i) observe({"child-span", Kind::tool}, [] {});
      }
      bool flushed = sdk_->force_flush(std::chrono::seconds(5));
      _exit(flushed && counting_->child_spans.load() == 10 ? 0 : 1);
    }
    EXPECT_EQ(wait_for(pid, std::chrono::seconds(20)), 0) << "round " << round;
  }
  stop_noise();
  // The noise may have left the queue full: drain it so these ten fit.
  EXPECT_TRUE(sdk_->force_flush(std::chrono::seconds(5)));
  for (int i = 0; i < 10; ++i) start_span("parent-after-fork").end();
  EXPECT_TRUE(sdk_->force_flush(std::chrono::seconds(5)));
  EXPECT_EQ(counting_->parent_spans.load(), 10) << "the parent keeps working too";
  EXPECT_EQ(counting_->child_spans.load(), 0) << "child spans stay in the child";
}

TEST_F(ForkTest, ChildThatExecsIsUnaffected) {
  start_noise();
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl("/bin/true", "true", static_cast<char*>(nullptr));
    _exit(127);
  }
  EXPECT_EQ(wait_for(pid, std::chrono::seconds(20)), 0);
  stop_noise();
}

// Forks 100 times while a thread ends spans into the OTLP exporter as fast
// as it can; each child ends a span of its own and exits. False when a child
// failed or hung; a fork that never returns ends the process.
bool fork_while_exporting(bool synchronous) {
  convtrace::testing::TestHttpServer server([](const convtrace::testing::TestHttpServer::Request&) {
    return convtrace::testing::TestHttpServer::Response{};
  });
  OtlpHttpOptions o;
  o.endpoint = server.url();
  o.background_delivery = !synchronous;
  auto exporter = make_otlp_http_exporter(o);
  if (!server.ok() || !exporter) return false;
  Config c;
  c.read_environment = false;
  c.custom_exporter = std::move(*exporter);
  c.synchronous_export = synchronous;
  if (!synchronous) {
    // Small batches, exported back to back: the export thread is inside an
    // export nearly all the time.
    c.batch = BatchOptions{8192, 64, std::chrono::milliseconds(1), std::chrono::seconds(5)};
  }
  auto created = Sdk::create(std::move(c));
  if (!created) return false;
  std::shared_ptr<Sdk> sdk = *created;

  std::atomic<bool> stop{false};
  std::thread busy([&] {
    Tracer tracer = sdk->tracer();
    while (!stop) {
      Span span = tracer.start_span("busy");
      span.set_attribute("gen_ai.request.model", "a model name long enough to be copied");
    }
  });
  // A deadlocked fork never returns: the process ends instead of hanging
  // until ctest's timeout.
  std::atomic<bool> done{false};
  std::thread watchdog([&] {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
    while (!done) {
      if (std::chrono::steady_clock::now() > deadline) {
        std::fprintf(stderr, "fork() deadlocked in the SDK's fork handlers\n");
        std::_Exit(3);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  });
  bool ok = true;
  for (int round = 0; round < 100 && ok; ++round) {
    pid_t pid = fork();
    if (pid == 0) {
      sdk->tracer().start_span("child").end();
      _exit(0);
    }
    ok = pid > 0 && wait_for(pid, std::chrono::seconds(20)) == 0;
    EXPECT_TRUE(ok) << "round " << round;
  }
  done = true;
  stop = true;
  busy.join();
  watchdog.join();
  return sdk->shutdown(std::chrono::seconds(5)) && ok;
}

// The OTLP exporter takes its delivery lock inside the batch processor's
// export, while the export thread holds the processor's drain lock. The fork
// handlers must take the processor's locks before the exporter's, as that
// thread does: the other way round, a fork during an export waited forever.
TEST(ForkLockOrder, AForkDuringABatchExportDoesNotDeadlock) {
#ifdef CONVTRACE_FORK_UNSUPPORTED
  GTEST_SKIP() << "fork without exec is not supported by this sanitizer runtime";
#endif
  EXPECT_TRUE(fork_while_exporting(/*synchronous=*/false));
}

// The simple processor holds its lock through each export: a child forked
// meanwhile must find it free, or its first span waits forever.
TEST(ForkLockOrder, AForkDuringASynchronousExportLeavesTheChildAWorkingProcessor) {
#ifdef CONVTRACE_FORK_UNSUPPORTED
  GTEST_SKIP() << "fork without exec is not supported by this sanitizer runtime";
#endif
  EXPECT_TRUE(fork_while_exporting(/*synchronous=*/true));
}

}  // namespace
}  // namespace convtrace
