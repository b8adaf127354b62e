// HTTP/1.1 requests as the receiver reads them, without I/O: the request head
// and the two body framings (Content-Length and chunked). Private.
//
// Input is hostile: every size is bounded, and anything ambiguous is refused
// rather than guessed (both Content-Length and Transfer-Encoding, two
// different lengths, a folded header line), so a proxy in front and this
// parser can never disagree about where a request ends.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace convtrace::receiver::http {

// A request refused while reading it: the status to answer and why.
struct Refusal {
  int status = 0;  // 0: not refused
  std::string reason;
  explicit operator bool() const { return status != 0; }
};

enum class Framing { none, length, chunked };

struct RequestHead {
  std::string method;
  std::string target;     // as sent
  std::string path;       // the target without its query, for origin- and absolute-form
  int minor_version = 1;  // HTTP/1.x
  // In order; names lowercased, values without surrounding whitespace.
  std::vector<std::pair<std::string, std::string>> headers;
  Framing framing = Framing::none;
  uint64_t content_length = 0;   // with Framing::length
  bool keep_alive = true;        // HTTP/1.1 unless "Connection: close"; 1.0 only when asked
  bool expect_continue = false;  // "Expect: 100-continue"

  // The first value of header `lower_name` (lowercase), or empty.
  std::string_view header(std::string_view lower_name) const;
  bool has_header(std::string_view lower_name) const;
};

struct HeadLimits {
  size_t max_head_bytes = 64 * 1024;
  size_t max_headers = 100;
};

// The length of the head at the start of `buffer` (request line, headers and
// the empty line that ends them), or 0 when it is not complete yet. Lines end
// in CRLF or, leniently, LF.
size_t head_length(std::string_view buffer, size_t searched_from = 0);

// Parses a complete head (as head_length delimits it). Refusals: 400
// (malformed), 431 (too many or too long headers), 501 (a transfer coding
// other than chunked), 505 (not HTTP/1.x).
Refusal parse_head(std::string_view head, const HeadLimits& limits, RequestHead* out);

// Decodes a chunked body as it arrives. Chunk extensions and trailers are
// read and ignored.
class ChunkedDecoder {
 public:
  // Largest decoded body; larger ones are refused with 413.
  explicit ChunkedDecoder(size_t max_body_bytes) : max_body_(max_body_bytes) {}

  // Consumes bytes of `in`, appending chunk data to `body`; returns how many
  // bytes were consumed (all of `in` unless the body ended inside it).
  // *refusal is set on malformed framing (400) or a body over the limit (413).
  size_t feed(std::string_view in, std::string& body, Refusal* refusal);
  bool done() const { return state_ == State::done; }

 private:
  enum class State { size, extension, size_lf, data, data_end, data_lf, trailer, done };
  State state_ = State::size;
  uint64_t remaining_ = 0;    // of the current chunk
  size_t size_digits_ = 0;    // digits of the current size line
  size_t line_bytes_ = 0;     // of the current extension or trailer line
  size_t trailer_bytes_ = 0;  // of all trailer lines
  size_t max_body_;
};

// The reason phrase of a status code ("OK", "Request Timeout", …).
std::string_view reason_phrase(int status);

}  // namespace convtrace::receiver::http
