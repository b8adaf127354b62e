// Running the Node.js test peers of tests/node (official OpenTelemetry JS
// packages): availability checks that skip locally and fail in CI, and a
// runner that captures a script's output.
#pragma once

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace convtrace::testing {

inline const std::filesystem::path& node_dir() {
  static const std::filesystem::path dir =
      std::filesystem::path(CONVTRACE_SOURCE_DIR) / "tests" / "node";
  return dir;
}

inline bool running_in_ci() {
  const char* ci = std::getenv("CI");
  return ci != nullptr && *ci != '\0' && std::string(ci) != "false" && std::string(ci) != "0";
}

// Runs `cmd` through the shell; returns its exit status, appends its stdout to `out`.
inline int run_command(const std::string& cmd, std::string* out) {
  FILE* p = popen(cmd.c_str(), "r");
  if (!p) return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out->append(buf, n);
  int status = pclose(p);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

// Empty when node and the package `package` (under node_modules) are there; else why not.
inline std::string node_package_unavailable(const std::string& package) {
  std::string version;
  if (run_command("node --version 2>/dev/null", &version) != 0) return "node is not installed";
  if (!std::filesystem::exists(node_dir() / "node_modules" / package)) {
    return "tests/node/node_modules/" + package + " is missing (run: npm ci --prefix tests/node)";
  }
  return {};
}

// Writes `body` to a temporary file, runs `node SCRIPT [flag] FILE`, and
// returns its stdout; a non-zero exit fails the test.
inline std::string run_node_on_body(const std::string& script, const std::string& flag,
                                    const std::string& body) {
  std::filesystem::path file = std::filesystem::path(::testing::TempDir()) /
                               ("convtrace_node_body_" + std::to_string(::getpid()));
  {
    std::ofstream f(file, std::ios::binary);
    f.write(body.data(), static_cast<std::streamsize>(body.size()));
  }
  std::string out;
  int rc = run_command(
      "node '" + (node_dir() / script).string() + "' " + flag + " '" + file.string() + "'", &out);
  std::filesystem::remove(file);
  EXPECT_EQ(rc, 0) << script << " failed (see stderr above)";
  return rc == 0 ? out : std::string();
}

}  // namespace convtrace::testing

// Skips the test when a Node.js peer is unavailable, fails it when CI is set.
#define CONVTRACE_REQUIRE_NODE_PACKAGE(package)                                     \
  do {                                                                              \
    std::string why = ::convtrace::testing::node_package_unavailable(package);      \
    if (!why.empty()) {                                                             \
      if (::convtrace::testing::running_in_ci()) FAIL() << "CI is set but " << why; \
      GTEST_SKIP() << why;                                                          \
    }                                                                               \
  } while (0)
