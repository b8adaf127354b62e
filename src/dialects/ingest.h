// What a store keeps of a span's GenAI attributes: read in any dialect
// (dialects.h) and priced with a catalog. Used where spans are stored
// (src/store/writer.cc); it knows nothing of the store itself.
//
// Cost rules: a span that carried a cost keeps it (the sent cost wins); a
// span with token counts and a model the catalog knows, but no cost, gets the
// catalog's. When a span carried a cost and the catalog prices its tokens
// differently, both are kept: `cost_pico` is the sent one and
// `catalog_cost_pico` the catalog's, so reports can flag the disagreement.
// Spans a convtrace SDK priced (convtrace.cost_pico_usd) are not priced again:
// their SDK saw the whole response (1-hour cache writes, billed units), which
// the attributes do not all show.
//
// Problems become counted warnings: "span_attribute" (a bad value, named),
// "unknown_dialect" (usage-like keys no dialect reads; the span is stored as
// sent), "unknown_model" (tokens, no cost, a model the catalog lacks) and
// "cost_disagreement".
//
// Not thread-safe: one IngestPricer per writer.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "convtrace/pricing.h"
#include "convtrace/span_data.h"
#include "dialects/dialects.h"

namespace convtrace::dialects {

// Catalog look-ups with a cache of resolved model names (normalizing a name
// costs far more than a hash look-up, and a store sees few models).
class IngestPricer {
 public:
  // `pricing` null: the built-in catalog.
  explicit IngestPricer(std::shared_ptr<const Pricing> pricing = nullptr);
  // The catalog entry `model` resolves to, or nullptr.
  const ModelPrice* find(const std::string& model);

 private:
  std::shared_ptr<const Pricing> pricing_;
  std::unordered_map<std::string, const ModelPrice*> cache_;
};

struct IngestColumns {
  std::string conversation_id;  // empty: none
  std::string user_id;
  std::string model;
  std::string provider;
  Kind kind = Kind::none;
  std::optional<int64_t> input_tokens, output_tokens, cache_read_tokens, cache_write_tokens,
      reasoning_tokens;
  std::optional<int64_t> cost_pico;          // the sent cost, else the catalog's
  std::optional<int64_t> catalog_cost_pico;  // set only when it differs from a sent cost
  uint32_t dialects = 0;
};

// Reads and prices one span's attributes. Never throws.
IngestColumns read_for_store(const std::vector<Attribute>& attributes,
                             IngestPricer& pricer) noexcept;

}  // namespace convtrace::dialects
