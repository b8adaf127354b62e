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

  // Convenience for code: USD per 1M tokens, rounded to the micro-USD. A
  // figure usd_to_micro rejects (negative, not finite, absurdly large) is
  // stored as -1, which compute_cost reports as invalid_argument: a bad price
  // never silently becomes 0.
  static ModelPrice usd_per_million(double input, double output,
                                    std::optional<double> cached_input = std::nullopt,
                                    std::optional<double> cache_write = std::nullopt);
};

// Converts a USD-per-1M price to micro-USD per 1M; invalid_argument when negative,
// not finite, above $1,000,000 per 1M tokens, or not a whole number of micro-USD
// (after rounding away float noise).
inline constexpr double kMaxUsdPerMillion = 1e6;
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
//
// Details: counts that are absent count as 0; when input_tokens is absent the
// cache parts are the whole input (likewise reasoning for output). The tier is
// the one with the highest threshold the input exceeds; its empty fields fall
// back to the base band, then along the usual chain. When the usage carries
// billed counts (Cohere), those are priced at the plain input/output prices in
// place of the token counts. A negative price is invalid_argument.
Expected<Cost> compute_cost(const Usage& usage, const ModelPrice& price);

// pico-USD → USD, for attributes. Exact for any realistic amount (< $9,007).
double pico_to_usd(int64_t pico);
// USD → pico-USD, rounded to the nearest pico-USD (for costs other SDKs send
// as doubles). Empty when not finite or beyond ±9.2e6 USD.
std::optional<int64_t> usd_to_pico(double usd);
// pico-USD → the exact decimal text, trailing zeros trimmed ("0.008755", "-1.5", "0").
std::string pico_to_usd_string(int64_t pico);

// Normalizes a model id for catalog look-up: lowercases; strips provider
// prefixes ("openai/", "models/", Vertex "publishers/google/models/…"), Bedrock
// region and vendor prefixes and version suffixes ("us.anthropic.…-v1:0"),
// and dated snapshot suffixes ("-2024-08-06", "-20241022", "@20240620"), and
// Gemini's "-001" version suffixes.
// "-latest" is kept: such names point at whichever snapshot is current and are
// sometimes priced unlike any dated one (mistral-large-latest is not
// mistral-large-2411), so they need catalog entries of their own. Mistral's
// four-digit "-2411" suffixes are kept for the same reason.
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
  // names the entry and the field. The format is that of data/pricing.json:
  //   {"version": 1, "models": [{"model": "gpt-4o", "provider": "openai",
  //     "input": 2.5, "output": 10, "cached_input": 1.25, "cache_write": …,
  //     "cache_write_1h": …, "reasoning": …,
  //     "tiers": [{"above_input_tokens": 200000, "input": …, "output": …}],
  //     "aliases": ["…"], "checked": "YYYY-MM-DD", "source": "…"}]}
  // Prices are USD per 1M tokens; only model, input and output are required;
  // unknown fields are errors (a typo must not drop a price); top-level keys
  // starting with "_" are comments. A tier's missing input/output take the
  // base figures.
  Error load_json(std::string_view json, bool replace = false);
  // As load_json, reading `path`; io_error when it cannot be read.
  Error load_file(const std::string& path, bool replace = false);

  // The built-in catalog with the file at `path` merged over it. The SDK calls
  // this with the value of CONVTRACE_PRICING_FILE (kPricingFileEnv). An empty
  // path gives the built-in catalog. When the file cannot be read or is
  // invalid, the built-in catalog is returned unchanged and `*warning` (when
  // not null) says why; otherwise `*warning` is cleared.
  static Pricing with_file(const std::string& path, Error* warning = nullptr);

  // The entry `model` resolves to: alias, exact key, the key with only case
  // and provider prefixes removed ("bedrock/us.anthropic.…" keeps its
  // regional price), then the normalized form. nullptr when unknown. The
  // pointer is valid until the catalog is next modified.
  const ModelPrice* find(std::string_view model) const;
  // Up to `n` known model names closest to `model` (for "did you mean").
  std::vector<std::string> closest(std::string_view model, size_t n = 3) const;
  // Number of entries (aliases not counted).
  size_t size() const { return by_key_.size(); }
  // Every catalog key, sorted.
  std::vector<std::string> models() const;

 private:
  std::map<std::string, ModelPrice, std::less<>> by_key_;
  std::map<std::string, std::string, std::less<>> by_normalized_;  // normalized → key
  std::map<std::string, std::string, std::less<>> aliases_;        // alias → key or model

  const ModelPrice* find_key(std::string_view model) const;
};

// The environment variable naming a price file merged over the built-in catalog.
inline constexpr std::string_view kPricingFileEnv = "CONVTRACE_PRICING_FILE";

}  // namespace convtrace
