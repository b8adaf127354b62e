#include "receiver/http.h"

#include <cctype>

namespace convtrace::receiver::http {
namespace {

bool is_tchar(char c) {
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return true;
  return std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool is_token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!is_tchar(c)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

// Calls fn(element) for each element of a comma-separated header list.
template <typename Fn>
void each_element(std::string_view list, Fn fn) {
  while (true) {
    size_t comma = list.find(',');
    std::string_view item = trim(list.substr(0, comma));
    if (!item.empty()) fn(item);
    if (comma == std::string_view::npos) return;
    list.remove_prefix(comma + 1);
  }
}

Refusal refuse(int status, std::string reason) { return Refusal{status, std::move(reason)}; }

// The path of a request target: origin-form ("/v1/traces?x") or
// absolute-form ("http://host:4318/v1/traces").
std::string path_of(std::string_view target) {
  if (target.front() != '/') {
    size_t scheme = target.find("://");
    if (scheme == std::string_view::npos) return std::string(target);  // "*" or authority-form
    size_t slash = target.find('/', scheme + 3);
    target = slash == std::string_view::npos ? std::string_view("/") : target.substr(slash);
  }
  return std::string(target.substr(0, target.find_first_of("?#")));
}

}  // namespace

std::string_view RequestHead::header(std::string_view lower_name) const {
  for (const auto& [name, value] : headers) {
    if (name == lower_name) return value;
  }
  return {};
}

bool RequestHead::has_header(std::string_view lower_name) const {
  for (const auto& h : headers) {
    if (h.first == lower_name) return true;
  }
  return false;
}

size_t head_length(std::string_view buffer, size_t searched_from) {
  // The head ends with an empty line: "\n\n" or "\n\r\n".
  size_t i = searched_from;
  while ((i = buffer.find('\n', i)) != std::string_view::npos) {
    if (i + 1 < buffer.size() && buffer[i + 1] == '\n') return i + 2;
    if (i + 2 < buffer.size() && buffer[i + 1] == '\r' && buffer[i + 2] == '\n') return i + 3;
    ++i;
  }
  return 0;
}

Refusal parse_head(std::string_view head, const HeadLimits& limits, RequestHead* out) {
  *out = RequestHead();
  if (head.size() > limits.max_head_bytes) {
    return refuse(431,
                  "request head larger than " + std::to_string(limits.max_head_bytes) + " bytes");
  }
  // A server should ignore empty lines before the request line (RFC 9112 §2.2).
  while (!head.empty() && (head.front() == '\r' || head.front() == '\n')) head.remove_prefix(1);
  std::vector<std::string_view> lines;
  while (!head.empty()) {
    size_t lf = head.find('\n');
    std::string_view line = head.substr(0, lf);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    head.remove_prefix(lf == std::string_view::npos ? head.size() : lf + 1);
    if (line.empty()) break;  // the end of the head
    lines.push_back(line);
  }
  if (lines.empty()) return refuse(400, "empty request");

  // request-line = method SP request-target SP HTTP-version
  std::string_view request_line = lines[0];
  size_t sp1 = request_line.find(' ');
  size_t sp2 = sp1 == std::string_view::npos ? sp1 : request_line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || request_line.find(' ', sp2 + 1) != std::string_view::npos) {
    return refuse(400, "malformed request line");
  }
  std::string_view method = request_line.substr(0, sp1);
  std::string_view target = request_line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = request_line.substr(sp2 + 1);
  if (!is_token(method)) return refuse(400, "malformed method");
  if (target.empty()) return refuse(400, "empty request target");
  for (char c : target) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) {
      return refuse(400, "malformed request target");
    }
  }
  if (version.size() != 8 || version.substr(0, 5) != "HTTP/" || !std::isdigit(version[5]) ||
      version[6] != '.' || !std::isdigit(version[7])) {
    return refuse(400, "malformed HTTP version");
  }
  if (version[5] != '1') return refuse(505, "only HTTP/1.0 and HTTP/1.1 are served");
  out->method = std::string(method);
  out->target = std::string(target);
  out->path = path_of(target);
  out->minor_version = version[7] - '0';

  if (lines.size() - 1 > limits.max_headers) {
    return refuse(431, "more than " + std::to_string(limits.max_headers) + " header fields");
  }
  bool has_length = false;
  bool has_transfer_encoding = false;
  bool close = false, keep_alive = false;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    if (line.front() == ' ' || line.front() == '\t') {
      return refuse(400, "folded header lines are not accepted");
    }
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || !is_token(line.substr(0, colon))) {
      return refuse(400, "malformed header field");
    }
    std::string name = lower(line.substr(0, colon));
    std::string_view value = trim(line.substr(colon + 1));
    for (char c : value) {
      auto u = static_cast<unsigned char>(c);
      if ((u < 0x20 && c != '\t') || u == 0x7F) {
        return refuse(400, "control character in header '" + name + "'");
      }
    }
    if (name == "content-length") {
      uint64_t n = 0;
      if (value.empty() || value.size() > 19) return refuse(400, "malformed Content-Length");
      for (char c : value) {
        if (c < '0' || c > '9') return refuse(400, "malformed Content-Length");
        n = n * 10 + static_cast<uint64_t>(c - '0');
      }
      if (has_length && n != out->content_length) {
        return refuse(400, "conflicting Content-Length values");
      }
      has_length = true;
      out->content_length = n;
    } else if (name == "transfer-encoding") {
      // Only "chunked" alone: other codings (gzip, …) are not supported, and
      // chunked must be the last coding.
      bool only_chunked = true;
      size_t codings = 0;
      each_element(value, [&](std::string_view coding) {
        ++codings;
        only_chunked = only_chunked && iequals(coding, "chunked");
      });
      if (has_transfer_encoding || codings != 1 || !only_chunked) {
        return refuse(501, "unsupported transfer coding '" + std::string(value) + "'");
      }
      has_transfer_encoding = true;
    } else if (name == "connection") {
      each_element(value, [&](std::string_view option) {
        close = close || iequals(option, "close");
        keep_alive = keep_alive || iequals(option, "keep-alive");
      });
    } else if (name == "expect") {
      out->expect_continue = iequals(value, "100-continue");
    }
    out->headers.emplace_back(std::move(name), std::string(value));
  }
  if (has_length && has_transfer_encoding) {
    return refuse(400, "both Content-Length and Transfer-Encoding");
  }
  if (has_transfer_encoding && out->minor_version == 0) {
    return refuse(400, "Transfer-Encoding in an HTTP/1.0 request");
  }
  out->framing = has_transfer_encoding ? Framing::chunked
                 : has_length          ? Framing::length
                                       : Framing::none;
  if (out->framing == Framing::length && out->content_length == 0) out->framing = Framing::none;
  out->keep_alive = out->minor_version >= 1 ? !close : keep_alive && !close;
  out->expect_continue = out->expect_continue && out->minor_version >= 1;
  return Refusal{};
}

