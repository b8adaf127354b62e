// The disk spool through the SDK and real processes: an outage loses
// nothing and each span arrives once after recovery; a process killed with
// SIGKILL during an outage leaves a spool the next process sends; a spool
// that is full drops and counts.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "convtrace/convtrace.h"
#include "convtrace/otlp.h"
#include "otlp/otlp_proto.h"
#include "otlp/test_http_server.h"
#include "store/temp_dir.h"

extern char** environ;

namespace convtrace {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using testing::TempDir;
using testing::TestHttpServer;

// An endpoint that can be switched off (503) and on, and records the "i"
// attribute of every span it accepts, in arrival order.
class Collector {
 public:
  Collector()
      : server_([this](const TestHttpServer::Request& r) {
          if (!up_) return TestHttpServer::Response{503, {}, ""};
          auto spans = otlp::decode_trace_request(r.body);
          if (!spans) return TestHttpServer::Response{400, {}, ""};
          std::lock_guard<std::mutex> lock(mu_);
          for (const SpanData& s : *spans) {
            const int64_t* i = find_int(s.attributes, "i");
            arrived_.push_back(i ? *i : -1);
          }
          return TestHttpServer::Response{};
        }) {}
  void set_up(bool up) { up_ = up; }
  std::string url() const { return server_.url(); }
  bool ok() const { return server_.ok(); }
  std::vector<int64_t> arrived() const {
    std::lock_guard<std::mutex> lock(mu_);
    return arrived_;
  }
  // Waits (bounded) until at least `n` spans arrived.
  bool wait_for(size_t n, std::chrono::seconds limit) const {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (arrived().size() >= n) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }

 private:
  std::atomic<bool> up_{true};
  mutable std::mutex mu_;
  std::vector<int64_t> arrived_;
  TestHttpServer server_;
};

OtlpHttpOptions spool_options(const std::string& url, const std::string& dir) {
  OtlpHttpOptions o;
  o.endpoint = url;
  o.timeout = milliseconds(1000);
  o.retry_initial_backoff = milliseconds(20);
  o.retry_max_backoff = milliseconds(100);
  o.max_attempts = 2;
  o.spool.directory = dir;
  return o;
}

struct SpoolSdk {
  std::shared_ptr<Sdk> sdk;
  const SpanExporter* exporter = nullptr;
  explicit SpoolSdk(OtlpHttpOptions o) {
    auto made = make_otlp_http_exporter(std::move(o));
    EXPECT_TRUE(made) << (made ? "" : made.error().message);
    exporter = made->get();
    Config c;
    c.read_environment = false;
    c.custom_exporter = std::move(*made);
    c.batch = BatchOptions{2048, 128, milliseconds(5), milliseconds(2000)};
    auto created = Sdk::create(std::move(c));
    EXPECT_TRUE(created);
    sdk = *created;
  }
  ~SpoolSdk() { sdk->shutdown(milliseconds(500)); }
  OtlpExporterStats stats() const { return *otlp_exporter_stats(*exporter); }
  // Ends spans i = from..to-1, flushing after every 400: the span queue
  // (2048, in stripes of 512) never overflows, so nothing is dropped or
  // reordered before the exporter, whatever the machine's load.
  void emit(int64_t from, int64_t to, milliseconds flush_timeout = milliseconds(10000)) {
    Tracer tracer = sdk->tracer();
    for (int64_t i = from; i < to; ++i) {
      {
        Span s = tracer.start_span("call");
        s.set_attribute("i", i);
      }
      if ((i - from) % 400 == 399) sdk->force_flush(flush_timeout);
    }
  }
  // Waits (bounded) until nothing is waiting any more.
  bool wait_delivered(std::chrono::seconds limit) const {
    auto deadline = Clock::now() + limit;
    while (Clock::now() < deadline) {
      if (stats().pending_spans == 0) return true;
      std::this_thread::sleep_for(milliseconds(10));
    }
    return false;
  }
};

// Every value in [0, n) arrived exactly once.
void expect_each_once(const std::vector<int64_t>& arrived, int64_t n) {
  std::map<int64_t, int> seen;
  for (int64_t i : arrived) ++seen[i];
  int64_t missing = 0, twice = 0;
  for (int64_t i = 0; i < n; ++i) {
    auto it = seen.find(i);
    if (it == seen.end()) {
      ++missing;
    } else if (it->second > 1) {
      ++twice;
    }
  }
  EXPECT_EQ(missing, 0);
  EXPECT_EQ(twice, 0);
}

class SpoolE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    set_log_handler([](std::string_view) {});
  }
  void TearDown() override { set_log_handler(nullptr); }
};

