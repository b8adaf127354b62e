// Warnings from the telemetry path, counted and rate-limited.
//
// convtrace never throws into the application and never writes a line per
// span. Problems it meets while recording or exporting (an unknown model, a
// bad environment value, a full queue, an unreachable collector) become
// warnings: each category is counted, the first occurrence is logged, and
// repeats are summarized at most once per interval ("… (37 more since last
// report)"). Everything here is thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>

namespace convtrace {

// Counts of warnings per category since start (or the last reset), e.g.
// {"unknown_model": 3, "export_failed": 12}.
std::map<std::string, uint64_t> warning_counts();
uint64_t warning_count(std::string_view category);

// Where log lines go. Default: stderr, each line prefixed "convtrace: ".
// Pass nullptr to restore the default. The handler may be called from any
// thread, never while convtrace holds a lock.
using LogHandler = std::function<void(std::string_view line)>;
void set_log_handler(LogHandler handler);

// Minimum time between two log lines of one category (default 60 s).
void set_warning_interval(std::chrono::milliseconds interval);

// Extra methods (for testing)
void TEST_reset_warnings();

}  // namespace convtrace
