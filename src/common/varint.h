// Unsigned LEB128 varints (protobuf's encoding of integers): the OTLP
// protobuf encoder writes them into a buffer sized beforehand, the store's
// packed columns and the receiver's status bodies append them to a string.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace convtrace {

// Writes `v` at `p` (at most 10 bytes) and returns the byte after it.
inline uint8_t* put_varint(uint8_t* p, uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<uint8_t>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<uint8_t>(v);
  return p;
}

inline void append_varint(std::string& out, uint64_t v) {
  uint8_t buf[10];
  const size_t n = static_cast<size_t>(put_varint(buf, v) - buf);
  out.append(reinterpret_cast<const char*>(buf), n);
}

}  // namespace convtrace
