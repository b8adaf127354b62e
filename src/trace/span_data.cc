#include "convtrace/span_data.h"

#include <cstring>

#include "common/hex.h"

namespace convtrace {
namespace {

// Word-wise: called several times per span start.
template <size_t N>
bool all_zero(const std::array<uint8_t, N>& bytes) {
  static_assert(N % 8 == 0, "ids are whole 64-bit words");
  uint64_t any = 0;
  for (size_t i = 0; i < N; i += 8) {
    uint64_t word;
    std::memcpy(&word, bytes.data() + i, 8);
    any |= word;
  }
  return any == 0;
}

}  // namespace

bool TraceId::valid() const { return !all_zero(bytes); }
std::string TraceId::hex() const { return hex_encode(bytes.data(), bytes.size()); }
bool TraceId::from_hex(std::string_view hex, TraceId* out) {
  return hex.size() == 32 && hex_decode(hex, out->bytes.data());
}

bool SpanId::valid() const { return !all_zero(bytes); }
std::string SpanId::hex() const { return hex_encode(bytes.data(), bytes.size()); }
bool SpanId::from_hex(std::string_view hex, SpanId* out) {
  return hex.size() == 16 && hex_decode(hex, out->bytes.data());
}

const AttributeValue* find_attribute(const std::vector<Attribute>& attrs, std::string_view key) {
  // Last one wins, as when a key is set twice on a live span.
  for (auto it = attrs.rbegin(); it != attrs.rend(); ++it) {
    if (it->key == key) return &it->value;
  }
  return nullptr;
}

const std::string* find_string(const std::vector<Attribute>& attrs, std::string_view key) {
  const AttributeValue* v = find_attribute(attrs, key);
  return v ? std::get_if<std::string>(v) : nullptr;
}

const int64_t* find_int(const std::vector<Attribute>& attrs, std::string_view key) {
  const AttributeValue* v = find_attribute(attrs, key);
  return v ? std::get_if<int64_t>(v) : nullptr;
}

const double* find_double(const std::vector<Attribute>& attrs, std::string_view key) {
  const AttributeValue* v = find_attribute(attrs, key);
  return v ? std::get_if<double>(v) : nullptr;
}

}  // namespace convtrace
