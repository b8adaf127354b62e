#include "genai/content.h"

#include <vector>

#include "usage/messages.h"

namespace convtrace {
namespace {

bool is_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

std::string truncate_utf8(std::string_view text, size_t max) {
  if (text.size() <= max) return std::string(text);
  size_t cut = max;
  while (cut > 0 && is_continuation(static_cast<unsigned char>(text[cut]))) --cut;
  return std::string(text.substr(0, cut));
}

// Where a valid prefix can end, and what must follow it to close the document.
struct CutPoint {
  size_t end = 0;                 // bytes of the input kept
  std::string suffix;             // closing characters
  bool between_elements = false;  // the prefix may end in a comma or whitespace
};

// Scans JSON and remembers the last position (within the byte budget once the
// suffix is added) at which the document can be closed validly: between
// complete elements, or inside a string value at a character boundary.
// Returns false when `text` is not a well-formed enough JSON container.
bool last_cut(std::string_view text, size_t max, CutPoint* best, bool* found) {
  std::vector<char> stack;  // '[' or '{'
  bool in_string = false;
  bool string_is_key = false;
  int skip = 0;             // characters of an escape sequence still to pass
  bool expect_key = false;  // inside an object, before a key
  auto closers = [&](std::string extra) {
    for (auto it = stack.rbegin(); it != stack.rend(); ++it)
      extra.push_back(*it == '[' ? ']' : '}');
    return extra;
  };
  auto consider = [&](size_t end, std::string suffix, bool between) {
    if (end + suffix.size() <= max) {
      *best = CutPoint{end, std::move(suffix), between};
      *found = true;
    }
  };
  auto in_array = [&] { return !stack.empty() && stack.back() == '['; };
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (in_string) {
      if (skip > 0) {  // inside "\x" or "\uXXXX": a cut here would leave a broken escape
        if (skip == 1 && text[i] == 'u') {  // the escape letter; \uXXXX has 4 more
          skip = 4;
        } else {
          --skip;
        }
        continue;
      }
      bool value = !string_is_key;
      if (value && !is_continuation(c)) consider(i, closers("\""), false);
      if (c == '\\') {
        skip = 1;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    switch (c) {
      case '"':
        string_is_key = !stack.empty() && stack.back() == '{' && expect_key;
        if (in_array()) consider(i, closers(""), true);  // drop this element whole
        in_string = true;
        break;
      case '{':
      case '[':
        if (in_array()) consider(i, closers(""), true);
        stack.push_back(static_cast<char>(c));
        expect_key = c == '{';
        consider(i + 1, closers(""), false);
        break;
      case '}':
      case ']':
        if (stack.empty()) return false;
        stack.pop_back();
        expect_key = false;
        consider(i + 1, closers(""), false);
        break;
      case ',':
        consider(i, closers(""), true);  // after a complete element, before the comma
        if (!stack.empty() && stack.back() == '{') expect_key = true;
        break;
      case ':':
        expect_key = false;
        break;
      default:
        break;
    }
  }
  return !in_string && stack.empty();
}

// A cut between elements may leave a comma or whitespace at the end of the
// prefix; dropping them keeps it valid.
std::string tidy(std::string prefix) {
  while (!prefix.empty() &&
         (prefix.back() == ',' || prefix.back() == ' ' || prefix.back() == '\n' ||
          prefix.back() == '\t' || prefix.back() == '\r')) {
    prefix.pop_back();
  }
  return prefix;
}

// --- Writing JSON within a byte budget --------------------------------------------

constexpr size_t kNoLimit = static_cast<size_t>(-1);

// The length of the UTF-8 sequence starting at text[i], or 0 when it is not
// a valid one (so it can be replaced: the result must stay valid JSON text).
size_t utf8_length(std::string_view text, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(text[i + k]); };
  const unsigned char c = b(0);
  if (c < 0x80) return 1;
  size_t n = c >= 0xC2 && c <= 0xDF   ? 2
             : c >= 0xE0 && c <= 0xEF ? 3
             : c >= 0xF0 && c <= 0xF4 ? 4
                                      : 0;
  if (n == 0 || i + n > text.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if (!is_continuation(b(k))) return 0;
  }
  if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F) || (c == 0xF0 && b(1) < 0x90) ||
      (c == 0xF4 && b(1) > 0x8F)) {
    return 0;
  }
  return n;
}

