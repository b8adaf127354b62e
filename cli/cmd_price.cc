// `convtrace price MODEL`: the catalog entry a model name resolves to.
#include <iomanip>
#include <iostream>
#include <memory>

#include "commands.h"

namespace convtrace::cli {
namespace {

constexpr std::string_view kCommand = "price";

struct PriceOptions {
  std::string model;
  std::string pricing;
  bool json = false;
};

std::string price_json(const std::optional<int64_t>& micro) {
  return micro ? usd_per_million_text(*micro) : "null";
}

std::string band_json(const PriceBand& band) {
  return "\"input\":" + usd_per_million_text(band.input) +
         ",\"output\":" + usd_per_million_text(band.output) +
         ",\"cached_input\":" + price_json(band.cached_input) +
         ",\"cache_write\":" + price_json(band.cache_write) +
         ",\"cache_write_1h\":" + price_json(band.cache_write_1h) +
         ",\"reasoning\":" + price_json(band.reasoning);
}

void print_band(const PriceBand& band, std::string_view indent) {
  auto row = [&](std::string_view label, const std::optional<int64_t>& micro) {
    if (!micro) return;
    std::cout << indent << std::left << std::setw(16) << label << usd_per_million_text(*micro)
              << '\n';
  };
  row("input", band.input);
  row("output", band.output);
  row("cached input", band.cached_input);
  row("cache write", band.cache_write);
  row("cache write 1h", band.cache_write_1h);
  row("reasoning", band.reasoning);
}

void run(const PriceOptions& opt) {
  const Pricing pricing = load_pricing(kCommand, opt.pricing);
  const ModelPrice* price = pricing.find(opt.model);
  if (price == nullptr) {
    std::string message = "unknown model \"" + opt.model + "\"";
    const auto near = pricing.closest(opt.model);
    for (size_t i = 0; i < near.size(); ++i) {
      message += (i == 0 ? "; closest known: " : ", ") + near[i];
    }
    fail(kCommand, message, kExitUnknown);
  }
  if (opt.json) {
    std::cout << "{\"query\":" << json_string(opt.model)
              << ",\"model\":" << json_string(price->model)
              << ",\"provider\":" << json_string(price->provider) << "," << band_json(price->base)
              << ",\"tiers\":[";
    for (size_t i = 0; i < price->tiers.size(); ++i) {
      std::cout << (i ? "," : "")
                << "{\"above_input_tokens\":" << price->tiers[i].above_input_tokens << ","
                << band_json(price->tiers[i].prices) << "}";
    }
    std::cout << "],\"checked\":" << json_string(price->checked)
              << ",\"source\":" << json_string(price->source) << "}\n";
    return;
  }
  std::cout << price->model;
  if (price->model != opt.model) std::cout << "  (from \"" << opt.model << "\")";
  std::cout << "\nprovider        " << (price->provider.empty() ? "-" : price->provider)
            << "\nUSD per 1M tokens:\n";
  print_band(price->base, "  ");
  for (const PriceTier& tier : price->tiers) {
    std::cout << "above " << tier.above_input_tokens << " input tokens (whole call):\n";
    print_band(tier.prices, "  ");
  }
  if (!price->checked.empty()) std::cout << "checked         " << price->checked << '\n';
  if (!price->source.empty()) std::cout << "source          " << price->source << '\n';
}

}  // namespace

void register_price(CLI::App& app) {
  auto opt = std::make_shared<PriceOptions>();
  CLI::App* sub = app.add_subcommand(
      "price",
      "Show the catalog entry a model name resolves to, in USD per 1M tokens.\n\n"
      "Names are matched as aliases, then exactly, then normalized (case, provider prefixes "
      "such as 'openai/' or 'bedrock/', Bedrock region and version decorations, dated "
      "snapshot suffixes).");
  sub->add_option("model", opt->model, "Model name as the provider or gateway reports it")
      ->required();
  sub->add_flag("--json", opt->json, "Print the entry as one JSON object");
  add_pricing_option(*sub, opt->pricing);
  sub->footer(
      "EXAMPLES\n"
      "  convtrace price gpt-4o\n"
      "  convtrace price us.anthropic.claude-sonnet-4-5-20250929-v1:0\n"
      "  convtrace price --json models/gemini-2.5-pro\n\n"
      "EXIT STATUS\n"
      "  0  the model is known; its entry is printed\n"
      "  1  unknown model; the closest known names are printed on stderr\n"
      "  2  usage error or an unreadable --pricing file");
  sub->callback([opt] { run(*opt); });
}

}  // namespace convtrace::cli
