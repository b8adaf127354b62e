// Runs the built `convtrace` program as a child process and captures its output.
#pragma once

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

namespace convtrace::testing {

struct CliResult {
  int status = -1;
  std::string out;  // stdout
  std::string err;  // stderr
};

// Runs `convtrace <args>` through the shell; args are quoted by the caller.
inline CliResult run_cli(const std::string& args) {
  static int counter = 0;
  const std::string err_path = "/tmp/convtrace_cli_err_" + std::to_string(getpid()) + "_" +
                               std::to_string(++counter) + ".txt";
  std::string command = std::string("env -u CONVTRACE_PRICING_FILE '") + CONVTRACE_CLI + "' " +
                        args + " 2>'" + err_path + "'";
  CliResult run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) run.out.append(buf, n);
  const int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream in(err_path, std::ios::binary);
  run.err.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
  std::remove(err_path.c_str());
  return run;
}

}  // namespace convtrace::testing
