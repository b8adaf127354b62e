#include "common/unix_time.h"

#include <cstdio>

namespace convtrace::unix_time {
namespace {

constexpr int64_t kNanosPerSecond = 1000000000;
constexpr std::string_view kRange = "1970-01-01T00:00:00Z to 2262-04-11T23:47:16.854775807Z";

bool digits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

bool leap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int days_in_month(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a civil date (proleptic Gregorian).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

// The civil date of a day count (the inverse of days_from_civil).
void civil_from_days(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

Error malformed() {
  return Error{Error::parse_error,
               "is not a date (YYYY-MM-DD) or an RFC 3339 time (2024-03-01T12:00:00Z)"};
}

Error outside(std::string_view side) {
  return Error{Error::invalid_argument, std::string("is ") + std::string(side) +
                                            " the times convtrace stores (" + std::string(kRange) +
                                            ")"};
}

}  // namespace

Error out_of_range(std::string_view what, uint64_t unix_nano) {
  return Error{Error::invalid_argument, std::string(what) + " " + std::to_string(unix_nano) +
                                            " (Unix nanoseconds) is after " +
                                            std::string(kMaxText) +
                                            ", the latest time convtrace stores"};
}

Error check(std::string_view what, uint64_t unix_nano) {
  return in_range(unix_nano) ? Error{} : out_of_range(what, unix_nano);
}

Expected<uint64_t> parse(std::string_view s) {
  int y, mo, d;
  if (!digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, &mo) ||
      s[7] != '-' || !digits(s, 8, 2, &d) || mo < 1 || mo > 12 || d < 1 ||
      d > days_in_month(y, mo)) {
    return malformed();
  }
  int64_t seconds = days_from_civil(y, mo, d) * 86400;
  int64_t nanos = 0;
  if (s.size() > 10) {
    int h, mi, se;
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, &h) || s.size() < 19 ||
        s[13] != ':' || !digits(s, 14, 2, &mi) || s[16] != ':' || !digits(s, 17, 2, &se) ||
        h > 23 || mi > 59 || se > 60) {
      return malformed();
    }
    seconds += h * 3600 + mi * 60 + se;
    size_t pos = 19;
    if (pos < s.size() && s[pos] == '.') {
      ++pos;
      int64_t scale = 100000000;
      size_t start = pos;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        nanos += (s[pos] - '0') * scale;  // digits past the ninth add nothing
        scale /= 10;
        ++pos;
      }
      if (pos == start) return malformed();
    }
    if (pos >= s.size()) return malformed();  // RFC 3339 requires an offset
    if (s[pos] == 'Z' || s[pos] == 'z') {
      if (pos + 1 != s.size()) return malformed();
    } else if (s[pos] == '+' || s[pos] == '-') {
      int oh, om;
      if (s.size() != pos + 6 || !digits(s, pos + 1, 2, &oh) || s[pos + 3] != ':' ||
          !digits(s, pos + 4, 2, &om) || oh > 23 || om > 59) {
        return malformed();
      }
      int64_t offset = oh * 3600 + om * 60;
      seconds += s[pos] == '+' ? -offset : offset;
    } else {
      return malformed();
    }
  }
  // Years are four digits, so `seconds` is far from overflowing; the product
  // with 1e9 is formed only once it is known to fit.
  if (seconds < 0) return outside("before");
  constexpr int64_t kMaxSeconds = static_cast<int64_t>(kMax / kNanosPerSecond);
  if (seconds > kMaxSeconds ||
      static_cast<uint64_t>(seconds) * kNanosPerSecond > kMax - static_cast<uint64_t>(nanos)) {
    return outside("after");
  }
  return static_cast<uint64_t>(seconds) * kNanosPerSecond + static_cast<uint64_t>(nanos);
}

std::string format(uint64_t unix_nano) {
  const int64_t seconds = static_cast<int64_t>(unix_nano / kNanosPerSecond);
  const auto nanos = static_cast<uint32_t>(unix_nano % kNanosPerSecond);
  int64_t y;
  int m, d;
  civil_from_days(seconds / 86400, &y, &m, &d);
  const int64_t day_seconds = seconds % 86400;
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02d-%02dT%02lld:%02lld:%02lld",
                        static_cast<long long>(y), m, d, static_cast<long long>(day_seconds / 3600),
                        static_cast<long long>(day_seconds / 60 % 60),
                        static_cast<long long>(day_seconds % 60));
  std::string out(buf, static_cast<size_t>(n));
  if (nanos != 0) {
    char frac[16];
    std::snprintf(frac, sizeof frac, ".%09u", nanos);
    std::string f(frac);
    while (f.back() == '0') f.pop_back();
    out += f;
  }
  out += 'Z';
  return out;
}

}  // namespace convtrace::unix_time
