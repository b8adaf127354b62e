#include "genai/content.h"

#include <vector>

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

}  // namespace

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
