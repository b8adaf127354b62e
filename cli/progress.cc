#include "progress.h"

#include <unistd.h>

namespace convtrace::cli {
namespace {

void write_all(int fd, const std::string& text) {
  size_t at = 0;
  while (at < text.size()) {
    ssize_t n = ::write(fd, text.data() + at, text.size() - at);
    if (n <= 0) return;
    at += static_cast<size_t>(n);
  }
}

}  // namespace

Progress::Progress(std::string_view command)
    : Progress("convtrace " + std::string(command), STDERR_FILENO, ::isatty(STDERR_FILENO) == 1,
               std::chrono::seconds(1)) {}

Progress::Progress(std::string label, int fd, bool terminal, std::chrono::milliseconds after)
    : label_(std::move(label)), fd_(fd), after_(after) {
  if (terminal) thread_ = std::thread([this] { show(); });
}

Progress::~Progress() { stop(); }

void Progress::stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Progress::show() {
  auto start = std::chrono::steady_clock::now();
  std::unique_lock<std::mutex> lock(mu_);
  if (cv_.wait_for(lock, after_, [this] { return done_; })) return;
  bool shown = false;
  while (!done_) {
    auto seconds =
        std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - start)
            .count();
    write_all(fd_, "\r" + label_ + ": working... " + std::to_string(seconds) + " s");
    shown = true;
    cv_.wait_for(lock, std::chrono::milliseconds(500), [this] { return done_; });
  }
  if (shown) write_all(fd_, "\r\033[K");  // erase the line
}

}  // namespace convtrace::cli
