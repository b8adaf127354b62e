// compute_cost and the money helpers, against hand-computed pico-USD figures.
// One token at P micro-USD per 1M tokens costs P pico-USD, so each expected
// value below is tokens × (USD price × 1e6), written out.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "convtrace/pricing.h"

namespace convtrace {
namespace {

Usage usage(std::optional<int64_t> input, std::optional<int64_t> output) {
  Usage u;
  u.input_tokens = input;
  u.output_tokens = output;
  return u;
}

Cost must(const Expected<Cost>& cost) {
  EXPECT_TRUE(cost.has_value()) << (cost ? "" : cost.error().message);
  return cost ? *cost : Cost{};
}

ModelPrice gpt4o() { return ModelPrice::usd_per_million(2.50, 10.00, 1.25); }

TEST(ComputeCost, PlainInputAndOutput) {
  const Cost c = must(compute_cost(usage(1000, 500), gpt4o()));
  EXPECT_EQ(c.input_pico, 1000 * 2'500'000LL);   // $0.0025
  EXPECT_EQ(c.output_pico, 500 * 10'000'000LL);  // $0.005
  EXPECT_EQ(c.total_pico, 7'500'000'000LL);
  EXPECT_EQ(pico_to_usd_string(c.total_pico), "0.0075");
}

TEST(ComputeCost, CachedInputAtCachedPrice) {
  Usage u = usage(1000, 0);
  u.cache_read_tokens = 400;
  const Cost c = must(compute_cost(u, gpt4o()));
  EXPECT_EQ(c.input_pico, 600 * 2'500'000LL + 400 * 1'250'000LL);  // 2.0e9
  EXPECT_EQ(c.total_pico, 2'000'000'000LL);
}

TEST(ComputeCost, CachedWithoutCachedPriceFallsBackToInput) {
  Usage u = usage(1000, 0);
  u.cache_read_tokens = 400;
  const Cost c = must(compute_cost(u, ModelPrice::usd_per_million(2.0, 8.0)));
  EXPECT_EQ(c.input_pico, 1000 * 2'000'000LL);
}

ModelPrice sonnet() {
  // claude-sonnet-4-5 list prices: 3 / 15, read 0.30, 5-minute write 3.75, 1-hour write 6.
  ModelPrice p = ModelPrice::usd_per_million(3.0, 15.0, 0.30, 3.75);
  p.base.cache_write_1h = 6'000'000;
  return p;
}

TEST(ComputeCost, CacheWritesIncludingOneHour) {
  Usage u = usage(10'000, 100);
  u.cache_read_tokens = 2000;
  u.cache_write_tokens = 3000;
  u.cache_write_1h_tokens = 1000;
  const Cost c = must(compute_cost(u, sonnet()));
  const int64_t uncached = 5000 * 3'000'000LL;  // 1.5e10
  const int64_t read = 2000 * 300'000LL;        // 6.0e8
  const int64_t write_5m = 2000 * 3'750'000LL;  // 7.5e9
  const int64_t write_1h = 1000 * 6'000'000LL;  // 6.0e9
  EXPECT_EQ(c.input_pico, uncached + read + write_5m + write_1h);
  EXPECT_EQ(c.input_pico, 29'100'000'000LL);
  EXPECT_EQ(c.output_pico, 100 * 15'000'000LL);
  EXPECT_EQ(pico_to_usd_string(c.total_pico), "0.0306");
}

TEST(ComputeCost, OneHourWritesWithoutOneHourPriceUseWritePrice) {
  Usage u = usage(3000, 0);
  u.cache_write_tokens = 3000;
  u.cache_write_1h_tokens = 1000;
  const Cost c = must(compute_cost(u, ModelPrice::usd_per_million(3.0, 15.0, 0.3, 3.75)));
  EXPECT_EQ(c.input_pico, 3000 * 3'750'000LL);
}

TEST(ComputeCost, ReasoningAtItsOwnPrice) {
  ModelPrice p = ModelPrice::usd_per_million(1.0, 4.0);
  p.base.reasoning = 8'000'000;
  Usage u = usage(0, 1000);
  u.reasoning_tokens = 300;
  const Cost c = must(compute_cost(u, p));
  EXPECT_EQ(c.output_pico, 300 * 8'000'000LL + 700 * 4'000'000LL);  // 5.2e9
  // Without a reasoning price, reasoning is output like any other.
  EXPECT_EQ(must(compute_cost(u, ModelPrice::usd_per_million(1.0, 4.0))).output_pico,
            1000 * 4'000'000LL);
}

ModelPrice gemini_pro() {
  // gemini-2.5-pro: 1.25 / 10, cached 0.125; above 200k input: 2.50 / 15, cached 0.25.
  ModelPrice p = ModelPrice::usd_per_million(1.25, 10.0, 0.125);
  PriceTier tier;
  tier.above_input_tokens = 200'000;
  tier.prices.input = 2'500'000;
  tier.prices.output = 15'000'000;
  tier.prices.cached_input = 250'000;
  p.tiers.push_back(tier);
  return p;
}

TEST(ComputeCost, TierAppliesToTheWholeCallAboveThreshold) {
  const Cost above = must(compute_cost(usage(200'001, 1000), gemini_pro()));
  EXPECT_EQ(above.input_pico, 200'001 * 2'500'000LL);  // every token, not just the excess
  EXPECT_EQ(above.output_pico, 1000 * 15'000'000LL);
  // Exactly at the threshold is not above it.
  const Cost at = must(compute_cost(usage(200'000, 1000), gemini_pro()));
  EXPECT_EQ(at.input_pico, 200'000 * 1'250'000LL);
  EXPECT_EQ(at.output_pico, 1000 * 10'000'000LL);
}

TEST(ComputeCost, TierCountsCachedTokensTowardsThreshold) {
  Usage u = usage(250'000, 0);
  u.cache_read_tokens = 100'000;
  const Cost c = must(compute_cost(u, gemini_pro()));
  EXPECT_EQ(c.input_pico, 150'000 * 2'500'000LL + 100'000 * 250'000LL);  // 4.0e11
}

TEST(ComputeCost, TierFieldsFallBackToBaseBand) {
  ModelPrice p = ModelPrice::usd_per_million(3.0, 15.0, 0.30, 3.75);
  PriceTier tier;
  tier.above_input_tokens = 200'000;
  tier.prices.input = 6'000'000;
  tier.prices.output = 22'500'000;  // no cached or write price in the tier
  p.tiers.push_back(tier);
  Usage u = usage(300'000, 0);
  u.cache_read_tokens = 100'000;
  u.cache_write_tokens = 100'000;
  const Cost c = must(compute_cost(u, p));
  EXPECT_EQ(c.input_pico, 100'000 * 6'000'000LL + 100'000 * 300'000LL + 100'000 * 3'750'000LL);
}

TEST(ComputeCost, HighestExceededTierWins) {
  ModelPrice p = ModelPrice::usd_per_million(1.0, 1.0);
  PriceTier high;
  high.above_input_tokens = 200'000;
  high.prices.input = 3'000'000;
  high.prices.output = 3'000'000;
  PriceTier low;
  low.above_input_tokens = 128'000;
  low.prices.input = 2'000'000;
  low.prices.output = 2'000'000;
  p.tiers = {high, low};  // order in the vector does not matter
  EXPECT_EQ(must(compute_cost(usage(150'000, 0), p)).input_pico, 150'000 * 2'000'000LL);
  EXPECT_EQ(must(compute_cost(usage(250'000, 0), p)).input_pico, 250'000 * 3'000'000LL);
  EXPECT_EQ(must(compute_cost(usage(100'000, 0), p)).input_pico, 100'000 * 1'000'000LL);
}

TEST(ComputeCost, AbsentCountsAreZeroAndPartsStandInForInput) {
  EXPECT_EQ(must(compute_cost(Usage{}, gpt4o())).total_pico, 0);
  Usage parts;
  parts.cache_read_tokens = 100;
  parts.cache_write_tokens = 50;
  const Cost c = must(compute_cost(parts, sonnet()));
  EXPECT_EQ(c.input_pico, 100 * 300'000LL + 50 * 3'750'000LL);
  Usage reasoning_only;
  reasoning_only.reasoning_tokens = 10;
  EXPECT_EQ(must(compute_cost(reasoning_only, gpt4o())).output_pico, 10 * 10'000'000LL);
}

TEST(ComputeCost, BilledUnitsReplaceTokenCounts) {
  // Cohere: 507/10 model tokens (448 cached), billed 12/7; command-r-plus 2.50 / 10.
  Usage u = usage(507, 10);
  u.cache_read_tokens = 448;
  u.billed_input_tokens = 12;
  u.billed_output_tokens = 7;
  const Cost c = must(compute_cost(u, ModelPrice::usd_per_million(2.5, 10.0)));
  EXPECT_EQ(c.input_pico, 12 * 2'500'000LL);
  EXPECT_EQ(c.output_pico, 7 * 10'000'000LL);
  EXPECT_EQ(pico_to_usd_string(c.total_pico), "0.0001");
}

TEST(ComputeCost, InconsistentUsageIsRejected) {
  Usage u = usage(10, 0);
  u.cache_read_tokens = 11;
  const auto c = compute_cost(u, gpt4o());
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Error::invalid_argument);
}

TEST(ComputeCost, OverflowIsAnErrorNotAWrap) {
  const auto c = compute_cost(usage(std::numeric_limits<int64_t>::max() / 2, 0), gpt4o());
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Error::invalid_argument);
  EXPECT_NE(c.error().message.find("overflow"), std::string::npos);
  // Input and output each fit, their sum does not.
  ModelPrice p = ModelPrice::usd_per_million(1.0, 1.0);
  const int64_t big = std::numeric_limits<int64_t>::max() / 1'000'000 - 1;
  EXPECT_TRUE(compute_cost(usage(big, 0), p).has_value());
  EXPECT_FALSE(compute_cost(usage(big, big), p).has_value());
}

TEST(ComputeCost, BadPriceIsRejectedNotZero) {
  const auto c = compute_cost(usage(1, 1), ModelPrice::usd_per_million(-1.0, 1.0));
  ASSERT_FALSE(c.has_value());
  EXPECT_EQ(c.error().code, Error::invalid_argument);
}

TEST(UsdToMicro, ExactConversions) {
  EXPECT_EQ(*usd_to_micro(2.5), 2'500'000);
  EXPECT_EQ(*usd_to_micro(0.0028), 2800);
  EXPECT_EQ(*usd_to_micro(0.546875), 546'875);
  EXPECT_EQ(*usd_to_micro(0.1 + 0.2), 300'000);
  EXPECT_EQ(*usd_to_micro(0.0), 0);
  EXPECT_EQ(*usd_to_micro(600.0), 600'000'000);
}

TEST(UsdToMicro, Rejections) {
  EXPECT_EQ(usd_to_micro(-0.01).error().code, Error::invalid_argument);
  EXPECT_EQ(usd_to_micro(std::nan("")).error().code, Error::invalid_argument);
  EXPECT_EQ(usd_to_micro(INFINITY).error().code, Error::invalid_argument);
  EXPECT_EQ(usd_to_micro(1e6 + 1).error().code, Error::invalid_argument);
  EXPECT_EQ(usd_to_micro(0.0000001).error().code, Error::invalid_argument);
  EXPECT_EQ(usd_to_micro(1.0000005).error().code, Error::invalid_argument);
}

TEST(PicoToUsd, StringIsExact) {
  EXPECT_EQ(pico_to_usd_string(0), "0");
  EXPECT_EQ(pico_to_usd_string(8'755'000'000), "0.008755");
  EXPECT_EQ(pico_to_usd_string(-1'500'000'000'000), "-1.5");
  EXPECT_EQ(pico_to_usd_string(1), "0.000000000001");
  EXPECT_EQ(pico_to_usd_string(12'000'000'000'000), "12");
  EXPECT_EQ(pico_to_usd_string(std::numeric_limits<int64_t>::min()), "-9223372.036854775808");
  EXPECT_EQ(pico_to_usd_string(std::numeric_limits<int64_t>::max()), "9223372.036854775807");
}

TEST(PicoToUsd, DoubleIsNearest) {
  EXPECT_EQ(pico_to_usd(8'755'000'000), 0.008755);
  EXPECT_EQ(pico_to_usd(-1'500'000'000'000), -1.5);
  EXPECT_EQ(pico_to_usd(0), 0.0);
  EXPECT_DOUBLE_EQ(pico_to_usd(std::numeric_limits<int64_t>::max()), 9223372.036854775807);
}

}  // namespace
}  // namespace convtrace
