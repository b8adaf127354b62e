// Fuzzes the price-catalog loader: malformed catalogs must be rejected whole,
// accepted ones must be usable.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "convtrace/pricing.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view json(reinterpret_cast<const char*>(data), size);
  convtrace::Pricing pricing;
  pricing.set("sentinel", 1.0, 2.0);
  const convtrace::Error err = pricing.load_json(json, /*replace=*/true);
  if (err) {
    // All or nothing: the previous catalog must be untouched.
    if (pricing.size() != 1 || pricing.find("sentinel") == nullptr) std::abort();
    return 0;
  }
  convtrace::Usage usage;
  usage.input_tokens = 300'000;
  usage.cache_read_tokens = 1000;
  usage.output_tokens = 10;
  for (const std::string& model : pricing.models()) {
    const convtrace::ModelPrice* price = pricing.find(model);
    if (price == nullptr) std::abort();
    (void)convtrace::compute_cost(usage, *price);
  }
  (void)pricing.closest(json.substr(0, 32));
  return 0;
}