TEST_F(SpoolE2E, AnOutageLosesNothingAndEachSpanArrivesOnceInOrder) {
  Collector collector;
  ASSERT_TRUE(collector.ok());
  TempDir dir;
  SpoolSdk s(spool_options(collector.url(), dir.path()));
  s.emit(0, 1000);
  ASSERT_TRUE(s.sdk->force_flush(milliseconds(10000)));
  ASSERT_TRUE(collector.wait_for(1000, std::chrono::seconds(20)));

  collector.set_up(false);
  // More than the in-memory backlog holds: the queue keeps draining into
  // the spool while the sender backs off.
  s.emit(1000, 21000);
  ASSERT_TRUE(s.sdk->force_flush(milliseconds(20000)))
      << "with the endpoint down, a flush ends once everything is on disk";
  OtlpExporterStats during = s.stats();
  EXPECT_GT(during.spooled_spans, 0u);
  EXPECT_EQ(during.failed_spans, 0u);
  EXPECT_EQ(s.sdk->stats().processor.dropped, 0u);

  collector.set_up(true);
  s.emit(21000, 22000);  // new spans queue behind the spooled ones
  ASSERT_TRUE(s.wait_delivered(std::chrono::seconds(60)));
  ASSERT_TRUE(collector.wait_for(22000, std::chrono::seconds(20)));
  std::vector<int64_t> arrived = collector.arrived();
  expect_each_once(arrived, 22000);
  EXPECT_EQ(arrived.size(), 22000u);
  // One application thread: spans arrive in the order they ended.
  EXPECT_TRUE(std::is_sorted(arrived.begin(), arrived.end()));
  OtlpExporterStats after = s.stats();
  EXPECT_EQ(after.exported_spans, 22000u);
  EXPECT_EQ(after.failed_spans, 0u);
}

TEST_F(SpoolE2E, ShutdownDuringAnOutageLeavesTheSpoolToTheNextExporter) {
  Collector collector;
  ASSERT_TRUE(collector.ok());
  collector.set_up(false);
  TempDir dir;
  {
    SpoolSdk s(spool_options(collector.url(), dir.path()));
    s.emit(0, 3000);
    // The deadline is generous because this test is about the handover, not
    // speed: a shutdown whose deadline passes while the worker still exports
    // counts what is left as failed, and under a sanitizer on a loaded
    // machine the last batches can take seconds. It returns once done.
    s.sdk->shutdown(milliseconds(30000));
    EXPECT_EQ(s.stats().failed_spans, 0u);
    EXPECT_EQ(s.stats().exported_spans, 0u);
  }
  collector.set_up(true);
  SpoolSdk next(spool_options(collector.url(), dir.path()));
  EXPECT_EQ(next.stats().recovered_spans, 3000u);
  ASSERT_TRUE(next.wait_delivered(std::chrono::seconds(30)));
  ASSERT_TRUE(collector.wait_for(3000, std::chrono::seconds(10)));
  expect_each_once(collector.arrived(), 3000);
}

