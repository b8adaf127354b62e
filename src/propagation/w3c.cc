// The W3C header formats: traceparent, tracestate, baggage.
#include <string>
#include <string_view>
#include <vector>

#include "common/diagnostics.h"
#include "common/percent.h"
#include "common/utf8.h"
#include "convtrace/propagation.h"

namespace convtrace {
namespace {

bool is_lower_hex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool is_lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// tracestate key characters after the first: lcalpha / DIGIT / "_" / "-" / "*" / "/"
bool is_tracestate_key_char(char c) {
  return is_lcalpha(c) || is_digit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

// simple-key = lcalpha 0*255(keychar)
// multi-tenant-key = tenant-id "@" system-id
//   tenant-id = (lcalpha / DIGIT) 0*240(keychar); system-id = lcalpha 0*13(keychar)
bool valid_tracestate_key(std::string_view key) {
  size_t at = key.find('@');
  auto rest_ok = [](std::string_view s) {
    for (char c : s.substr(1)) {
      if (!is_tracestate_key_char(c)) return false;
    }
    return true;
  };
  if (at == std::string_view::npos) {
    return !key.empty() && key.size() <= 256 && is_lcalpha(key[0]) && rest_ok(key);
  }
  std::string_view tenant = key.substr(0, at);
  std::string_view system = key.substr(at + 1);
  return !tenant.empty() && tenant.size() <= 241 &&
         (is_lcalpha(tenant[0]) || is_digit(tenant[0])) && rest_ok(tenant) && !system.empty() &&
         system.size() <= 14 && is_lcalpha(system[0]) && rest_ok(system);
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr;
// nblk-chr = %x21-2B / %x2D-3C / %x3E-7E
bool valid_tracestate_value(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7E || c == ',' || c == '=') return false;
  }
  return true;
}

// token = 1*tchar (RFC 7230)
bool is_tchar(char c) {
  if (is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

// Property values are raw baggage-octets (percent-encoded when needed).
bool is_baggage_octets(std::string_view s) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    bool ok = c == 0x21 || (c >= 0x23 && c <= 0x2B) || (c >= 0x2D && c <= 0x3A) ||
              (c >= 0x3C && c <= 0x5B) || (c >= 0x5D && c <= 0x7E);
    if (!ok) return false;
  }
  return true;
}

// Normalizes "k1=v1 ; k2" properties: each trimmed and validated; invalid ones
// are dropped (the entry itself is kept). Returns them joined with ';'.
std::string normalize_properties(std::string_view text, bool* all_valid) {
  std::string out;
  *all_valid = true;
  while (true) {
    size_t semi = text.find(';');
    std::string_view prop = trim_ows(text.substr(0, semi));
    if (!prop.empty()) {
      size_t eq = prop.find('=');
      std::string_view key = trim_ows(prop.substr(0, eq));
      std::string_view value =
          eq == std::string_view::npos ? std::string_view() : trim_ows(prop.substr(eq + 1));
      if (is_token(key) && is_baggage_octets(value)) {
        if (!out.empty()) out += ';';
        out.append(key.data(), key.size());
        if (eq != std::string_view::npos) {
          out += '=';
          out.append(value.data(), value.size());
        }
      } else {
        *all_valid = false;
      }
    }
    if (semi == std::string_view::npos) break;
    text.remove_prefix(semi + 1);
  }
  return out;
}

}  // namespace

bool parse_traceparent(std::string_view traceparent, SpanContext* out) noexcept {
  std::string_view s = trim_ows(traceparent);
  // version "-" trace-id "-" parent-id "-" trace-flags: 2+1+32+1+16+1+2 = 55
  if (s.size() < 55) return false;
  std::string_view version = s.substr(0, 2);
  if (!is_lower_hex(version) || version == "ff") return false;
  if (s[2] != '-' || s[35] != '-' || s[52] != '-') return false;
  if (version == "00") {
    if (s.size() != 55) return false;
  } else if (s.size() > 55 && s[55] != '-') {
    // A later version may append fields, always after a '-'.
    return false;
  }
  std::string_view trace = s.substr(3, 32);
  std::string_view span = s.substr(36, 16);
  std::string_view flags = s.substr(53, 2);
  if (!is_lower_hex(trace) || !is_lower_hex(span) || !is_lower_hex(flags)) return false;
  SpanContext parsed;
  if (!TraceId::from_hex(trace, &parsed.trace_id) || !SpanId::from_hex(span, &parsed.span_id)) {
    return false;
  }
  if (!parsed.valid()) return false;  // all-zero ids
  auto nibble = [](char c) { return c <= '9' ? c - '0' : c - 'a' + 10; };
  parsed.flags = static_cast<uint8_t>(nibble(flags[0]) * 16 + nibble(flags[1]));
  parsed.remote = true;
  *out = std::move(parsed);
  return true;
}

std::string format_traceparent(const SpanContext& span) {
  if (!span.valid()) return {};
  std::string out;
  out.reserve(55);
  out += "00-";
  out += span.trace_id.hex();
  out += '-';
  out += span.span_id.hex();
  out += span.sampled() ? "-01" : "-00";
  return out;
}

std::string normalize_tracestate(std::string_view tracestate) {
  std::string out;
  std::vector<std::string_view> keys;
  while (!tracestate.empty() && keys.size() < kTracestateMaxMembers) {
    size_t comma = tracestate.find(',');
    std::string_view member = trim_ows(tracestate.substr(0, comma));
    size_t eq = member.find('=');
    if (eq != std::string_view::npos) {
      std::string_view key = member.substr(0, eq);
      std::string_view value = member.substr(eq + 1);
      bool repeated = false;
      for (std::string_view k : keys) repeated = repeated || k == key;
      if (!repeated && valid_tracestate_key(key) && valid_tracestate_value(value)) {
        keys.push_back(key);
        if (!out.empty()) out += ',';
        out.append(member.data(), member.size());
      }
    }
    if (comma == std::string_view::npos) break;
    tracestate.remove_prefix(comma + 1);
  }
  return out;
}

std::vector<BaggageEntry> parse_baggage(std::string_view baggage) {
  std::vector<BaggageEntry> entries;
  size_t bytes = 0;  // of the members kept, with their separating commas
  while (!baggage.empty()) {
    size_t comma = baggage.find(',');
    std::string_view member = trim_ows(baggage.substr(0, comma));
    if (comma == std::string_view::npos) {
      baggage = {};
    } else {
      baggage.remove_prefix(comma + 1);
    }
    if (member.empty()) continue;
    if (entries.size() >= kBaggageMaxEntries) break;
    size_t cost = member.size() + (entries.empty() ? 0 : 1);
    if (bytes + cost > kBaggageMaxBytes) continue;  // left out whole; a later one may fit

    size_t semi = member.find(';');
    std::string_view pair = member.substr(0, semi);
    size_t eq = pair.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim_ows(pair.substr(0, eq));
    if (!is_token(key)) continue;
    BaggageEntry entry;
    size_t replaced = 0;
    if (!percent_decode(trim_ows(pair.substr(eq + 1)), entry.value, &replaced)) continue;
    entry.key = std::string(key);
    if (replaced > 0) utf8::warn("baggage entry '" + entry.key + "'", replaced);
    if (semi != std::string_view::npos) {
      bool all_valid;
      entry.properties = normalize_properties(member.substr(semi + 1), &all_valid);
    }
    bytes += cost;
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string format_baggage(const std::vector<BaggageEntry>& entries) {
  std::string out;
  size_t count = 0;
  size_t dropped = 0;
  for (const BaggageEntry& e : entries) {
    bool props_valid = true;
    std::string props =
        e.properties.empty() ? std::string() : normalize_properties(e.properties, &props_valid);
    if (!is_token(e.key) || !props_valid) {
      ++dropped;
      continue;
    }
    std::string member = e.key;
    member += '=';
    member += percent_encode_baggage(e.value);
    if (!props.empty()) {
      member += ';';
      member += props;
    }
    size_t cost = member.size() + (out.empty() ? 0 : 1);
    if (count >= kBaggageMaxEntries || out.size() + cost > kBaggageMaxBytes) {
      ++dropped;
      continue;
    }
    if (!out.empty()) out += ',';
    out += member;
    ++count;
  }
  if (dropped > 0) {
    report_warning("baggage_dropped",
                   std::to_string(dropped) +
                       " baggage entries left out (invalid key or property, or past the W3C "
                       "limits of 180 entries / 8192 bytes)");
  }
  return out;
}

}  // namespace convtrace
