// Fuzzes StreamAccumulator framing: the first byte picks how the rest is split
// into feed() calls, so line and chunk boundaries land everywhere.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "convtrace/usage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const size_t step = 1 + data[0] % 64;
  const std::string_view stream(reinterpret_cast<const char*>(data) + 1, size - 1);
  convtrace::StreamAccumulator acc;
  for (size_t i = 0; i < stream.size(); i += step) acc.feed(stream.substr(i, step));
  auto usage = acc.finish();
  if (usage && convtrace::validate(*usage)) std::abort();
  (void)acc.bad_chunks();
  (void)acc.time_to_first_chunk();
  return 0;
}
