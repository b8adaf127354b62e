// Unsigned LEB128 varints (protobuf's encoding of integers), appended to a
// byte string: the store's packed columns and the receiver's status bodies
// both write them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace convtrace {

inline void append_varint(std::string& out, uint64_t v) {
  char buf[10];
  size_t n = 0;
  while (v >= 0x80) {
    buf[n++] = static_cast<char>((v & 0x7f) | 0x80);
    v >>= 7;
  }
  buf[n++] = static_cast<char>(v);
  out.append(buf, n);
}

}  // namespace convtrace
