// The receiver's request parser on any bytes: a head either parses or is
// refused with a status, never crashes; a chunked body, fed in pieces of any
// size, never exceeds its limit, never consumes more than it was given, and
// decodes the same however it is split.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "receiver/http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convtrace::receiver::http;
  if (size < 1) return 0;
  const uint8_t split = data[0];
  std::string_view in(reinterpret_cast<const char*>(data + 1), size - 1);

  HeadLimits limits;
  limits.max_head_bytes = 4096;
  limits.max_headers = 16;
  const size_t len = head_length(in);
  if (len > in.size()) std::abort();
  RequestHead head;
  Refusal refused = parse_head(in.substr(0, len ? len : in.size()), limits, &head);
  if (refused && (refused.status < 400 || refused.status > 505)) std::abort();
  if (!refused && head.framing == Framing::length && head.content_length == 0) std::abort();

  constexpr size_t kMax = 1024;
  std::string whole_body, split_body;
  Refusal whole_refusal, split_refusal;
  ChunkedDecoder whole(kMax), pieces(kMax);
  const size_t used = whole.feed(in, whole_body, &whole_refusal);
  if (used > in.size() || whole_body.size() > kMax) std::abort();
  size_t at = 0;
  const size_t step = 1 + split % 13;
  while (at < in.size() && !pieces.done() && !split_refusal) {
    std::string_view piece = in.substr(at, step);
    const size_t n = pieces.feed(piece, split_body, &split_refusal);
    if (n > piece.size()) std::abort();
    at += n;
    if (n < piece.size() && !pieces.done() && !split_refusal) std::abort();  // stalled
  }
  if (split_body.size() > kMax) std::abort();
  if (whole.done() != pieces.done() || bool(whole_refusal) != bool(split_refusal)) std::abort();
  if (whole.done() && (whole_body != split_body || used != at)) std::abort();
  return 0;
}
