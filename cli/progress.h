// Progress for the commands that may take a while on a large store: after a
// second, "convtrace <command>: working... 3 s" on stderr, updated in place and
// erased when the work is done — only when stderr is a terminal, so scripts
// and pipes never see it.
#pragma once

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace convtrace::cli {

class Progress {
 public:
  // For `command`, on stderr when it is a terminal.
  explicit Progress(std::string_view command);
  // On `fd`, shown when `terminal`, first after `after`.
  Progress(std::string label, int fd, bool terminal, std::chrono::milliseconds after);
  ~Progress();  // stop()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Ends the display (erasing the line, if one was shown). Idempotent.
  void stop();

 private:
  void show();

  std::string label_;
  int fd_;
  std::chrono::milliseconds after_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;  // guarded by mu_
  std::thread thread_;
};

}  // namespace convtrace::cli
