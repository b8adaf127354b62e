// TEMPORARY until the pricing module lands.
#include "convtrace/pricing.h"
namespace convtrace {
Expected<Cost> compute_cost(const Usage& u, const ModelPrice& p) {
  Cost c;
  int64_t in = u.input_tokens.value_or(0), out = u.output_tokens.value_or(0);
  c.input_pico = in * p.base.input;
  c.output_pico = out * p.base.output;
  c.total_pico = c.input_pico + c.output_pico;
  return c;
}
double pico_to_usd(int64_t pico) { return static_cast<double>(pico) / 1e12; }
const Pricing& Pricing::builtin() {
  static Pricing p;
  return p;
}
void Pricing::set(std::string_view model, double i, double o, std::optional<double>,
                  std::optional<double>) {
  ModelPrice mp;
  mp.model = std::string(model);
  mp.base.input = static_cast<int64_t>(i * 1e6 + 0.5);
  mp.base.output = static_cast<int64_t>(o * 1e6 + 0.5);
  by_key_[std::string(model)] = mp;
}
const ModelPrice* Pricing::find(std::string_view model) const {
  auto it = by_key_.find(model);
  return it == by_key_.end() ? nullptr : &it->second;
}
Error validate(const Usage& u) {
  if (u.input_tokens && *u.input_tokens < 0)
    return Error{Error::invalid_argument, "input_tokens negative"};
  if (u.output_tokens && *u.output_tokens < 0)
    return Error{Error::invalid_argument, "output_tokens negative"};
  return Error{};
}
Expected<Usage> extract_usage(std::string_view, std::string_view) {
  return Error{Error::not_found, "stub"};
}
}  // namespace convtrace
namespace convtrace {
ModelPrice ModelPrice::usd_per_million(double i, double o, std::optional<double>,
                                       std::optional<double>) {
  ModelPrice mp;
  mp.base.input = static_cast<int64_t>(i * 1e6 + 0.5);
  mp.base.output = static_cast<int64_t>(o * 1e6 + 0.5);
  return mp;
}
}  // namespace convtrace
