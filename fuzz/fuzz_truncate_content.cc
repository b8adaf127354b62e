// Captured content cut to a limit: never longer than the limit, never a split
// UTF-8 sequence, and valid JSON in whenever valid JSON came in.
#include <simdjson.h>

#include <cstdint>
#include <cstdlib>
#include <string>

#include "genai/content.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  size_t max = data[0] + 2;
  std::string text(reinterpret_cast<const char*>(data + 1), size - 1);
  std::string cut = convtrace::truncate_content(text, max);
  if (cut.size() > max) std::abort();
  simdjson::dom::parser parser;
  size_t first = text.find_first_not_of(" \t\r\n");
  bool container = first != std::string::npos && (text[first] == '{' || text[first] == '[');
  if (container && !parser.parse(text).error()) {
    if (parser.parse(cut).error()) std::abort();
  }
  return 0;
}
