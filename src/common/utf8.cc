#include "common/utf8.h"

#include <memory>
#include <variant>

#include "common/diagnostics.h"

namespace convtrace::utf8 {

namespace {

// sequence_length, inlined into the loops below (non-ASCII text is checked
// one character at a time).
inline size_t length_of_sequence(const unsigned char* p, size_t n, size_t* bad) noexcept {
  // The well-formed sequences (Unicode Table 3-7): the lead byte fixes the
  // length and the allowed range of the second byte, which excludes overlong
  // forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
  const unsigned char c = p[0];
  size_t len;
  unsigned char lo = 0x80, hi = 0xBF;
  if (c >= 0xC2 && c <= 0xDF) {
    len = 2;
  } else if (c >= 0xE0 && c <= 0xEF) {
    len = 3;
    if (c == 0xE0) lo = 0xA0;
    if (c == 0xED) hi = 0x9F;
  } else if (c >= 0xF0 && c <= 0xF4) {
    len = 4;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;
  } else {
    *bad = 1;  // a continuation byte, C0, C1 or F5..FF: never part of a sequence
    return 0;
  }
  for (size_t i = 1; i < len; ++i) {
    const unsigned char lower = i == 1 ? lo : 0x80;
    const unsigned char upper = i == 1 ? hi : 0xBF;
    if (i >= n || p[i] < lower || p[i] > upper) {
      *bad = i;  // the lead and the continuation bytes that fit it
      return 0;
    }
  }
  return len;
}

}  // namespace

size_t sequence_length(const unsigned char* p, size_t n, size_t* bad) noexcept {
  return length_of_sequence(p, n, bad);
}

bool valid_text(const char* p, size_t n) noexcept {
  const auto* u = reinterpret_cast<const unsigned char*>(p);
  size_t i = 0;
  while (i < n) {
    if (u[i] < 0x80) {
      i += ascii_prefix(p + i, n - i);
      continue;
    }
    size_t bad = 0;
    const size_t len = length_of_sequence(u + i, n - i, &bad);
    if (len == 0) return false;
    i += len;
  }
  return true;
}

size_t append_repaired(std::string_view s, std::string& out) {
  const auto* u = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t replaced = 0;
  size_t run = 0;  // start of the bytes not yet copied
  size_t i = 0;
  while (i < n) {
    i += ascii_prefix(s.data() + i, n - i);
    if (i >= n) break;
    size_t bad = 0;
    const size_t len = length_of_sequence(u + i, n - i, &bad);
    if (len != 0) {
      i += len;
      continue;
    }
    out.append(s.data() + run, i - run);
    out.append(kReplacement);
    ++replaced;
    i += bad;
    run = i;
  }
  out.append(s.data() + run, n - run);
  return replaced;
}

std::string repaired(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 8);
  append_repaired(s, out);
  return out;
}

void warn(std::string_view what, size_t replaced) noexcept {
  try {
    std::string message = "invalid UTF-8 in ";
    message.append(what).append(": ").append(std::to_string(replaced));
    message.append(replaced == 1 ? " sequence" : " sequences").append(" replaced by U+FFFD");
    report_warning(kWarning, message);
  } catch (...) {
  }
}

size_t repair(std::string& s, std::string_view what) noexcept {
  if (valid(s)) return 0;
  try {
    std::string fixed;
    fixed.reserve(s.size() + 8);
    const size_t replaced = append_repaired(s, fixed);
    s.swap(fixed);
    warn(what, replaced);
    return replaced;
  } catch (...) {
    // Out of memory: an empty text is valid, the invalid one is not kept.
    s.clear();
    return 1;
  }
}

void assign(std::string& s, std::string_view value, std::string_view what) {
  if (valid(value)) {
    s.assign(value.data(), value.size());
    return;
  }
  std::string fixed;
  fixed.reserve(value.size() + 8);
  const size_t replaced = append_repaired(value, fixed);
  s.swap(fixed);
  warn(what, replaced);
}

// --- Spans and attributes ------------------------------------------------------

namespace {

bool value_valid(const AttributeValue& value) noexcept {
  if (const auto* s = std::get_if<std::string>(&value)) return valid(*s);
  if (const auto* v = std::get_if<std::vector<std::string>>(&value)) {
    for (const std::string& item : *v) {
      if (!valid(item)) return false;
    }
  }
  return true;
}

bool events_valid(const std::vector<SpanEvent>& events) noexcept {
  for (const SpanEvent& e : events) {
    if (!valid(e.name) || !valid(e.attributes)) return false;
  }
  return true;
}

bool links_valid(const std::vector<SpanLink>& links) noexcept {
  for (const SpanLink& l : links) {
    if (!valid(l.trace_state) || !valid(l.attributes)) return false;
  }
  return true;
}

std::string described(std::string_view where, std::string_view part, std::string_view key) {
  std::string out(where);
  out.append(" ").append(part);
  if (!key.empty()) out.append(" '").append(repaired(key)).append("'");
  return out;
}

}  // namespace

bool valid(const Attribute& attribute) noexcept {
  return valid(attribute.key) && value_valid(attribute.value);
}

bool valid(const std::vector<Attribute>& attributes) noexcept {
  for (const Attribute& a : attributes) {
    if (!valid(a)) return false;
  }
  return true;
}

bool valid(const SpanData& span) noexcept {
  return valid(span.name) && valid(span.trace_state) && valid(span.status.description) &&
         valid(span.attributes) && events_valid(span.events) && links_valid(span.links) &&
         (!span.resource || valid(span.resource->attributes)) &&
         (!span.scope || (valid(span.scope->name) && valid(span.scope->version)));
}

size_t repair(std::vector<Attribute>& attributes, std::string_view where) noexcept {
  size_t replaced = 0;
  try {
    for (Attribute& a : attributes) {
      if (valid(a)) continue;
      // The key is named as it will read once repaired.
      if (auto* s = std::get_if<std::string>(&a.value)) {
        replaced += repair(*s, described(where, "attribute", a.key));
      } else if (auto* v = std::get_if<std::vector<std::string>>(&a.value)) {
        for (std::string& item : *v) replaced += repair(item, described(where, "attribute", a.key));
      }
      replaced += repair(a.key, described(where, "attribute key", {}));
    }
  } catch (...) {
  }
  return replaced;
}

size_t repair(SpanData& span) noexcept {
  if (valid(span)) return 0;
  size_t replaced = 0;
  try {
    replaced += repair(span.name, "span name");
    replaced += repair(span.trace_state, "span trace state");
    replaced += repair(span.status.description, "span status description");
    replaced += repair(span.attributes, "span");
    for (SpanEvent& e : span.events) {
      replaced += repair(e.name, "span event name");
      replaced += repair(e.attributes, "span event");
    }
    for (SpanLink& l : span.links) {
      replaced += repair(l.trace_state, "span link trace state");
      replaced += repair(l.attributes, "span link");
    }
    if (span.resource && !valid(span.resource->attributes)) {
      auto copy = std::make_shared<Resource>(*span.resource);
      replaced += repair(copy->attributes, "resource");
      span.resource = std::move(copy);
    }
    if (span.scope && !(valid(span.scope->name) && valid(span.scope->version))) {
      auto copy = std::make_shared<InstrumentationScope>(*span.scope);
      replaced += repair(copy->name, "instrumentation scope name");
      replaced += repair(copy->version, "instrumentation scope version");
      span.scope = std::move(copy);
    }
  } catch (...) {
  }
  return replaced;
}

}  // namespace convtrace::utf8
