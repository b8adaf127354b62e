#include "common/hex.h"

namespace convtrace {
namespace {

constexpr char kDigits[] = "0123456789abcdef";

int nibble(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

void hex_append(const uint8_t* data, size_t size, std::string& out) {
  // Grown once: a push_back per digit cost a capacity check each (the store
  // writes three ids a span).
  const size_t at = out.size();
  out.resize(at + 2 * size);
  char* p = &out[at];
  for (size_t i = 0; i < size; ++i) {
    p[2 * i] = kDigits[data[i] >> 4];
    p[2 * i + 1] = kDigits[data[i] & 0xF];
  }
}

std::string hex_encode(const uint8_t* data, size_t size) {
  std::string out;
  out.reserve(size * 2);
  hex_append(data, size, out);
  return out;
}

bool hex_decode(std::string_view hex, uint8_t* out) {
  if (hex.size() % 2 != 0) return false;
  for (size_t i = 0; i < hex.size(); i += 2) {
    int hi = nibble(hex[i]);
    int lo = nibble(hex[i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i / 2] = static_cast<uint8_t>((hi << 4) | lo);
  }
  return true;
}

}  // namespace convtrace
