// Runs `convtrace collect` as a real child process on an ephemeral port.
#pragma once

#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

namespace convtrace::testing {

class CollectProcess {
 public:
  // Starts `convtrace collect --listen 127.0.0.1:0 --db <db> <extra...>` and
  // waits (bounded) for its "listening on http://HOST:PORT" line.
  explicit CollectProcess(const std::string& db, std::vector<std::string> extra = {}) {
    int out[2];
    if (pipe(out) != 0) return;
    std::vector<std::string> args = {CONVTRACE_CLI, "collect", "--listen",
                                     "127.0.0.1:0", "--db",    db};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = fork();
    if (pid_ == 0) {
      // A test that dies (a signal, a failed assertion that ends the
      // process) must not leave the server running.
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      dup2(out[1], STDOUT_FILENO);
      close(out[0]);
      close(out[1]);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(argv[0], argv.data());
      _exit(127);
    }
    close(out[1]);
    out_fd_ = out[0];
    std::string line;
    // With --grpc a second line names the gRPC listener.
    bool grpc = false;
    for (const std::string& a : extra) grpc = grpc || a == "--grpc";
    auto complete = [&] {
      size_t first = line.find('\n');
      return first != std::string::npos &&
             (!grpc || line.find('\n', first + 1) != std::string::npos);
    };
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (!complete() && std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_fd_, POLLIN, 0};
      if (poll(&p, 1, 200) <= 0) continue;
      char c[256];
      ssize_t n = read(out_fd_, c, sizeof c);
      if (n <= 0) break;
      line.append(c, static_cast<size_t>(n));
    }
    const std::string prefix = "listening on http://127.0.0.1:";
    size_t at = line.find(prefix);
    if (at != std::string::npos) port_ = std::stoi(line.substr(at + prefix.size()));
    const std::string grpc_prefix = "listening on grpc://127.0.0.1:";
    at = line.find(grpc_prefix);
    if (at != std::string::npos) grpc_port_ = std::stoi(line.substr(at + grpc_prefix.size()));
  }

  ~CollectProcess() {
    if (pid_ > 0 && !waited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
  }
  CollectProcess(const CollectProcess&) = delete;
  CollectProcess& operator=(const CollectProcess&) = delete;

  int port() const { return port_; }
  int grpc_port() const { return grpc_port_; }
  pid_t pid() const { return pid_; }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_); }

  void signal(int sig) { kill(pid_, sig); }
  // Sends SIGTERM and returns the exit status (-1 when killed by a signal).
  int stop(int sig = SIGTERM) {
    if (pid_ <= 0 || waited_) return -1;
    kill(pid_, sig);
    int status = 0;
    waitpid(pid_, &status, 0);
    waited_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1;
  int port_ = 0;
  int grpc_port_ = 0;
  bool waited_ = false;
};

}  // namespace convtrace::testing
