#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>

#include "otlp/test_http_server.h"

extern char** environ;

namespace {

using Clock = std::chrono::steady_clock;

// Runs the lifecycle program; returns its exit status, or -1 when it had to
// be killed after `limit`.
int run(const std::vector<std::string>& args, std::chrono::milliseconds limit) {
  std::vector<char*> argv;
  std::string program = CONVTRACE_LIFECYCLE_PROGRAM;
  argv.push_back(program.data());
  std::vector<std::string> copy = args;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv.data(), environ) != 0) return -2;
  auto deadline = Clock::now() + limit;
  int status = 0;
  for (;;) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) break;
    if (Clock::now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

std::string temp_path(const char* name) {
  std::string dir = ::testing::TempDir();
  return dir + "/" + name + "-" + std::to_string(getpid()) + ".jsonl";
}

int count_lines(const std::string& path) {
  std::ifstream in(path);
  int n = 0;
  std::string line;
  while (std::getline(in, line)) n += line.empty() ? 0 : 1;
  return n;
}

TEST(Lifecycle, ExitFlushesAnInstalledSdkThatWasNeverShutDown) {
  std::string path = temp_path("static-sdk");
  ASSERT_EQ(run({"static-sdk", path}, std::chrono::seconds(20)), 0);
  EXPECT_EQ(count_lines(path), 300);
  std::remove(path.c_str());
}

TEST(Lifecycle, SpansAfterShutdownAndShutdownTwiceAreSafe) {
  std::string path = temp_path("late-spans");
  ASSERT_EQ(run({"late-spans", path}, std::chrono::seconds(20)), 0);
  EXPECT_EQ(count_lines(path), 1) << "only the span ended before shutdown is exported";
  std::remove(path.c_str());
}

TEST(Lifecycle, SignalsDuringShutdownDoNotHangPastTheTimeout) {
  std::atomic<bool> release{false};
  convtrace::testing::TestHttpServer slow([&](const convtrace::testing::TestHttpServer::Request&) {
    auto until = Clock::now() + std::chrono::seconds(10);
    while (!release && Clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return convtrace::testing::TestHttpServer::Response{};
  });
  ASSERT_TRUE(slow.ok());
  auto start = Clock::now();
  int status = run({"signals", slow.url()}, std::chrono::seconds(15));
  auto elapsed = Clock::now() - start;
  release = true;
  EXPECT_EQ(status, 0);
  EXPECT_LT(elapsed, std::chrono::seconds(8)) << "shutdown timeout is 1.5 s";
}

}  // namespace
