// Time arguments on any text: a parsed time is inside the stored range and
// formats back to text that parses to the same instant; anything else is a
// parse_error or an invalid_argument, never a wrapped-around number.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "common/unix_time.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace convtrace;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto t = unix_time::parse(text);
  if (!t) {
    if (t.error().code != Error::parse_error && t.error().code != Error::invalid_argument) {
      std::abort();
    }
    return 0;
  }
  if (!unix_time::in_range(*t)) std::abort();
  auto again = unix_time::parse(unix_time::format(*t));
  if (!again || *again != *t) std::abort();
  return 0;
}