// Appends `text` escaped as the inside of a JSON string, stopping at a
// character boundary before `out` would grow past `limit` bytes. Invalid
// UTF-8 becomes U+FFFD. Returns whether all of `text` was written.
bool append_escaped(std::string& out, std::string_view text, size_t limit = kNoLimit) {
  static const char kHex[] = "0123456789abcdef";
  for (size_t i = 0; i < text.size();) {
    const unsigned char c = static_cast<unsigned char>(text[i]);
    char escape[8];
    std::string_view piece;
    size_t consumed = 1;
    if (c == '"' || c == '\\') {
      escape[0] = '\\';
      escape[1] = static_cast<char>(c);
      piece = std::string_view(escape, 2);
    } else if (c < 0x20) {
      const char* named = c == '\n' ? "\\n" : c == '\r' ? "\\r" : c == '\t' ? "\\t" : nullptr;
      if (named) {
        piece = named;
      } else {
        escape[0] = '\\';
        escape[1] = 'u';
        escape[2] = '0';
        escape[3] = '0';
        escape[4] = kHex[c >> 4];
        escape[5] = kHex[c & 15];
        piece = std::string_view(escape, 6);
      }
    } else if (c < 0x80) {
      piece = text.substr(i, 1);
    } else if (size_t n = utf8_length(text, i)) {
      piece = text.substr(i, n);
      consumed = n;
    } else {
      piece = "\xEF\xBF\xBD";  // U+FFFD REPLACEMENT CHARACTER
    }
    if (limit != kNoLimit && out.size() + piece.size() > limit) return false;
    out.append(piece.data(), piece.size());
    i += consumed;
  }
  return true;
}

void append_string(std::string& out, std::string_view text) {
  out += '"';
  append_escaped(out, text);
  out += '"';
}

void append_field(std::string& out, std::string_view name, std::string_view value) {
  out += ",\"";
  out += name;
  out += "\":";
  append_string(out, value);
}

std::string modality_of(const usage_internal::Part& p) {
  for (const char* m : {"image", "video", "audio"}) {
    if (p.mime_type.rfind(m, 0) == 0) return m;
  }
  return p.mime_type.empty() ? "image" : "document";
}

std::string redacted(const ContentCapture& capture, std::string_view key, std::string_view text) {
  return capture.redact ? capture.redact(key, text) : std::string(text);
}

bool has_text(const usage_internal::Part& p) { return p.type == "text" || p.type == "reasoning"; }

// A part whose text goes between `before` and `after`.
struct TextPart {
  std::string before, text, after;
};

TextPart text_part_json(const usage_internal::Part& p, const ContentCapture& capture,
                        std::string_view key) {
  TextPart t;
  t.before = "{\"type\":";
  append_string(t.before, p.type);
  t.before += ",\"content\":\"";
  t.text = redacted(capture, key, p.content);
  t.after = "\"}";
  return t;
}

// Any other part, whole.
std::string part_json(const usage_internal::Part& p, const ContentCapture& capture,
                      std::string_view key) {
  if (p.type.empty()) return redacted(capture, key, p.json);  // a schema part of its own, as sent
  std::string out = "{\"type\":";
  append_string(out, p.type);
  if (p.type == "tool_call" || p.type == "tool_call_response") {
    if (!p.id.empty()) append_field(out, "id", p.id);
    if (p.type == "tool_call") append_field(out, "name", p.name);
    const bool call = p.type == "tool_call";
    std::string value = p.json.empty() ? std::string() : redacted(capture, key, p.json);
    if (!value.empty() && !usage_internal::valid_json(value)) {
      std::string quoted;
      append_string(quoted, value);
      value = std::move(quoted);
    }
    if (!value.empty() || !call) {
      out += call ? ",\"arguments\":" : ",\"response\":";
      out += value.empty() ? "null" : value;
    }
  } else if (p.type == "uri" || p.type == "blob") {
    append_field(out, "modality", modality_of(p));
    if (!p.mime_type.empty()) append_field(out, "mime_type", p.mime_type);
    append_field(out, p.type == "uri" ? "uri" : "content", p.content);
  }
  out += '}';
  return out;
}

