// The range of times convtrace accepts, stores and queries.
//
// A time is Unix nanoseconds in a uint64_t, as OTLP's fixed64
// `*_time_unix_nano` fields carry it. What keeps the time is a signed 64-bit
// count of nanoseconds (the store's INTEGER columns, std::chrono's
// nanoseconds, the int64 of most SDKs), so the range is 1970-01-01T00:00:00Z
// (0) to 2262-04-11T23:47:16.854775807Z (INT64_MAX). A time outside is refused
// with an error that names it and says the range; it is never wrapped around
// (a `--since 2300-01-01` bound as a negative number would match everything).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "convtrace/expected.h"

namespace convtrace::unix_time {

inline constexpr uint64_t kMax = 9223372036854775807ULL;  // INT64_MAX
inline constexpr std::string_view kMaxText = "2262-04-11T23:47:16.854775807Z";

inline constexpr bool in_range(uint64_t unix_nano) { return unix_nano <= kMax; }

// The invalid_argument error for `what` (e.g. "Span.start_time_unix_nano")
// holding `unix_nano`, which lies past kMax.
Error out_of_range(std::string_view what, uint64_t unix_nano);

// Error{} when `unix_nano` is in range, else out_of_range(what, unix_nano).
Error check(std::string_view what, uint64_t unix_nano);

// "2024-03-01" (midnight UTC) or RFC 3339 ("2024-03-01T12:00:00Z",
// "2024-03-01T12:00:00.5+02:00") to Unix nanoseconds. Errors: parse_error
// when the text is neither (or names no such day, like 2024-02-30);
// invalid_argument when it is a real date or time outside the range (before
// 1970-01-01T00:00:00Z, or after kMaxText), with a message saying so.
Expected<uint64_t> parse(std::string_view text);

// RFC 3339 in UTC: "2024-03-01T12:00:00Z", with as many fraction digits as
// the nanoseconds need ("2262-04-11T23:47:16.854775807Z").
std::string format(uint64_t unix_nano);

}  // namespace convtrace::unix_time
