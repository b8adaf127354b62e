// Errors as values.
//
// convtrace never throws across its API. Operations that can fail return
// `Expected<T>` (a value or an `Error`) or `Error` alone (code `ok` on success).
// The codes are stable: the `convtrace` CLI maps them to its exit status.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace convtrace {

struct Error {
  enum Code : int {
    ok = 0,
    invalid_argument = 1,  // a setting or an argument is out of range / malformed
    parse_error = 2,       // malformed input document (JSON, protobuf, headers)
    not_found = 3,         // unknown model, conversation, file
    io_error = 4,          // file or database could not be read or written
    unavailable = 5,       // remote endpoint down, queue full, SDK shut down
    internal = 6,
  };
  Code code = ok;
  std::string message;

  explicit operator bool() const { return code != ok; }  // true when this is an error
};

// Either a T or an Error. Minimal by design: test with `if (!x)`, read with `*x` / `x->`,
// and `x.error()` when it failed.
template <typename T>
class Expected {
 public:
  Expected(T value) : v_(std::move(value)) {}      // NOLINT: implicit on purpose
  Expected(Error error) : v_(std::move(error)) {}  // NOLINT

  bool has_value() const { return v_.index() == 0; }
  explicit operator bool() const { return has_value(); }

  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T&& operator*() && { return std::move(*this).value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const Error& error() const { return std::get<1>(v_); }

 private:
  std::variant<T, Error> v_;
};

}  // namespace convtrace