// Appends parts to `out` (inside an array), keeping `reserve` bytes for what
// must follow. Returns false once the limit stopped it (a part was cut or left out).
bool append_parts(std::string& out, const std::vector<usage_internal::Part>& parts, size_t max,
                  size_t reserve, const ContentCapture& capture, std::string_view key) {
  bool first = true;
  for (const usage_internal::Part& p : parts) {
    const size_t sep = first ? 0 : 1;
    if (has_text(p)) {
      TextPart t = text_part_json(p, capture, key);
      std::string escaped;
      append_escaped(escaped, t.text);
      if (out.size() + sep + t.before.size() + escaped.size() + t.after.size() + reserve <= max) {
        if (!first) out += ',';
        out += t.before;
        out += escaped;
        out += t.after;
        first = false;
        continue;
      }
      // Cut the text to what fits, and say so.
      const size_t fixed =
          sep + t.before.size() + kTruncationMarker.size() + t.after.size() + reserve;
      if (out.size() + fixed < max) {
        if (!first) out += ',';
        out += t.before;
        append_escaped(out, t.text, max - reserve - t.after.size() - kTruncationMarker.size());
        out += kTruncationMarker;
        out += t.after;
      }
      return false;
    }
    std::string whole = part_json(p, capture, key);
    if (out.size() + sep + whole.size() + reserve > max) return false;
    if (!first) out += ',';
    out += whole;
    first = false;
  }
  return true;
}

}  // namespace

Captured messages_json(const std::vector<usage_internal::Message>& messages, bool output,
                       const ContentCapture& capture, std::string_view key,
                       std::string_view default_finish) {
  const size_t max = capture.max_length;
  Captured c;
  std::string& out = c.json;
  out = "[";
  for (size_t i = 0; i < messages.size(); ++i) {
    const usage_internal::Message& m = messages[i];
    std::string head = i ? "," : "";
    head += "{\"role\":";
    append_string(head, m.role.empty() ? std::string_view("user") : std::string_view(m.role));
    head += ",\"parts\":[";
    std::string tail = "]";
    if (output) {
      append_field(tail, "finish_reason",
                   m.finish_reason.empty() ? default_finish : std::string_view(m.finish_reason));
    }
    tail += '}';
    // The closing "]" of the whole array is reserved as well.
    if (out.size() + head.size() + tail.size() + 1 > max) {
      c.truncated = true;
      break;
    }
    out += head;
    const bool complete = append_parts(out, m.parts, max, tail.size() + 1, capture, key);
    out += tail;
    if (!complete) {
      c.truncated = true;
      break;
    }
  }
  out += ']';
  return c;
}

Captured parts_json(const std::vector<usage_internal::Part>& parts, const ContentCapture& capture,
                    std::string_view key) {
  Captured c;
  c.json = "[";
  c.truncated = !append_parts(c.json, parts, capture.max_length, 1, capture, key);
  c.json += ']';
  return c;
}

Captured json_value(std::string_view text, const ContentCapture& capture, std::string_view key) {
  Captured c;
  std::string value = redacted(capture, key, text);
  const size_t max = capture.max_length;
  if (usage_internal::valid_json(value)) {
    c.truncated = value.size() > max;
    c.json = c.truncated ? truncate_content(value, max) : std::move(value);
    return c;
  }
  c.json = "\"";
  if (!append_escaped(
          c.json, value,
          max > kTruncationMarker.size() + 1 ? max - kTruncationMarker.size() - 1 : 0)) {
    c.json += kTruncationMarker;
    c.truncated = true;
  }
  c.json += '"';
  return c;
}

std::string truncate_content(std::string_view text, size_t max_bytes) {
  if (text.size() <= max_bytes) return std::string(text);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    text.remove_prefix(first);  // leading whitespace is not worth the budget
    CutPoint cut;
    bool found = false;
    if (last_cut(text, max_bytes, &cut, &found) && found) {
      std::string prefix(text.substr(0, cut.end));
      return (cut.between_elements ? tidy(std::move(prefix)) : prefix) + cut.suffix;
    }
  }
  return truncate_utf8(text, max_bytes);
}

}  // namespace convtrace
