// Exact cost arithmetic: integer micro-USD prices times token counts give
// integer pico-USD, with every multiplication and addition overflow-checked.
#include <cfloat>
#include <cmath>
#include <string>

#include "common/diagnostics.h"
#include "convtrace/pricing.h"
#include "pricing/sent_cost.h"

namespace convtrace {
namespace {

constexpr int64_t kPicoPerUsd = 1'000'000'000'000;

Error overflow() { return Error{Error::invalid_argument, "cost overflows 64-bit pico-USD"}; }

// accumulator += tokens * price, checked.
bool add_product(int64_t& accumulator, int64_t tokens, int64_t price) {
  int64_t product = 0;
  if (__builtin_mul_overflow(tokens, price, &product)) return false;
  return !__builtin_add_overflow(accumulator, product, &accumulator);
}

// The band a call is priced with: the tier whose threshold its input exceeds
// (the highest such), its empty fields filled from the base band.
PriceBand effective_band(const ModelPrice& price, int64_t input_tokens) {
  const PriceTier* chosen = nullptr;
  for (const PriceTier& tier : price.tiers) {
    if (input_tokens > tier.above_input_tokens &&
        (chosen == nullptr || tier.above_input_tokens > chosen->above_input_tokens)) {
      chosen = &tier;
    }
  }
  if (chosen == nullptr) return price.base;
  PriceBand band = chosen->prices;
  if (!band.cached_input) band.cached_input = price.base.cached_input;
  if (!band.cache_write) band.cache_write = price.base.cache_write;
  if (!band.cache_write_1h) band.cache_write_1h = price.base.cache_write_1h;
  if (!band.reasoning) band.reasoning = price.base.reasoning;
  return band;
}

Error check_price(int64_t value, const char* name, const std::string& model) {
  if (value < 0) {
    return Error{Error::invalid_argument,
                 "model " + model + ": negative " + name + " price " + std::to_string(value)};
  }
  return {};
}

}  // namespace

Expected<int64_t> usd_to_micro(double usd_per_million) {
  if (!std::isfinite(usd_per_million)) {
    return Error{Error::invalid_argument, "price is not a finite number"};
  }
  if (usd_per_million < 0) {
    return Error{Error::invalid_argument, "price is negative"};
  }
  if (usd_per_million > kMaxUsdPerMillion) {
    return Error{Error::invalid_argument, "price is above $1,000,000 per 1M tokens"};
  }
  const double micro = usd_per_million * 1e6;
  const double whole = std::nearbyint(micro);
  // Decimal prices such as 0.0028 are not exact in binary; allow the few ulps
  // of noise the multiplication leaves, but not a real sub-micro-USD fraction.
  if (std::fabs(micro - whole) > 1e-6 + std::fabs(micro) * 4 * DBL_EPSILON) {
    return Error{Error::invalid_argument,
                 "price is not a whole number of micro-USD per 1M tokens (finer than $0.000001)"};
  }
  return static_cast<int64_t>(whole);
}

ModelPrice ModelPrice::usd_per_million(double input, double output,
                                       std::optional<double> cached_input,
                                       std::optional<double> cache_write) {
  auto micro = [](double usd) -> int64_t {
    auto value = usd_to_micro(usd);
    return value ? *value : -1;
  };
  ModelPrice price;
  price.base.input = micro(input);
  price.base.output = micro(output);
  if (cached_input) price.base.cached_input = micro(*cached_input);
  if (cache_write) price.base.cache_write = micro(*cache_write);
  price.source = "set in code";
  return price;
}

Expected<Cost> compute_cost(const Usage& usage, const ModelPrice& price) {
  if (Error err = validate(usage)) return err;
  const int64_t cache_read = usage.cache_read_tokens.value_or(0);
  const int64_t cache_write = usage.cache_write_tokens.value_or(0);
  const int64_t cache_write_1h = usage.cache_write_1h_tokens.value_or(0);
  // validate() bounded read + write; absent input means the parts are all of it.
  const int64_t input = usage.input_tokens ? *usage.input_tokens : cache_read + cache_write;
  const int64_t reasoning = usage.reasoning_tokens.value_or(0);
  const int64_t output = usage.output_tokens ? *usage.output_tokens : reasoning;

  const int64_t tier_input =
      usage.billed_input_tokens && !usage.input_tokens ? *usage.billed_input_tokens : input;
  const PriceBand band = effective_band(price, tier_input);
  const int64_t p_input = band.input;
  const int64_t p_output = band.output;
  const int64_t p_cached = band.cached_input.value_or(p_input);
  const int64_t p_write = band.cache_write.value_or(p_input);
  const int64_t p_write_1h = band.cache_write_1h.value_or(p_write);
  const int64_t p_reasoning = band.reasoning.value_or(p_output);
  for (auto [value, name] : {std::pair{p_input, "input"},
                             {p_output, "output"},
                             {p_cached, "cached input"},
                             {p_write, "cache write"},
                             {p_write_1h, "1-hour cache write"},
                             {p_reasoning, "reasoning"}}) {
    if (Error err = check_price(value, name, price.model)) return err;
  }

  Cost cost;
  if (usage.billed_input_tokens) {
    // Cohere bills its own units; cache and template tokens are not charged.
    if (!add_product(cost.input_pico, *usage.billed_input_tokens, p_input)) return overflow();
  } else {
    const int64_t uncached = input - cache_read - cache_write;  // >= 0 after validate()
    if (!add_product(cost.input_pico, uncached, p_input) ||
        !add_product(cost.input_pico, cache_read, p_cached) ||
        !add_product(cost.input_pico, cache_write - cache_write_1h, p_write) ||
        !add_product(cost.input_pico, cache_write_1h, p_write_1h)) {
      return overflow();
    }
  }
  if (usage.billed_output_tokens) {
    if (!add_product(cost.output_pico, *usage.billed_output_tokens, p_output)) return overflow();
  } else {
    if (!add_product(cost.output_pico, reasoning, p_reasoning) ||
        !add_product(cost.output_pico, output - reasoning, p_output)) {
      return overflow();
    }
  }
  if (__builtin_add_overflow(cost.input_pico, cost.output_pico, &cost.total_pico)) {
    return overflow();
  }
  return cost;
}

double pico_to_usd(int64_t pico) {
  // Below 2^53 both operands are exact doubles, so one division is correctly
  // rounded. Beyond that, split so the fraction is not lost to the integer part.
  constexpr int64_t kExact = int64_t{1} << 53;
  if (pico > -kExact && pico < kExact) return static_cast<double>(pico) / 1e12;
  const int64_t whole = pico / kPicoPerUsd;
  const int64_t fraction = pico % kPicoPerUsd;
  return static_cast<double>(whole) + static_cast<double>(fraction) / 1e12;
}

std::optional<int64_t> usd_to_pico(double usd) {
  if (!std::isfinite(usd)) return std::nullopt;
  double pico = usd * 1e12;
  if (std::fabs(pico) >= 9.2e18) return std::nullopt;
  return static_cast<int64_t>(std::llround(pico));
}

std::string pico_to_usd_string(int64_t pico) {
  // Work on the magnitude as unsigned so that INT64_MIN has a positive twin.
  const bool negative = pico < 0;
  const uint64_t magnitude = negative ? static_cast<uint64_t>(0) - static_cast<uint64_t>(pico)
                                      : static_cast<uint64_t>(pico);
  const uint64_t whole = magnitude / static_cast<uint64_t>(kPicoPerUsd);
  uint64_t fraction = magnitude % static_cast<uint64_t>(kPicoPerUsd);
  std::string text = negative ? "-" : "";
  text += std::to_string(whole);
  if (fraction != 0) {
    std::string digits = std::to_string(fraction);
    digits.insert(0, 12 - digits.size(), '0');
    while (digits.back() == '0') digits.pop_back();
    text += '.';
    text += digits;
  }
  return text;
}

bool check_sent_cost(std::string_view span, std::string_view model, int64_t sent_pico,
                     int64_t catalog_pico) {
  if (sent_pico == catalog_pico) return false;
  report_warning("cost_disagreement",
                 std::string(span) + " for '" + (model.empty() ? "(none)" : std::string(model)) +
                     "' carried $" + pico_to_usd_string(sent_pico) +
                     "; the catalog prices it at $" + pico_to_usd_string(catalog_pico) +
                     " (the sent cost is kept)");
  return true;
}

}  // namespace convtrace
