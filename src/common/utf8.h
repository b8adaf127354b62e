// One UTF-8 rule for all text that enters convtrace.
//
// OTLP protobuf `string` fields, OTLP/JSON, JSON lines, the store's CLI output
// and W3C baggage all require well-formed UTF-8, and an id must read the same
// in every one of them. So text is checked once, where it enters (the SDK's
// setters and scopes, extracted headers, provider responses, OTLP requests,
// Store::insert): well-formed text is kept byte for byte, and each ill-formed
// sequence is replaced by one U+FFFD per maximal subpart, as the Unicode
// Standard recommends (§3.9, "U+FFFD Substitution of Maximal Subparts"; the
// WHATWG Encoding Standard and Python's "replace" handler do the same). Each
// repair counts an `invalid_utf8` warning. Everything downstream may assume
// valid text.
//
// The check is made for the hot path: runs of ASCII are tested eight bytes at
// a time, and only a byte >= 0x80 leaves the inline loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/span_data.h"

namespace convtrace::utf8 {

// U+FFFD REPLACEMENT CHARACTER, encoded.
inline constexpr std::string_view kReplacement = "\xEF\xBF\xBD";
// The warning category counted for every repaired text.
inline constexpr std::string_view kWarning = "invalid_utf8";

// Whether p[0, n) is all ASCII: eight bytes at a time, the last (partial)
// word read overlapping the one before, no branch per byte.
inline bool is_ascii(const char* p, size_t n) noexcept {
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  if (n >= 8) {
    uint64_t any = 0;
    for (size_t i = 0; i + 8 <= n; i += 8) {
      uint64_t word;
      std::memcpy(&word, p + i, 8);
      any |= word;
    }
    uint64_t last;
    std::memcpy(&last, p + n - 8, 8);
    return ((any | last) & kHigh) == 0;
  }
  if (n >= 4) {
    uint32_t head, tail;
    std::memcpy(&head, p, 4);
    std::memcpy(&tail, p + n - 4, 4);
    return ((head | tail) & 0x80808080U) == 0;
  }
  unsigned any = 0;
  for (size_t i = 0; i < n; ++i) any |= static_cast<unsigned char>(p[i]);
  return any < 0x80;
}

// The length of the ASCII prefix of p[0, n).
inline size_t ascii_prefix(const char* p, size_t n) noexcept {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t word;
    std::memcpy(&word, p + i, 8);
    if (word & 0x8080808080808080ULL) break;
  }
  while (i < n && static_cast<unsigned char>(p[i]) < 0x80) ++i;
  return i;
}

// Length (2–4) of the well-formed sequence starting at p[0] (p[0] >= 0x80,
// n >= 1 bytes available), or 0 when it is ill-formed; then *bad receives the
// length (1–3) of its maximal subpart, the bytes one U+FFFD replaces.
size_t sequence_length(const unsigned char* p, size_t n, size_t* bad) noexcept;

// Whether p[0, n) is well-formed, character by character (out of line: for
// text that is not all ASCII).
bool valid_text(const char* p, size_t n) noexcept;

// Whether `s` is well-formed UTF-8.
inline bool valid(std::string_view s) noexcept {
  return is_ascii(s.data(), s.size()) || valid_text(s.data(), s.size());
}

// Appends `s` to `out` with each maximal subpart of an ill-formed sequence
// replaced by U+FFFD. Returns the number of replacements.
size_t append_repaired(std::string_view s, std::string& out);

// `s` repaired (a copy; no warning).
std::string repaired(std::string_view s);

// Repairs `s` in place when it is ill-formed, counting an invalid_utf8
// warning that names `what` ("span name", "attribute 'user.id'"). Returns the
// number of replacements (0: `s` was valid and is unchanged).
size_t repair(std::string& s, std::string_view what) noexcept;

// Makes `s` hold `value`, repaired (with a warning naming `what`) when ill-formed.
void assign(std::string& s, std::string_view value, std::string_view what);

// Counts the invalid_utf8 warning for `replaced` replacements in `what`.
[[gnu::cold]] void warn(std::string_view what, size_t replaced) noexcept;

// The largest length <= max at which `s` can be cut without splitting a
// multi-byte sequence (for valid text: the cut keeps it valid).
inline size_t cut_point(std::string_view s, size_t max) noexcept {
  if (max >= s.size()) return s.size();
  size_t n = max;
  // A lead byte is at most three bytes before the continuation byte at s[max].
  for (int back = 0; back < 3 && n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80;
       ++back) {
    --n;
  }
  return (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80 ? max : n;
}

// --- Spans and attributes ------------------------------------------------------

// Whether every string an attribute holds (key, value, array elements) is valid.
bool valid(const Attribute& attribute) noexcept;
bool valid(const std::vector<Attribute>& attributes) noexcept;
// Whether every string of `span` is valid, its resource's and scope's included.
bool valid(const SpanData& span) noexcept;

// Repairs every string an attribute list holds, with one warning per repaired
// string naming `where` ("span", "resource"). Returns the replacements made.
size_t repair(std::vector<Attribute>& attributes, std::string_view where) noexcept;
// Repairs every string of `span`, giving it a repaired copy of its resource
// or scope when those hold invalid text. Returns the replacements made.
size_t repair(SpanData& span) noexcept;

}  // namespace convtrace::utf8
