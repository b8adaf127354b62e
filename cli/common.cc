// Helpers shared by the CLI's subcommands.
#include <cstdio>
#include <cstdlib>
#include <iostream>

#include "commands.h"
#include "otlp/otlp_json.h"

namespace convtrace::cli {

void fail(std::string_view command, const std::string& message, int status) {
  std::cerr << "convtrace " << command << ": " << message << '\n';
  throw CLI::RuntimeError(status);
}

Pricing load_pricing(std::string_view command, const std::string& file) {
  if (!file.empty()) {
    Pricing pricing = Pricing::builtin();
    if (Error err = pricing.load_file(file)) fail(command, err.message, kExitBadInput);
    return pricing;
  }
  const char* env = std::getenv(std::string(kPricingFileEnv).c_str());
  Error warning;
  Pricing pricing = Pricing::with_file(env != nullptr ? env : "", &warning);
  if (warning) {
    std::cerr << "convtrace " << command << ": warning: " << kPricingFileEnv
              << " ignored, using the built-in prices: " << warning.message << '\n';
  }
  return pricing;
}

void add_pricing_option(CLI::App& sub, std::string& file) {
  sub.add_option("--pricing", file,
                 "Price catalog (JSON, the format of data/pricing.json) merged over the built-in "
                 "prices. Default: the file named by CONVTRACE_PRICING_FILE, if set.");
}

std::string json_string(std::string_view text) {
  // The OTLP/JSON string writer: escapes, and replaces ill-formed UTF-8 (a
  // store an earlier release wrote may hold it) so the output is always JSON.
  std::string out;
  otlp::append_json_string(text, out);
  return out;
}

std::string usd_per_million_text(int64_t micro) {
  // micro-USD per 1M tokens → USD per 1M tokens; 1 micro-USD = 1e6 pico-USD.
  return pico_to_usd_string(micro * 1'000'000);
}

}  // namespace convtrace::cli
