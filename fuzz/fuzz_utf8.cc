// The UTF-8 rule on any bytes: the repaired text is valid, repairing is
// idempotent and leaves valid text unchanged, validation agrees with it, and
// a cut at cut_point never splits a character of valid text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "common/utf8.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convtrace;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const std::string fixed = utf8::repaired(in);
  if (!utf8::valid(fixed)) std::abort();
  if (utf8::repaired(fixed) != fixed) std::abort();
  if (utf8::valid(in) != (fixed == in)) std::abort();
  const size_t ascii = utf8::ascii_prefix(in.data(), in.size());
  for (size_t i = 0; i < ascii; ++i) {
    if (static_cast<unsigned char>(in[i]) >= 0x80) std::abort();
  }
  if (ascii < in.size() && static_cast<unsigned char>(in[ascii]) < 0x80) std::abort();
  for (size_t max = 0; max <= fixed.size() && max < 64; ++max) {
    const size_t cut = utf8::cut_point(fixed, max);
    if (cut > max || !utf8::valid(std::string_view(fixed).substr(0, cut))) std::abort();
    if (max >= 3 && cut + 3 < max) std::abort();  // at most a character is given up
  }
  return 0;
}
