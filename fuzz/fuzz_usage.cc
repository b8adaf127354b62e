// Fuzzes extract_usage and what is done with its result: any input must give
// a value or an error, and a value must be consistent and priceable.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "convtrace/pricing.h"
#include "convtrace/usage.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  for (std::string_view hint : {std::string_view{}, convtrace::provider::kAnthropic}) {
    auto usage = convtrace::extract_usage(body, hint);
    if (!usage) {
      if (usage.error().code == convtrace::Error::ok) std::abort();
      continue;
    }
    if (convtrace::validate(*usage)) std::abort();  // extraction must not emit bad usage
    const convtrace::ModelPrice* price = convtrace::Pricing::builtin().find(usage->model);
    auto cost = convtrace::compute_cost(
        *usage, price != nullptr ? *price : convtrace::ModelPrice::usd_per_million(1.0, 2.0));
    // Valid usage may still overflow int64 pico-USD at absurd counts and an
    // expensive model; that must come back as invalid_argument, nothing else.
    if (!cost && cost.error().code != convtrace::Error::invalid_argument) std::abort();
    if (!cost) continue;
    (void)convtrace::pico_to_usd_string(cost->total_pico);
  }
  return 0;
}