size_t ChunkedDecoder::feed(std::string_view in, std::string& body, Refusal* refusal) {
  constexpr size_t kMaxLine = 4096;          // a chunk-size line's extensions, or one trailer
  constexpr size_t kMaxTrailer = 64 * 1024;  // all trailer lines
  auto end_size_line = [&] {
    size_digits_ = 0;
    line_bytes_ = 0;
    state_ = remaining_ == 0 ? State::trailer : State::data;  // size 0: the last chunk
  };
  size_t i = 0;
  while (i < in.size() && state_ != State::done) {
    const char c = in[i];
    switch (state_) {
      case State::size: {
        const int digit = c >= '0' && c <= '9'   ? c - '0'
                          : c >= 'a' && c <= 'f' ? c - 'a' + 10
                          : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                                 : -1;
        if (digit >= 0) {
          if (++size_digits_ > 15) {
            *refusal = refuse(413, "chunk size too large");
            return i;
          }
          remaining_ = remaining_ * 16 + static_cast<uint64_t>(digit);
        } else if (size_digits_ == 0) {
          *refusal = refuse(400, "malformed chunk size");
          return i;
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::extension;
        } else if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          end_size_line();
        } else {
          *refusal = refuse(400, "malformed chunk size");
          return i;
        }
        ++i;
        break;
      }
      case State::extension:
        if (c == '\r') {
          state_ = State::size_lf;
        } else if (c == '\n') {
          end_size_line();
        } else if (++line_bytes_ > kMaxLine) {
          *refusal = refuse(400, "chunk extension too long");
          return i;
        }
        ++i;
        break;
      case State::size_lf:
        if (c != '\n') {
          *refusal = refuse(400, "malformed chunk size line");
          return i;
        }
        end_size_line();
        ++i;
        break;
      case State::data: {
        size_t n = in.size() - i;
        if (n > remaining_) n = static_cast<size_t>(remaining_);
        if (body.size() + n > max_body_) {
          *refusal = refuse(413, "request body exceeds " + std::to_string(max_body_) + " bytes");
          return i;
        }
        body.append(in.data() + i, n);
        remaining_ -= n;
        i += n;
        if (remaining_ == 0) state_ = State::data_end;
        break;
      }
      case State::data_end:
        if (c == '\r') {
          state_ = State::data_lf;
        } else if (c == '\n') {
          state_ = State::size;
        } else {
          *refusal = refuse(400, "chunk data longer than its size");
          return i;
        }
        ++i;
        break;
      case State::data_lf:
        if (c != '\n') {
          *refusal = refuse(400, "chunk data longer than its size");
          return i;
        }
        state_ = State::size;
        ++i;
        break;
      case State::trailer:
        if (c == '\n') {
          if (line_bytes_ == 0) state_ = State::done;  // the empty line that ends the body
          line_bytes_ = 0;
        } else if (c != '\r') {
          if (++line_bytes_ > kMaxLine || ++trailer_bytes_ > kMaxTrailer) {
            *refusal = refuse(431, "chunked trailer too large");
            return i;
          }
        }
        ++i;
        break;
      case State::done:
        break;
    }
  }
  return i;
}

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

}  // namespace convtrace::receiver::http
