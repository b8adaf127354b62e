#include <zlib.h>

#include "receiver/receiver.h"

namespace convtrace::receiver {

Expected<std::string> inflate_capped(std::string_view compressed, size_t limit) {
  z_stream z{};
  // 32 + MAX_WBITS: accept gzip and zlib headers alike.
  if (inflateInit2(&z, 32 + MAX_WBITS) != Z_OK) {
    return Error{Error::internal, "cannot initialize zlib"};
  }
  std::string out;
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  z.avail_in = static_cast<uInt>(compressed.size());
  char buf[16384];
  int rc = Z_OK;
  bool any_member = false;
  for (;;) {
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = sizeof buf;
    rc = inflate(&z, Z_NO_FLUSH);
    size_t produced = sizeof buf - z.avail_out;
    if (out.size() + produced > limit) {
      inflateEnd(&z);
      return Error{Error::invalid_argument,
                   "inflated body exceeds " + std::to_string(limit) + " bytes"};
    }
    out.append(buf, produced);
    if (rc == Z_STREAM_END) {
      any_member = true;
      if (z.avail_in == 0) break;
      // Concatenated gzip members form one body (RFC 1952 §2.2).
      if (inflateReset(&z) != Z_OK) break;
      continue;
    }
    if (rc == Z_OK) continue;
    if (rc == Z_BUF_ERROR && produced > 0) continue;
    break;  // Z_BUF_ERROR without progress: input ended mid-stream; or a data error
  }
  inflateEnd(&z);
  if (rc != Z_STREAM_END || !any_member) {
    return Error{Error::parse_error,
                 rc == Z_BUF_ERROR ? "gzip body is truncated" : "gzip body is corrupt"};
  }
  return out;
}

}  // namespace convtrace::receiver