TEST_F(SpoolE2E, AFullSpoolDropsAndCounts) {
  Collector collector;
  ASSERT_TRUE(collector.ok());
  collector.set_up(false);
  TempDir dir;
  OtlpHttpOptions o = spool_options(collector.url(), dir.path());
  o.spool.max_bytes = 64 * 1024;
  o.max_pending_bytes = 16 * 1024;
  SpoolSdk s(o);
  // Flushes cannot finish here (memory never empties): they only pace the spans.
  s.emit(0, 20000, milliseconds(20));
  s.sdk->force_flush(milliseconds(200));
  OtlpExporterStats st = s.stats();
  EXPECT_GT(st.spool_full_dropped_spans, 0u);
  EXPECT_GE(st.failed_spans, st.spool_full_dropped_spans);
  EXPECT_GE(warning_count("otlp_spool_full"), 1u);
  // Everything is accounted for: dropped at the queue, failed, or waiting.
  SdkStats sdk = s.sdk->stats();
  EXPECT_EQ(sdk.processor.dropped + st.failed_spans + st.pending_spans, 20000u);
}

// --- Across processes ---------------------------------------------------

struct Child {
  pid_t pid = -1;
  int out = -1;  // the child's stdout
};

Child spawn(const std::vector<std::string>& args) {
  int fds[2];
  Child c;
  if (pipe(fds) != 0) return c;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, fds[1], 1);
  posix_spawn_file_actions_addclose(&actions, fds[0]);
  std::vector<std::string> copy = args;
  std::string program = CONVTRACE_SPOOL_PROGRAM;
  std::vector<char*> argv{program.data()};
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  if (posix_spawn(&c.pid, program.c_str(), &actions, nullptr, argv.data(), environ) != 0) {
    c.pid = -1;
  }
  posix_spawn_file_actions_destroy(&actions);
  close(fds[1]);
  c.out = fds[0];
  return c;
}

// Reads one line from the child (bounded by `limit`).
std::string read_line(int fd, std::chrono::seconds limit) {
  std::string line;
  auto deadline = Clock::now() + limit;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 50) <= 0) continue;
    char c;
    if (read(fd, &c, 1) != 1) break;
    if (c == '\n') return line;
    line += c;
  }
  return line;
}

int wait_exit(pid_t pid, std::chrono::seconds limit) {
  auto deadline = Clock::now() + limit;
  int status = 0;
  while (Clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::this_thread::sleep_for(milliseconds(10));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -2;
}

TEST_F(SpoolE2E, AProcessKilledDuringAnOutageLeavesASpoolTheNextProcessSends) {
  Collector collector;
  ASSERT_TRUE(collector.ok());
  collector.set_up(false);
  TempDir dir;
  const int64_t n = 5000;
  Child writer = spawn({"write", collector.url(), dir.path(), std::to_string(n)});
  ASSERT_GT(writer.pid, 0);
  EXPECT_EQ(read_line(writer.out, std::chrono::seconds(60)), "spooled");
  // It goes on ending spans into the spool; kill it in the middle of that.
  std::this_thread::sleep_for(milliseconds(200));
  kill(writer.pid, SIGKILL);
  int status = 0;
  waitpid(writer.pid, &status, 0);
  close(writer.out);
  EXPECT_TRUE(WIFSIGNALED(status));

  collector.set_up(true);
  Child deliverer = spawn({"deliver", collector.url(), dir.path()});
  ASSERT_GT(deliverer.pid, 0);
  std::string line = read_line(deliverer.out, std::chrono::seconds(90));
  EXPECT_EQ(wait_exit(deliverer.pid, std::chrono::seconds(30)), 0) << line;
  close(deliverer.out);
  ASSERT_EQ(line.rfind("recovered ", 0), 0u) << line;
  EXPECT_GE(std::stoll(line.substr(10)), n);
  // Everything spooled before the kill arrived, each once; what the killed
  // process was writing at the kill may be torn and is then skipped.
  expect_each_once(collector.arrived(), n);
}

}  // namespace
}  // namespace convtrace
