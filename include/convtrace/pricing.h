// Model prices and exact cost.
//
// Prices are quoted in USD per 1M tokens, as providers publish them, and held
// as integer micro-USD per 1M tokens. One token at P micro-USD per 1M tokens
// costs exactly P pico-USD, so `tokens × price` is an exact integer in pico-USD
// (1e-12 USD) and sums never lose a cent. Doubles appear only at the edges:
// parsing a published price, and the `gen_ai.usage.cost_usd` attribute.
//
// A `Pricing` is a catalog: a value type, safe to read from many threads once
// built. The SDK holds one (Sdk::set_pricing swaps it atomically).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "convtrace/expected.h"
#include "convtrace/usage.h"

namespace convtrace {

// Prices of one band, in micro-USD per 1M tokens. Empty optionals fall back:
// cached_input → input, cache_write → input, cache_write_1h → cache_write,
// reasoning → output.
struct PriceBand {
  int64_t input = 0;
  int64_t output = 0;
  std::optional<int64_t> cached_input;
  std::optional<int64_t> cache_write;
  std::optional<int64_t> cache_write_1h;
  std::optional<int64_t> reasoning;
};

// A long-context tier: when a call's input tokens exceed `above_input_tokens`,
// the whole call is priced with `prices` (fields left empty there fall back to
// the base band first).
struct PriceTier {
  int64_t above_input_tokens = 0;
  PriceBand prices;
};

struct ModelPrice {
  std::string model;     // catalog key, e.g. "gpt-4o"
  std::string provider;  // GenAI convention provider name
  PriceBand base;
  std::vector<PriceTier> tiers;  // ascending by threshold
  std::string source;            // where the figures come from
  std::string checked;           // date they were checked, YYYY-MM-DD

  // Convenience for code: USD per 1M tokens, rounded to the micro-USD.
  static ModelPrice usd_per_million(double input, double output,
                                    std::optional<double> cached_input = std::nullopt,
                                    std::optional<double> cache_write = std::nullopt);
};

// Converts a USD-per-1M price to micro-USD per 1M; invalid_argument when negative,
// not finite, or not a whole number of micro-USD (after rounding away float noise).
Expected<int64_t> usd_to_micro(double usd_per_million);

// Cost of one call, in pico-USD (1e-12 USD).
struct Cost {
  int64_t input_pico = 0;   // all input categories (uncached, cached, cache writes)
  int64_t output_pico = 0;  // output including reasoning
  int64_t total_pico = 0;   // input_pico + output_pico
};

// Prices `usage` with `price`: cached input at the cached price, cache writes at
// the write price (1-hour writes at the 1-hour price), remaining input at the
// input price; reasoning at the reasoning price (else output), remaining output
// at the output price; tier chosen by total input tokens. Errors: invalid_argument
// for inconsistent usage or on overflow.
Expected<Cost> compute_cost(const Usage& usage, const ModelPrice& price);

// pico-USD → USD, for attributes. Exact for any realistic amount (< $9,007).
double pico_to_usd(int64_t pico);
// pico-USD → the exact decimal text, trailing zeros trimmed ("0.008755", "-1.5", "0").
std::string pico_to_usd_string(int64_t pico);

// Normalizes a model id for catalog look-up: lowercases; strips provider
// prefixes ("openai/", "models/", Vertex "publishers/google/models/…"), Bedrock
// region and vendor prefixes and version suffixes ("us.anthropic.…-v1:0"),
// and dated snapshot suffixes ("-2024-08-06", "-20241022", "@20240620").
std::string normalize_model(std::string_view model);

class Pricing {
 public:
  // The catalog compiled into the library (data/pricing.json).
  static const Pricing& builtin();

  Pricing() = default;  // an empty catalog

  // Adds or replaces one model (key as given, also reachable by its normalized form).
  void set(std::string_view model, ModelPrice price);
  // Adds or replaces one model from USD-per-1M figures, as published.
  void set(std::string_view model, double input_usd_per_1m, double output_usd_per_1m,
           std::optional<double> cached_input_usd_per_1m = std::nullopt,
           std::optional<double> cache_write_usd_per_1m = std::nullopt);
  // Maps a name (an Azure deployment, an internal alias) to a catalog model.
  void alias(std::string_view name, std::string_view model);

  // Merges (or, with replace, swaps in) the entries of a catalog JSON document.
  // The document is validated first; on error nothing changes and the message
  // names the entry and the field.
  Error load_json(std::string_view json, bool replace = false);
  Error load_file(const std::string& path, bool replace = false);

  // The entry `model` resolves to: alias, exact key, then normalized form.
  // nullptr when unknown.
  const ModelPrice* find(std::string_view model) const;
  // Up to `n` known model names closest to `model` (for "did you mean").
  std::vector<std::string> closest(std::string_view model, size_t n = 3) const;
  size_t size() const { return by_key_.size(); }
  std::vector<std::string> models() const;

 private:
  std::map<std::string, ModelPrice, std::less<>> by_key_;
  std::map<std::string, std::string, std::less<>> by_normalized_;  // normalized → key
  std::map<std::string, std::string, std::less<>> aliases_;        // alias → key or model
};

}  // namespace convtrace
