#include "common/diagnostics.h"

#include "common/fork_safety.h"

#include <cstdio>
#include <memory>
#include <mutex>
#include <string>

#include "convtrace/diagnostics.h"

namespace convtrace {
namespace {

struct CategoryState {
  uint64_t count = 0;
  uint64_t suppressed = 0;
  std::chrono::steady_clock::time_point last_logged{};
  bool logged_once = false;
};

struct State {
  std::mutex mu;
  std::map<std::string, CategoryState, std::less<>> categories;  // guarded by mu
  std::shared_ptr<LogHandler> handler;                           // guarded by mu
  std::chrono::milliseconds interval{60000};                     // guarded by mu
};

// Leaked on purpose: warnings may be reported from static destructors at exit.
State& state() {
  static State* s = new State();
  // A warning logged in a forked child must not find the lock held by a
  // thread that no longer exists.
  static MutexForkGuard* guard = new MutexForkGuard(s->mu, ForkOrder::diagnostics);
  (void)guard;
  return *s;
}

void emit(const std::shared_ptr<LogHandler>& handler, const std::string& line) noexcept {
  try {
    if (handler && *handler) {
      (*handler)(line);
    } else {
      std::fprintf(stderr, "convtrace: %s\n", line.c_str());
    }
  } catch (...) {
    // A throwing handler must not take the application down.
  }
}

}  // namespace

void report_warning(std::string_view category, std::string_view message) noexcept {
  try {
    State& s = state();
    std::string line;
    std::shared_ptr<LogHandler> handler;
    {
      std::lock_guard<std::mutex> lock(s.mu);
      auto it = s.categories.find(category);
      if (it == s.categories.end())
        it = s.categories.emplace(std::string(category), CategoryState{}).first;
      CategoryState& c = it->second;
      ++c.count;
      auto now = std::chrono::steady_clock::now();
      if (c.logged_once && now - c.last_logged < s.interval) {
        ++c.suppressed;
        return;
      }
      line.append("warning [").append(category).append("] ").append(message);
      if (c.suppressed > 0) {
        line.append(" (").append(std::to_string(c.suppressed)).append(" more since last report)");
      }
      c.suppressed = 0;
      c.logged_once = true;
      c.last_logged = now;
      handler = s.handler;
    }
    emit(handler, line);
  } catch (...) {
  }
}

void log_line(std::string_view message) noexcept {
  try {
    std::shared_ptr<LogHandler> handler;
    {
      std::lock_guard<std::mutex> lock(state().mu);
      handler = state().handler;
    }
    emit(handler, std::string(message));
  } catch (...) {
  }
}

std::map<std::string, uint64_t> warning_counts() {
  std::map<std::string, uint64_t> out;
  std::lock_guard<std::mutex> lock(state().mu);
  for (const auto& [name, c] : state().categories) out[name] = c.count;
  return out;
}

uint64_t warning_count(std::string_view category) {
  std::lock_guard<std::mutex> lock(state().mu);
  auto it = state().categories.find(category);
  return it == state().categories.end() ? 0 : it->second.count;
}

void set_log_handler(LogHandler handler) {
  auto p = handler ? std::make_shared<LogHandler>(std::move(handler)) : nullptr;
  std::lock_guard<std::mutex> lock(state().mu);
  state().handler = std::move(p);
}

void set_warning_interval(std::chrono::milliseconds interval) {
  std::lock_guard<std::mutex> lock(state().mu);
  state().interval = interval;
}

void TEST_reset_warnings() {
  std::lock_guard<std::mutex> lock(state().mu);
  state().categories.clear();
}

}  // namespace convtrace
