// Internal side of diagnostics.h: how library code reports a warning.
#pragma once

#include <string_view>

namespace convtrace {

// Counts one warning of `category` and logs `message` unless this category
// was logged less than the warning interval ago (then the next line that gets
// through says how many were suppressed). Never throws, never blocks on I/O
// for long: the log handler runs outside any convtrace lock. Cold: the
// compiler moves the code that builds a warning's message out of the hot
// paths' instruction-cache lines.
[[gnu::cold]] void report_warning(std::string_view category, std::string_view message) noexcept;

// Logs an informational line unconditionally (start-up facts, CLI use).
void log_line(std::string_view message) noexcept;

}  // namespace convtrace
